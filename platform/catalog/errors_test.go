package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenancy/platform/tenant"
)

// TestTranslate covers the codes a test against the real server cannot
// produce on demand (a deadlock, a server starting up); catalog_test.go
// produces the others for real.
func TestTranslate(t *testing.T) {
	pg := func(code string) error {
		return fmt.Errorf("exec: %w", &pgconn.PgError{Code: code, Message: "secret detail from host db.internal"})
	}
	tests := []struct {
		err  error
		code string
		lost bool // the pool is reset
	}{
		{pg(pgerrcode.UniqueViolation), tenant.EConflict, false},
		{pg(pgerrcode.ForeignKeyViolation), tenant.EInvalid, false},
		{pg(pgerrcode.CheckViolation), tenant.EInvalid, false},
		{pg(pgerrcode.InvalidTextRepresentation), tenant.EInvalid, false},
		{pg(pgerrcode.CharacterNotInRepertoire), tenant.EInvalid, false},
		{pg(pgerrcode.SerializationFailure), tenant.EUnavailable, false},
		{pg(pgerrcode.DeadlockDetected), tenant.EUnavailable, false},
		{pg(pgerrcode.AdminShutdown), tenant.EUnavailable, true},
		{pg(pgerrcode.CannotConnectNow), tenant.EUnavailable, true},
		{pg(pgerrcode.ConnectionFailure), tenant.EUnavailable, true},
		{pg(pgerrcode.TooManyConnections), tenant.EUnavailable, false},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), tenant.EUnavailable, true},
		{pg(pgerrcode.UndefinedTable), tenant.EInternal, false}, // a bug: internal
		{errors.New("something else"), tenant.EInternal, false},
		{context.Canceled, tenant.EInternal, false},
		{tenant.Errorf(tenant.ENotFound, "x"), tenant.ENotFound, false},
	}
	for _, tt := range tests {
		got := translate(tt.err, "do it", "")
		if c := tenant.ErrorCode(got); c != tt.code {
			t.Errorf("translate(%v) = %v (code %s), want %s", tt.err, got, c, tt.code)
		}
		if tt.code != tenant.EInternal && strings.Contains(tenant.ErrorMessage(got), "db.internal") {
			t.Errorf("translate(%v): the caller sees the cause: %q", tt.err, tenant.ErrorMessage(got))
		}
		if tt.code != tenant.EInternal && tt.code != tenant.ENotFound && !errors.Is(got, tt.err) && !errors.As(got, new(*pgconn.PgError)) {
			t.Errorf("translate(%v) lost the cause: %v", tt.err, got)
		}
		if l := connectionLost(tt.err); l != tt.lost {
			t.Errorf("connectionLost(%v) = %v, want %v", tt.err, l, tt.lost)
		}
	}
	if translate(nil, "x", "") != nil {
		t.Error("translate(nil) is not nil")
	}
	if err := translate(pgx.ErrNoRows, "x", ""); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("translate(ErrNoRows) = %v", err)
	}
	if got := translate(pg(pgerrcode.UniqueViolation), "x", "tenant \"a\" already exists"); tenant.ErrorMessage(got) != `tenant "a" already exists` {
		t.Errorf("conflict message %q", tenant.ErrorMessage(got))
	}
}
