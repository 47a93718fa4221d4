package schema_test

import (
	"context"
	"testing"

	"github.com/tenancy/platform/migrations"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/schema"
	"github.com/tenancy/platform/tenant"
)

// TestUpDownForceOnAFreshDatabase runs the restaurant migrations over an
// empty database: a database without schema_migrations is at version 0
// (not an error), and refused operations change nothing.
func TestUpDownForceOnAFreshDatabase(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	admin := platformtest.Admin(t)
	db := "pt_schema_" + platformtest.Rand(8)
	if err := admin.CreateDatabase(ctx, db, admin.ConnConfig("", "").User); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := admin.DropDatabase(context.Background(), db); err != nil {
			t.Errorf("drop %s: %v", db, err)
		}
	})
	src, err := migrations.ForKind("restaurant")
	if err != nil {
		t.Fatal(err)
	}
	vs, err := schema.Versions(src)
	if err != nil || len(vs) < 2 {
		t.Fatalf("versions: %v, %v", vs, err)
	}
	target := schema.Target{Name: db, Kind: "restaurant", Conn: admin.ConnConfig(db, ""), Source: src}

	st, err := schema.GetStatus(ctx, target)
	if err != nil || st.Version != 0 || st.Pending != len(vs) || st.Latest != vs[len(vs)-1] {
		t.Fatalf("fresh database: %+v, %v", st, err)
	}
	if _, err := schema.Down(ctx, target, 1); tenant.ErrorCode(err) != tenant.EInvalid {
		t.Errorf("down on a fresh database: %v, want invalid", err)
	}
	if st, err = schema.Up(ctx, target); err != nil || st.Pending != 0 || st.Version != st.Latest {
		t.Fatalf("up: %+v, %v", st, err)
	}
	if _, err := schema.Down(ctx, target, len(vs)+1); tenant.ErrorCode(err) != tenant.EInvalid {
		t.Errorf("down too many: %v, want invalid", err)
	}
	if _, err := schema.Force(ctx, target, int(st.Latest)+100); tenant.ErrorCode(err) != tenant.EInvalid {
		t.Errorf("force to an unknown version: %v, want invalid", err)
	}
	if st2, err := schema.GetStatus(ctx, target); err != nil || st2 != st {
		t.Errorf("refused operations changed the database: %+v -> %+v (%v)", st, st2, err)
	}
	if st, err = schema.Down(ctx, target, 1); err != nil || st.Version != vs[len(vs)-2] || st.Pending != 1 {
		t.Errorf("down 1: %+v, %v", st, err)
	}
}
