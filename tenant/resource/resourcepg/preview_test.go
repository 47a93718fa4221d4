package resourcepg_test

import (
	"context"
	"maps"
	"testing"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/domaintest"
	"github.com/tenancy/platform/tenant/institution"
	"github.com/tenancy/platform/tenant/resource/resourcepg"
)

// PreviewDelete counts a restricted delete's blocking dependents and a
// cascading one's rows, deleting nothing; Delete then takes what it said.
func TestPreviewDelete(t *testing.T) {
	t.Parallel()
	h := domaintest.New(t, institution.Mount)
	tn := h.Tenant(t, tenant.Institution)
	c := h.Admin(t, tn)
	period := c.Do("POST", "/api/periods", map[string]any{"code": "2026-1", "name": "P", "starts_on": "2026-03-02", "ends_on": "2026-07-17"}).Want(t, 201, "").ID()
	program := c.Do("POST", "/api/programs", map[string]any{"code": "INF", "name": "Informática"}).Want(t, 201, "").ID()
	subject := c.Do("POST", "/api/subjects", map[string]any{"code": "MAT101", "name": "Cálculo", "hours_per_week": 4}).Want(t, 201, "").ID()
	group := c.Do("POST", "/api/groups", map[string]any{"program_id": program, "code": "INF-1A", "semester": 1}).Want(t, 201, "").ID()
	teacher := c.Do("POST", "/api/teachers", map[string]any{"employee_number": "D1", "full_name": "Ana"}).Want(t, 201, "").ID()
	for range 2 {
		c.Do("POST", "/api/teaching-loads", map[string]any{"period_id": period, "group_id": group, "teacher_id": teacher,
			"subject_id": subject, "hours": 2}).Want(t, 201, "")
		// A second load needs another subject (one per period, group, subject).
		subject = c.Do("POST", "/api/subjects", map[string]any{"code": "S" + string(rune('A'+subject)), "name": "Otra", "hours_per_week": 2}).Want(t, 201, "").ID()
	}
	specs := h.API.Specs()
	ctx := context.Background()
	conn, err := h.Acquire(ctx, tn.Tenant)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()

	p, err := resourcepg.PreviewDelete(ctx, conn, specs, specs[institution.Teachers], teacher)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Blocked() || !maps.Equal(p.Blocking, map[string]int64{institution.TeachingLoads: 2}) || len(p.Cascaded) != 0 {
		t.Fatalf("teacher preview %+v, want 2 teaching loads blocking", p)
	}
	p, err = resourcepg.PreviewDelete(ctx, conn, specs, specs[institution.Periods], period)
	if err != nil {
		t.Fatal(err)
	}
	if p.Blocked() || !maps.Equal(p.Cascaded, map[string]int64{institution.TeachingLoads: 2}) {
		t.Fatalf("period preview %+v, want 2 teaching loads cascaded", p)
	}
	// Nothing was deleted: the delete takes exactly what the preview said.
	d, err := resourcepg.Delete(ctx, conn, specs, specs[institution.Periods], period)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(d.Cascaded, p.Cascaded) {
		t.Fatalf("delete cascaded %v, preview said %v", d.Cascaded, p.Cascaded)
	}
	if _, err := resourcepg.PreviewDelete(ctx, conn, specs, specs[institution.Periods], period); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Fatalf("preview of a deleted row: %v, want not_found", err)
	}
}
