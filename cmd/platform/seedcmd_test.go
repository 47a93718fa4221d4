package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/seed"
	"github.com/tenancy/platform/tenant"
)

// TestCLITenantSeed: `tenant seed` fills a new tenant of each kind, says
// what it inserted (table and JSON), and refuses a second seed, an unknown
// slug and a bad --size with one clear line.
func TestCLITenantSeed(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	rest, inst := platformtest.Slug("seedr"), platformtest.Slug("seedi")
	c.ok("tenant", "create", rest, "--kind", "restaurant", "--name", "Sabores de Chile")
	c.ok("tenant", "create", inst, "--kind", "institution", "--name", "Universidad del Valle Central")

	out := c.ok("tenant", "seed", rest, "-o", "json")
	var res seed.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("seed -o json is not one JSON object: %v\n%s", err, out)
	}
	if res.Slug != rest || res.Kind != tenant.Restaurant || res.Size != seed.Small || res.Rows < 1000 || res.DatabaseBytes <= 0 || len(res.Tables) != 9 {
		t.Errorf("seed -o json = %+v", res)
	}
	var orders int64
	err := c.admin.In(t.Context(), tenant.DatabaseName(rest), tenant.OwnerRole(rest), func(conn *pgx.Conn) error {
		return conn.QueryRow(t.Context(), `SELECT count(*) FROM orders`).Scan(&orders)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range res.Tables {
		if tc.Table == "orders" && tc.Rows != orders {
			t.Errorf("seed says %d orders, the tenant has %d", tc.Rows, orders)
		}
	}
	if orders == 0 {
		t.Error("no orders seeded")
	}

	table := c.ok("tenant", "seed", inst, "--size", "small")
	for _, want := range []string{"tenant " + inst + " seeded with small institution data", "TABLE", "teaching_loads", "prefecture_reports", "total", "database size:"} {
		if !strings.Contains(table, want) {
			t.Errorf("seed table output lacks %q:\n%s", want, table)
		}
	}

	// The operator audit has each seed, and each refusal with its code.
	defer func() {
		var ok, refused int
		err := c.cat.Pool().QueryRow(t.Context(), `SELECT count(*) FILTER (WHERE outcome = 'succeeded' AND source = 'cli' AND actor LIKE 'cli%'),
			count(*) FILTER (WHERE outcome = 'failed' AND details->>'error_code' = 'conflict' AND tenant_slug = $1)
			FROM operator_audit WHERE action = 'tenant.seed'`, rest).Scan(&ok, &refused)
		if err != nil || ok != 2 || refused != 1 {
			t.Errorf("operator audit: %d seeds, %d refused (%v), want 2 and 1", ok, refused, err)
		}
	}()
	c.wantErrors(t, []cliError{
		{[]string{"tenant", "seed", rest}, tenant.EConflict, "tenant already has data; seed only an empty tenant", false},
		{[]string{"tenant", "seed", "no-such-tenant"}, tenant.ENotFound, `tenant "no-such-tenant" not found`, false},
		{[]string{"tenant", "seed", rest, "--size", "huge"}, "", "--size must be small or large", true},
		{[]string{"tenant", "seed"}, "", "want exactly one SLUG", true},
	})
}
