package pgadmin_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// TestTenantLoginGroupNeedsPassword: the dev and CI server trusts loopback
// connections, but scripts/dev-services makes members of tenant.LoginGroup
// (every tenant login role) authenticate with scram-sha-256, so a test of
// the request path proves that the Vault password is the one that works.
// On a server that trusts the group, the wrong password gets in and this
// fails.
func TestTenantLoginGroupNeedsPassword(t *testing.T) {
	ctx := platformtest.Context(t)
	admin := platformtest.Admin(t)
	if ok, err := admin.RoleExists(ctx, tenant.LoginGroup); err != nil {
		t.Fatal(err)
	} else if !ok {
		t.Fatalf("group role %s is missing: run scripts/dev-services up", tenant.LoginGroup)
	}
	base, err := pgx.ParseConfig(platformtest.AdminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	role := "pgadmin_hba_" + platformtest.Rand(8)
	password := "right-" + platformtest.Rand(16)
	if err := admin.EnsureLoginRole(ctx, role, password, 2, tenant.LoginGroup); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := admin.DropRole(context.Background(), role); err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	// A database of its own to log in to: the server hardening closes the
	// maintenance databases to PUBLIC.
	db := role
	if err := admin.CreateDatabase(ctx, db, role); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := admin.DropDatabase(context.Background(), db); err != nil {
			t.Errorf("drop database %s: %v", db, err)
		}
	})

	login := func(pw string) error {
		c := base.Copy()
		c.Host, c.User, c.Password = "127.0.0.1", role, pw
		c.Fallbacks = nil // exactly one attempt, over TCP on loopback
		c.TLSConfig = nil
		c.Database = db
		conn, err := pgx.ConnectConfig(ctx, c)
		if err != nil {
			return err
		}
		return conn.Close(ctx)
	}

	if err := login(password); err != nil {
		t.Fatalf("the right password is refused: %v", err)
	}
	err = login("wrong-" + platformtest.Rand(16))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != pgerrcode.InvalidPassword {
		t.Fatalf("a wrong password over 127.0.0.1: got %v, want SQLSTATE %s (the server trusts %s: run scripts/dev-services up)",
			err, pgerrcode.InvalidPassword, tenant.LoginGroup)
	}
}
