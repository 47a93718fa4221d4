package audit_test

import (
	"strings"
	"testing"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/audit"
)

// TestInsertFromMatchesRecord: the row InsertFrom writes (its entity id
// from a query, parameters after others) is the row Record writes, with
// the same redaction and caps.
func TestInsertFromMatchesRecord(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	ctx := e.Ctx
	uid := newUser(t, ctx, tn.App, "Bea.Insert")
	action := "test." + platformtest.Rand(6)
	in := audit.Entry{UserID: &uid, Actor: "Bea.Insert", Action: action, Entity: "customer",
		IP: "192.0.2.7", UserAgent: strings.Repeat("a", 700), RequestID: "req-2",
		Details: map[string]any{"fields": []string{"name"}, "password": "hunter2hunter2"}}
	sql, args, err := audit.InsertFrom(in, 2, "x.id::text", "(SELECT $1::bigint AS id) x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tn.App.Exec(ctx, sql, append([]any{int64(41), "unused"}, args...)...); err == nil {
		t.Fatal("a statement with a parameter too many ran") // $2 is InsertFrom's first
	}
	if _, err := tn.App.Exec(ctx, sql, append([]any{int64(41)}, args...)...); err != nil {
		t.Fatal(err)
	}
	in.EntityID = "41"
	mustRecord(t, ctx, tn.App, in)
	p := mustQuery(t, ctx, tn.App, audit.Filter{Action: action})
	if len(p.Entries) != 2 {
		t.Fatalf("%d entries, want 2", len(p.Entries))
	}
	a, b := p.Entries[0], p.Entries[1]
	if a.EntityID != "41" || a.UserAgent != b.UserAgent || a.Details["password"] != b.Details["password"] ||
		a.Actor != b.Actor || *a.UserID != *b.UserID || a.IP != b.IP || a.RequestID != b.RequestID || a.Entity != b.Entity {
		t.Errorf("InsertFrom wrote %+v\nRecord wrote %+v", a, b)
	}
	if b.Details["password"] == "hunter2hunter2" {
		t.Error("the password was not redacted")
	}
}
