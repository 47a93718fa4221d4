package pgadmin

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenancy/platform/tenant"
)

// TestServes tells the server a database lives on by the server itself,
// not by the host name in a URL.
func TestServes(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, adminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	same := s.ConnConfig("postgres", "")
	if same.Host == "127.0.0.1" {
		same.Host = "localhost"
	}
	if ok, err := s.Serves(ctx, same); err != nil || !ok {
		t.Errorf("Serves(%s:%d) = %v, %v; want true", same.Host, same.Port, ok, err)
	}
	other := s.ConnConfig("postgres", "")
	other.Port = 1
	if ok, err := s.Serves(ctx, other); err != nil || ok {
		t.Errorf("Serves(port 1) = %v, %v; want false", ok, err)
	}
}

// TestHandOverWithoutTemplateRole: a clone whose template role is gone
// still loses PUBLIC's CREATE on schema public (the revoke used to be
// skipped with the REASSIGN that failed).
func TestHandOverWithoutTemplateRole(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, adminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db, owner := "pgadmin_handover_"+randHex(), "pgadmin_owner_"+randHex()
	if err := s.EnsureRole(ctx, owner); err != nil {
		t.Fatal(err)
	}
	defer s.DropRole(ctx, owner)
	if err := s.CreateDatabase(ctx, db, s.ConnConfig("", "").User); err != nil {
		t.Fatal(err)
	}
	defer s.DropDatabase(ctx, db)
	// As before PostgreSQL 15, or from a template that grants it.
	if err := s.In(ctx, db, "", func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, `GRANT CREATE ON SCHEMA public TO PUBLIC`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.HandOver(ctx, db, "pgadmin_no_such_role_"+randHex(), owner); err != nil {
		t.Fatalf("hand over from a missing role: %v", err)
	}
	var can bool
	err = s.In(ctx, db, "", func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT has_schema_privilege('public', 'public', 'CREATE')`).Scan(&can)
	})
	if err != nil || can {
		t.Errorf("PUBLIC may still create in schema public (%v)", err)
	}
}

// TestServerDownIsUnavailable: a server that cannot be reached is
// unavailable (503 at the operator API), not an internal error, from the
// pool and from In alike; statements the server refuses are not.
func TestServerDownIsUnavailable(t *testing.T) {
	ctx := context.Background()
	up, err := Open(ctx, adminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	pc, err := pgxpool.ParseConfig(adminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	pc.ConnConfig.Port = 1
	pool, err := pgxpool.NewWithConfig(ctx, pc) // connects lazily
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	down := &Server{pool: pool, conf: pc.ConnConfig}
	for name, err := range map[string]error{
		"pool": down.EnsureRole(ctx, "pgadmin_never_"+randHex()),
		"In":   down.In(ctx, "postgres", "", func(*pgx.Conn) error { return nil }),
		"scan": func() error { _, err := down.RoleExists(ctx, "x"); return err }(),
	} {
		if tenant.ErrorCode(err) != tenant.EUnavailable || !strings.Contains(tenant.ErrorMessage(err), "unavailable") {
			t.Errorf("%s: %v (code %s), want unavailable", name, err, tenant.ErrorCode(err))
		}
	}
	// The server's answer to a statement stays what it is.
	err = up.exec(ctx, "ALTER ROLE "+ident("pgadmin_no_such_"+randHex())+" LOGIN")
	if tenant.ErrorCode(err) != tenant.EInternal || !isCode(err, pgerrcode.UndefinedObject) {
		t.Errorf("undefined role: %v (code %s)", err, tenant.ErrorCode(err))
	}
}
