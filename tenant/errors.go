package tenant

import (
	"errors"
	"fmt"
)

// Error codes shared by the CLI, the operator API and the tenant API. The
// HTTP layer maps each code to one status in one table; the CLI prints the
// message. Codes are part of the public contract (DESIGN.md, "Errors").
const (
	EInvalid           = "invalid_input" // the caller's input is wrong; nothing changed
	ENotFound          = "not_found"     // the named thing does not exist
	EConflict          = "conflict"      // it exists already, or the state forbids the action
	EUnavailable       = "unavailable"   // a dependency (PostgreSQL, Vault, Redis) cannot be reached
	EInternal          = "internal"      // a bug or an unexpected failure; its text is never shown
	ETenantNotFound    = "tenant_not_found"
	ETenantSuspended   = "tenant_suspended"
	ETenantMaintenance = "tenant_maintenance"
	ECapacity          = "capacity_exhausted"
	// ETenantUnavailable is what a tenant user sees for any failure to reach
	// the tenant's database or secrets; the cause goes to the log only.
	ETenantUnavailable = "tenant_unavailable"

	// Identity (tenant/auth).
	EUnauthenticated        = "unauthorized"             // no valid session or token
	EInvalidCredentials     = "invalid_credentials"      // unknown user or wrong password: one answer for both
	EAccountLocked          = "account_locked"           // too many failures; an admin unlocks
	EPasswordChangeRequired = "password_change_required" // only change-password, logout and /api/me until then
	EForbidden              = "forbidden"                // authenticated, but the role does not allow it
	EValidation             = "validation_failed"        // per-field messages in Error.Fields
	ERateLimited            = "rate_limited"

	// The domain APIs'.
	EInUse             = "in_use"             // a delete the schema restricts: dependents exist (Error.Details says which)
	EInvalidTransition = "invalid_transition" // a status change the resource's flow does not allow
	ECapacityExceeded  = "capacity_exceeded"  // e.g. a reservation beyond the branch's seats per slot
)

// Error is an error meant to be shown to the caller: its Message is safe to
// print and its Code is stable.
type Error struct {
	Code    string
	Message string
	// Fields holds per-field messages of a validation_failed error (field
	// name as the API spells it → message).
	Fields map[string]string
	// Details are machine-readable facts about the refusal, safe to show
	// (an in_use error's dependents and their counts).
	Details map[string]any
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal
// for any other error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the caller-safe message of err: the message of the
// first *Error in its chain, or a generic text that leaks nothing.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// Invalid returns a validation_failed error with one message per field;
// nil when fields is empty, so callers can collect and return.
func Invalid(fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	return &Error{Code: EValidation, Message: "some fields are not valid", Fields: fields}
}

// ErrorDetails returns the Details of the first *Error in err's chain.
func ErrorDetails(err error) map[string]any {
	var e *Error
	if errors.As(err, &e) {
		return e.Details
	}
	return nil
}

// ErrorFields returns the per-field messages of err's first *Error.
func ErrorFields(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}
