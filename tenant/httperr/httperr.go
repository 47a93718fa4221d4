// Package httperr writes errors as the platform's JSON error contract,
// {"error": {"code": "…", "message": "…"}}, with the one table that maps
// error codes to HTTP statuses. Internal errors are logged, never shown.
package httperr

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
)

// Extra codes of the HTTP layers.
const (
	EUnauthorized     = "unauthorized"
	ERouteNotFound    = "route_not_found"
	EMethodNotAllowed = "method_not_allowed"
	EBodyTooLarge     = "body_too_large"
	EMigrationFailed  = "migration_failed" // it ran and failed, or met a dirty database
)

// statuses is the one table from error code to HTTP status.
var statuses = map[string]int{
	tenant.EInvalid:           http.StatusBadRequest,
	tenant.ENotFound:          http.StatusNotFound,
	tenant.EConflict:          http.StatusConflict,
	tenant.EUnavailable:       http.StatusServiceUnavailable,
	tenant.EInternal:          http.StatusInternalServerError,
	tenant.ETenantNotFound:    http.StatusNotFound,
	tenant.ETenantSuspended:   http.StatusForbidden,
	tenant.ETenantMaintenance: http.StatusServiceUnavailable,
	tenant.ECapacity:          http.StatusServiceUnavailable,
	tenant.ETenantUnavailable: http.StatusServiceUnavailable,
	EUnauthorized:             http.StatusUnauthorized,
	ERouteNotFound:            http.StatusNotFound,
	EMethodNotAllowed:         http.StatusMethodNotAllowed,
	EBodyTooLarge:             http.StatusRequestEntityTooLarge,
	EMigrationFailed:          http.StatusConflict,
}

// Status returns the HTTP status of an error code.
func Status(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Body is the JSON error document.
type Body struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Write answers err. Fiber's own errors (unknown route, bad method, body
// too large) get codes of their own.
func Write(c *fiber.Ctx, log *slog.Logger, err error) error {
	code, msg := tenant.ErrorCode(err), tenant.ErrorMessage(err)
	var fe *fiber.Error
	if errors.As(err, &fe) {
		switch fe.Code {
		case fiber.StatusNotFound:
			code, msg = ERouteNotFound, "no such route"
		case fiber.StatusMethodNotAllowed:
			code, msg = EMethodNotAllowed, "method not allowed"
		case fiber.StatusRequestEntityTooLarge:
			code, msg = EBodyTooLarge, "request body too large"
		case fiber.StatusBadRequest:
			code, msg = tenant.EInvalid, fe.Message
		default:
			code, msg = tenant.EInternal, "internal error"
		}
	}
	if code == tenant.EInternal && log != nil {
		log.ErrorContext(c.UserContext(), "internal error", "err", err, "path", c.Path(), "request_id", c.Locals("request_id"))
	}
	var b Body
	b.Error.Code, b.Error.Message = code, msg
	if code == tenant.ETenantMaintenance || code == tenant.ECapacity || code == tenant.EUnavailable || code == tenant.ETenantUnavailable {
		c.Set(fiber.HeaderRetryAfter, "5")
	}
	return c.Status(Status(code)).JSON(b)
}

// Handler is a fiber.ErrorHandler writing the contract.
func Handler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error { return Write(c, log, err) }
}
