package httpx

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
)

// Extra codes of the HTTP layers.
const (
	EUnauthorized     = tenant.EUnauthenticated
	ERouteNotFound    = "route_not_found"
	EMethodNotAllowed = "method_not_allowed"
	EBodyTooLarge     = "body_too_large"
	EMigrationFailed  = "migration_failed" // it ran and failed, or met a dirty database
	EBadRequest       = "bad_request"      // the request itself is malformed (HTTP syntax, Host)
	EHeadersTooLarge  = "headers_too_large"
	ERequestTimeout   = "request_timeout" // the client did not send its request in time
	ERateLimited      = tenant.ERateLimited
)

// statuses is the one table from error code to HTTP status.
var statuses = map[string]int{
	tenant.EInvalid:                http.StatusBadRequest,
	tenant.ENotFound:               http.StatusNotFound,
	tenant.EConflict:               http.StatusConflict,
	tenant.EUnavailable:            http.StatusServiceUnavailable,
	tenant.EInternal:               http.StatusInternalServerError,
	tenant.ETenantNotFound:         http.StatusNotFound,
	tenant.ETenantSuspended:        http.StatusForbidden,
	tenant.ETenantMaintenance:      http.StatusServiceUnavailable,
	tenant.ECapacity:               http.StatusServiceUnavailable,
	tenant.ETenantUnavailable:      http.StatusServiceUnavailable,
	EUnauthorized:                  http.StatusUnauthorized,
	ERouteNotFound:                 http.StatusNotFound,
	EMethodNotAllowed:              http.StatusMethodNotAllowed,
	EBodyTooLarge:                  http.StatusRequestEntityTooLarge,
	EMigrationFailed:               http.StatusConflict,
	EBadRequest:                    http.StatusBadRequest,
	EHeadersTooLarge:               http.StatusRequestHeaderFieldsTooLarge,
	ERequestTimeout:                http.StatusRequestTimeout,
	ERateLimited:                   http.StatusTooManyRequests,
	tenant.EInvalidCredentials:     http.StatusUnauthorized,
	tenant.EAccountLocked:          http.StatusLocked,
	tenant.EPasswordChangeRequired: http.StatusForbidden,
	tenant.EForbidden:              http.StatusForbidden,
	tenant.EValidation:             http.StatusUnprocessableEntity,
	tenant.EInUse:                  http.StatusConflict,
	tenant.EInvalidTransition:      http.StatusConflict,
	tenant.ECapacityExceeded:       http.StatusConflict,
}

// retryLater are the codes that tell the client to come back: they carry
// Retry-After.
var retryLater = map[string]bool{
	tenant.EUnavailable: true, tenant.ETenantMaintenance: true, tenant.ECapacity: true,
	tenant.ETenantUnavailable: true, ERateLimited: true,
}

// Status returns the HTTP status of an error code.
func Status(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Body is the JSON error document. RequestID lets a user quote the
// request to support, who find its cause in the log.
type Body struct {
	Error struct {
		Code      string            `json:"code"`
		Message   string            `json:"message"`
		RequestID string            `json:"request_id,omitempty"`
		Fields    map[string]string `json:"fields,omitempty"`
		Details   map[string]any    `json:"details,omitempty"`
	} `json:"error"`
}

// fiberCode maps Fiber's and fasthttp's own errors to codes and fixed
// messages. Their texts are never used: fasthttp's parse errors quote the
// raw request bytes. fromWire is true when the error came from reading the
// request (no handler ran): every failure there is the client's.
func fiberCode(fe *fiber.Error, fromWire bool) (code, msg string) {
	switch fe.Code {
	case fiber.StatusNotFound:
		return ERouteNotFound, "no such route"
	case fiber.StatusMethodNotAllowed:
		return EMethodNotAllowed, "method not allowed"
	case fiber.StatusRequestEntityTooLarge:
		return EBodyTooLarge, "request body too large"
	case fiber.StatusRequestHeaderFieldsTooLarge:
		return EHeadersTooLarge, "request headers too large"
	case fiber.StatusRequestTimeout:
		return ERequestTimeout, "request not received in time"
	}
	if fe.Code < 500 || fromWire {
		// A broken connection while reading is a 502 to Fiber; it is the
		// client's doing all the same.
		return EBadRequest, "malformed request"
	}
	return tenant.EInternal, "internal error"
}

// Write answers err with the error contract. Only internal errors are
// logged here (ERROR, with the cause, tenant and request id); refusals of
// malformed requests go to DEBUG without any request bytes.
func Write(c *fiber.Ctx, log *slog.Logger, err error) error { return write(c, log, err, true) }

func write(c *fiber.Ctx, log *slog.Logger, err error, logInternal bool) error {
	code, msg := tenant.ErrorCode(err), tenant.ErrorMessage(err)
	info := infoOf(c)
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code, msg = fiberCode(fe, info == nil)
	}
	var id string
	if info != nil {
		id = info.id
	} else {
		// Refused while reading: no middleware ran, so no id yet.
		id = newRequestID()
		c.Set(HeaderRequestID, id)
	}
	status := Status(code)
	switch {
	case code == tenant.EInternal && !logInternal:
	case code == tenant.EInternal && info != nil:
		info.logger.ErrorContext(c.UserContext(), "internal error", "err", err, "route", routeOf(c))
	case code == tenant.EInternal && log != nil: // an app without Middleware
		log.ErrorContext(c.UserContext(), "internal error", "err", err, "request_id", id)
	case info == nil && log != nil:
		// A Fiber or fasthttp refusal: its text may quote the request.
		log.DebugContext(c.UserContext(), "request refused", "code", code, "status", status, "request_id", id)
	}
	var b Body
	b.Error.Code, b.Error.Message, b.Error.RequestID = code, msg, id
	if code == tenant.EValidation {
		b.Error.Fields = tenant.ErrorFields(err)
	}
	if code != tenant.EInternal {
		b.Error.Details = tenant.ErrorDetails(err)
	}
	if retryLater[code] && len(c.Response().Header.Peek(fiber.HeaderRetryAfter)) == 0 {
		c.Set(fiber.HeaderRetryAfter, "5")
	}
	return c.Status(status).JSON(b)
}

// Handler is a fiber.ErrorHandler writing the contract.
func Handler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error { return Write(c, log, err) }
}
