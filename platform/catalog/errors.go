package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenancy/platform/tenant"
)

// msgUnavailable is what a caller sees when the catalog cannot answer: the
// cause (which may name hosts) stays in the error chain for the log.
const msgUnavailable = "the catalog database is unavailable; try again shortly"

// translate is the one place where the catalog's PostgreSQL and connection
// errors become platform errors. what names the operation for the log;
// conflict, if not empty, is the caller-safe message of a unique
// violation. Errors that are already *tenant.Error pass unchanged;
// anything unrecognised is internal, wrapped with what (pgx.ErrNoRows
// stays visible to errors.Is, but callers turn it into ENotFound first).
func translate(err error, what, conflict string) error {
	if err == nil {
		return nil
	}
	var te *tenant.Error
	if errors.As(err, &te) {
		return err
	}
	code := ""
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		code = pg.Code
	}
	switch {
	case code == pgerrcode.UniqueViolation:
		if conflict == "" {
			conflict = "it already exists"
		}
		return wrap(tenant.EConflict, conflict, what, err)
	case code == pgerrcode.ForeignKeyViolation:
		return wrap(tenant.EInvalid, "it refers to something that does not exist, or is still in use", what, err)
	case code == pgerrcode.CheckViolation, code == pgerrcode.NotNullViolation,
		// class 22: invalid_text_representation, character_not_in_repertoire
		// (a NUL byte), string too long, number out of range, …
		pgerrcode.IsDataException(code):
		return wrap(tenant.EInvalid, "invalid value", what, err)
	case unavailable(code, err):
		return wrap(tenant.EUnavailable, msgUnavailable, what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// translate is the function translate (above), and also drops every pooled connection
// when err says the server cut them (a restart, pg_terminate_backend):
// otherwise each dead idle connection would fail one more caller before
// the pool notices.
func (db *DB) translate(err error, what, conflict string) error {
	if err != nil && connectionLost(err) {
		db.pool.Reset()
	}
	return translate(err, what, conflict)
}

// connectionLost reports an established connection that the server closed
// or that broke, as opposed to a statement refused or a connect refused.
func connectionLost(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pgerrcode.IsConnectionException(pg.Code) || pg.Code == pgerrcode.AdminShutdown ||
			pg.Code == pgerrcode.CrashShutdown || pg.Code == pgerrcode.CannotConnectNow
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.Timeout(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // nothing established was lost, or only this caller's connection
	}
	var ne net.Error
	return (errors.As(err, &ne) && !ne.Timeout()) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "conn closed")
}

// unavailable reports a failure that says nothing about the request: the
// server is down, restarting, refusing connections, or cut the connection
// (pg_terminate_backend, a restart), or the transaction lost a race that
// a retry wins.
func unavailable(code string, err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true // whatever the server said, e.g. 55000 while it refuses connections
	}
	switch {
	case pgerrcode.IsConnectionException(code), // class 08
		code == pgerrcode.AdminShutdown, code == pgerrcode.CrashShutdown, code == pgerrcode.CannotConnectNow,
		code == pgerrcode.TooManyConnections, code == pgerrcode.ConfigurationLimitExceeded,
		code == pgerrcode.SerializationFailure, code == pgerrcode.DeadlockDetected,
		code == pgerrcode.LockNotAvailable, code == pgerrcode.QueryCanceled && !errors.Is(err, context.Canceled):
		return true
	case code != "":
		return false // any other answer of the server is about the statement
	}
	if errors.Is(err, context.Canceled) {
		return false // the caller went away: nothing to retry
	}
	var ne net.Error
	return errors.As(err, &ne) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "conn closed")
}

// wrap returns an error whose code and caller-safe message are code and
// msg, and whose chain keeps the cause for the log.
func wrap(code, msg, what string, cause error) error {
	return &causeError{safe: tenant.Errorf(code, "%s", msg), what: what, cause: cause}
}

type causeError struct {
	safe  *tenant.Error
	what  string
	cause error
}

func (e *causeError) Error() string {
	return e.safe.Message + " (" + e.what + ": " + e.cause.Error() + ")"
}
func (e *causeError) Unwrap() []error { return []error{e.safe, e.cause} }

// pgErrText is the message of a PostgreSQL or connection error without
// anything that could carry a secret.
func pgErrText(err error) string {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Message
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return errors.Unwrap(ce).Error()
	}
	return err.Error()
}
