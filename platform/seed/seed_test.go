package seed_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/platform/seed"
	"github.com/tenancy/platform/tenant"
)

func seeder(e *tenanttest.Env) *seed.Seeder {
	return seed.New(e.Catalog, map[string]*pgadmin.Server{"default": e.Admin})
}

// query runs fn on a connection to tn's database as its owner.
func query(t testing.TB, e *tenanttest.Env, tn *tenanttest.Tenant, fn func(c *pgx.Conn) error) {
	t.Helper()
	if err := e.Admin.In(e.Ctx, tn.Database, tenant.OwnerRole(tn.Slug), fn); err != nil {
		t.Fatal(err)
	}
}

// count returns the result of a one-number query.
func count(t testing.TB, e *tenanttest.Env, tn *tenanttest.Tenant, sql string) int64 {
	t.Helper()
	var n int64
	query(t, e, tn, func(c *pgx.Conn) error { return c.QueryRow(e.Ctx, sql).Scan(&n) })
	return n
}

// tableCounts is the row count of every table of a seed's result, read
// from the database.
func tableCounts(t testing.TB, e *tenanttest.Env, tn *tenanttest.Tenant, tables []seed.TableCount) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	for _, tc := range tables {
		m[tc.Table] = count(t, e, tn, "SELECT count(*) FROM "+pgx.Identifier{tc.Table}.Sanitize())
	}
	return m
}

// checkResult: the result lists every domain table with the rows it
// really has, at least min of each, and a plausible size.
func checkResult(t *testing.T, e *tenanttest.Env, tn *tenanttest.Tenant, res *seed.Result, min map[string]int64) {
	t.Helper()
	if res.Slug != tn.Slug || res.Kind != tn.Kind || res.Size != seed.Small || res.DatabaseBytes < 1<<20 {
		t.Errorf("result = %+v", res)
	}
	have := tableCounts(t, e, tn, res.Tables)
	var sum int64
	for _, tc := range res.Tables {
		sum += tc.Rows
		if have[tc.Table] != tc.Rows {
			t.Errorf("%s: result says %d rows, the table has %d", tc.Table, tc.Rows, have[tc.Table])
		}
	}
	if sum != res.Rows {
		t.Errorf("rows = %d, tables add up to %d", res.Rows, sum)
	}
	for table, n := range min {
		if have[table] < n {
			t.Errorf("%s: %d rows, want at least %d", table, have[table], n)
		}
	}
	if len(res.Tables) != len(min) {
		t.Errorf("result lists %d tables, want %d: %+v", len(res.Tables), len(min), res.Tables)
	}
}

// zero: each query counts violations of a rule; every one must be 0.
func zero(t testing.TB, e *tenanttest.Env, tn *tenanttest.Tenant, rules map[string]string) {
	t.Helper()
	for name, sql := range rules {
		if n := count(t, e, tn, sql); n != 0 {
			t.Errorf("%s: %d violations", name, n)
		}
	}
}

// some: each query counts rows that must exist.
func some(t testing.TB, e *tenanttest.Env, tn *tenanttest.Tenant, facts map[string]string) {
	t.Helper()
	for name, sql := range facts {
		if n := count(t, e, tn, sql); n == 0 {
			t.Errorf("%s: none", name)
		}
	}
}

// restaurantRules and institutionRules count violations of the rules the
// domain APIs enforce; a seed of any size has none (BenchmarkSeed checks
// the large one).
var restaurantRules = map[string]string{
	"order total = Σ quantity × unit price": `SELECT count(*) FROM orders o
		WHERE o.total_cents <> (SELECT coalesce(sum(quantity * unit_price_cents), 0) FROM order_items i WHERE i.order_id = o.id)`,
	"orders without items":          `SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)`,
	"unit price = the menu's price": `SELECT count(*) FROM order_items i JOIN menu_items m ON m.id = i.menu_item_id WHERE i.unit_price_cents <> m.price_cents`,
	// At the start of each reservation (where the guests present can
	// only grow), the parties present fit the branch's seats.
	"reservations beyond seats_per_slot": `SELECT count(*) FROM reservations r JOIN branches b ON b.id = r.branch_id
		WHERE (SELECT sum(o.party_size) FROM reservations o WHERE o.branch_id = r.branch_id
			AND o.starts_at <= r.starts_at AND o.starts_at + o.duration_minutes * interval '1 minute' > r.starts_at) > b.seats_per_slot`,
	"reservations off the slot grid": `SELECT count(*) FROM reservations r JOIN branches b ON b.id = r.branch_id
		WHERE extract(epoch FROM r.starts_at)::bigint % (b.slot_minutes * 60) <> 0`,
	"order messages of another customer": `SELECT count(*) FROM customer_messages m JOIN orders o ON o.id = m.order_id
		WHERE m.customer_id IS DISTINCT FROM o.customer_id OR m.branch_id <> o.branch_id`,
	"CLP prices with centavos": `SELECT count(*) FROM menu_items WHERE price_cents % 100 <> 0 OR price_cents < 100000`,
	"future orders":            `SELECT count(*) FROM orders WHERE created_at > now()`,
}

var institutionRules = map[string]string{
	"duplicate teaching loads": `SELECT count(*) - count(DISTINCT (period_id, group_id, subject_id)) FROM teaching_loads`,
	"loads outside the group's curriculum": `SELECT count(*) FROM teaching_loads l JOIN groups g ON g.id = l.group_id
		WHERE NOT EXISTS (SELECT 1 FROM program_subjects ps WHERE ps.program_id = g.program_id AND ps.subject_id = l.subject_id AND ps.semester = g.semester)`,
	"groups without loads": `SELECT count(*) FROM groups g, periods p
		WHERE NOT EXISTS (SELECT 1 FROM teaching_loads l WHERE l.group_id = g.id AND l.period_id = p.id)`,
	"load hours ≠ subject hours": `SELECT count(*) FROM teaching_loads l JOIN subjects s ON s.id = l.subject_id WHERE l.hours <> s.hours_per_week`,
	"tutoring outside its period": `SELECT count(*) FROM tutoring_sessions x JOIN periods p ON p.id = x.period_id
		WHERE x.held_on < p.starts_on OR x.held_on > p.ends_on OR extract(isodow FROM x.held_on) > 5`,
	"reports outside their period": `SELECT count(*) FROM prefecture_reports x JOIN periods p ON p.id = x.period_id
		WHERE x.report_date < p.starts_on OR x.report_date > p.ends_on`,
	"tutors who do not teach the group": `SELECT count(*) FROM tutoring_sessions x WHERE NOT EXISTS (SELECT 1 FROM teaching_loads l
		WHERE l.period_id = x.period_id AND l.group_id = x.group_id AND l.teacher_id = x.teacher_id)`,
	"active periods ≠ 1":             `SELECT abs(count(*) FILTER (WHERE active) - 1) FROM periods`,
	"schedules without blocks":       `SELECT count(*) FROM schedules WHERE jsonb_array_length(content->'bloques') = 0 OR uploaded_by IS NULL`,
	"teacher absences of no teacher": `SELECT count(*) FROM prefecture_reports WHERE kind IN ('teacher_absent', 'teacher_late') AND teacher_id IS NULL`,
}

func TestSeedRestaurantSmall(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	res, err := seeder(e).Seed(e.Ctx, tn.Slug, seed.Small)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded: %+v", res)
	checkResult(t, e, tn, res, map[string]int64{"branches": 3, "menu_categories": 8, "menu_items": 40, "menu_item_branches": 1,
		"customers": 300, "orders": 1000, "order_items": 1500, "reservations": 100, "customer_messages": 500})
	if n := count(t, e, tn, `SELECT count(*) FROM branches`); n != 3 {
		t.Errorf("branches = %d, want 3 (the first one reused)", n)
	}
	zero(t, e, tn, restaurantRules)
	some(t, e, tn, map[string]string{
		"pastel de choclo":      `SELECT count(*) FROM menu_items WHERE name = 'Pastel de choclo' AND price_cents = 990000`,
		"empanadas de pino":     `SELECT count(*) FROM order_items i JOIN menu_items m ON m.id = i.menu_item_id WHERE m.name = 'Empanada de pino'`,
		"Spanish names":         `SELECT count(*) FROM customers WHERE name ~ '[áéíóúñ]' AND email LIKE '%@%' AND phone LIKE '+56 9 %'`,
		"Chilean branch phones": `SELECT count(*) FROM branches WHERE phone LIKE '+56 %' AND address LIKE '%Santiago%'`,
		"verification codes":    `SELECT count(*) FROM customer_messages WHERE purpose = 'verification' AND channel = 'sms' AND body ~ 'código de verificación es [0-9]{6}'`,
		"order updates":         `SELECT count(*) FROM customer_messages WHERE purpose = 'order_update' AND body LIKE 'Hola %pedido #%' AND order_id IS NOT NULL`,
		"failed messages":       `SELECT count(*) FROM customer_messages WHERE status = 'failed' AND error IS NOT NULL`,
		"marketing by the admin": `SELECT count(*) FROM customer_messages m JOIN users u ON u.id = m.sent_by
			WHERE m.purpose = 'marketing' AND u.username = 'admin'`,
		"off at a branch":     `SELECT count(*) FROM menu_item_branches WHERE NOT available`,
		"future reservations": `SELECT count(*) FROM reservations WHERE starts_at > now() AND status IN ('pending', 'confirmed')`,
		"audit row": `SELECT count(*) FROM audit_log WHERE action = 'tenant.seeded' AND entity = 'tenant'
			AND actor LIKE 'operator:%' AND (details->>'orders')::int > 0`,
	})
	// Every status of the flows appears (a reservation is seated only
	// while it is under way, which depends on the hour).
	for table, want := range map[string]int64{"orders": 6, "reservations": 5, "customer_messages": 3} {
		col := "status"
		if table == "customer_messages" {
			col = "channel"
		}
		if n := count(t, e, tn, "SELECT count(DISTINCT "+col+") FROM "+table); n < want {
			t.Errorf("%s: %d distinct %s, want at least %d", table, n, col, want)
		}
	}

	// A second seed is refused and changes nothing.
	before := tableCounts(t, e, tn, res.Tables)
	audits := count(t, e, tn, `SELECT count(*) FROM audit_log`)
	if _, err := seeder(e).Seed(e.Ctx, tn.Slug, seed.Small); tenant.ErrorCode(err) != tenant.EConflict ||
		tenant.ErrorMessage(err) != "tenant already has data; seed only an empty tenant" {
		t.Fatalf("second seed: %v (%s), want conflict", err, tenant.ErrorCode(err))
	}
	after := tableCounts(t, e, tn, res.Tables)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s: %d rows after a refused seed, %d before", k, after[k], v)
		}
	}
	if n := count(t, e, tn, `SELECT count(*) FROM audit_log`); n != audits {
		t.Errorf("audit_log: %d rows after a refused seed, %d before", n, audits)
	}
}

func TestSeedInstitutionSmall(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Institution)
	res, err := seeder(e).Seed(e.Ctx, tn.Slug, seed.Small)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded: %+v", res)
	checkResult(t, e, tn, res, map[string]int64{"periods": 3, "programs": 8, "subjects": 60, "program_subjects": 80, "groups": 80,
		"teachers": 60, "teaching_loads": 500, "schedules": 24, "tutoring_sessions": 500, "prefecture_reports": 500})
	zero(t, e, tn, institutionRules)
	some(t, e, tn, map[string]string{
		"periods 2025-1, 2025-2, 2026-1":  `SELECT count(*) FROM periods WHERE code IN ('2025-1', '2025-2', '2026-1') HAVING count(*) = 3`,
		"Ingeniería Civil Informática":    `SELECT count(*) FROM programs WHERE name = 'Ingeniería Civil Informática'`,
		"Derecho and Enfermería":          `SELECT count(*) FROM programs WHERE name IN ('Derecho', 'Enfermería') HAVING count(*) = 2`,
		"subjects with credits and hours": `SELECT count(*) FROM subjects WHERE credits > 0 AND hours_per_week > 0`,
		"Spanish teacher names":           `SELECT count(*) FROM teachers WHERE full_name ~ '[áéíóúñ]' AND employee_number LIKE 'DOC-%' AND email LIKE '%@uvc.cl'`,
		"Spanish tutoring notes":          `SELECT count(*) FROM tutoring_sessions WHERE notes LIKE '%estudiantes%'`,
		"every report kind":               `SELECT count(DISTINCT kind) FROM prefecture_reports HAVING count(DISTINCT kind) = 5`,
		"evening groups":                  `SELECT count(*) FROM groups WHERE shift = 'evening' AND code LIKE '%V'`,
		"audit row":                       `SELECT count(*) FROM audit_log WHERE action = 'tenant.seeded' AND (details->>'teaching_loads')::int > 0`,
	})
	if _, err := seeder(e).Seed(e.Ctx, tn.Slug, seed.Small); tenant.ErrorCode(err) != tenant.EConflict {
		t.Fatalf("second seed: %v, want conflict", err)
	}
}

// TestSeedRefusals: a tenant with any data of its own, an unknown slug, a
// deleted tenant and an unknown size are refused, and nothing changes.
func TestSeedRefusals(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	s := seeder(e)

	r := e.Create(t, tenant.Restaurant)
	if _, err := r.App.Exec(e.Ctx, `INSERT INTO customers (name) VALUES ('Rosa Espinoza')`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Seed(e.Ctx, r.Slug, seed.Small); tenant.ErrorCode(err) != tenant.EConflict {
		t.Errorf("restaurant with a customer: %v, want conflict", err)
	}
	for table, want := range map[string]int64{"customers": 1, "branches": 1, "menu_items": 0, "orders": 0, "customer_messages": 0} {
		if n := count(t, e, r, "SELECT count(*) FROM "+table); n != want {
			t.Errorf("%s after a refused seed: %d rows, want %d", table, n, want)
		}
	}
	if n := count(t, e, r, `SELECT count(*) FROM branches WHERE address = ''`); n != 1 {
		t.Errorf("the first branch was changed by a refused seed")
	}

	// A restaurant with a second branch of its own has data too.
	r2 := e.Create(t, tenant.Restaurant)
	if _, err := r2.App.Exec(e.Ctx, `INSERT INTO branches (name) VALUES ('Sucursal Maipú')`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Seed(e.Ctx, r2.Slug, seed.Small); tenant.ErrorCode(err) != tenant.EConflict {
		t.Errorf("restaurant with two branches: %v, want conflict", err)
	}

	in := e.Create(t, tenant.Institution)
	if _, err := in.App.Exec(e.Ctx, `INSERT INTO teachers (employee_number, full_name) VALUES ('DOC-9', 'Ana Pérez')`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Seed(e.Ctx, in.Slug, seed.Small); tenant.ErrorCode(err) != tenant.EConflict {
		t.Errorf("institution with a teacher: %v, want conflict", err)
	}
	if n := count(t, e, in, `SELECT count(*) FROM periods`); n != 0 {
		t.Errorf("periods after a refused seed: %d", n)
	}

	if _, err := s.Seed(e.Ctx, "no-such-tenant", seed.Small); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Errorf("unknown slug: %v, want not_found", err)
	}
	if _, err := s.Seed(e.Ctx, "Not A Slug", seed.Small); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Errorf("invalid slug: %v, want not_found", err)
	}
	if _, err := s.Seed(e.Ctx, r.Slug, "huge"); tenant.ErrorCode(err) != tenant.EInvalid {
		t.Errorf("size huge: %v, want invalid_input", err)
	}
	if _, err := seed.ParseSize("medium"); tenant.ErrorCode(err) != tenant.EInvalid {
		t.Errorf("ParseSize(medium) = %v", err)
	}

	gone := e.Create(t, tenant.Institution)
	if err := e.Service.Delete(e.Ctx, gone.Slug); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Seed(context.WithoutCancel(e.Ctx), gone.Slug, seed.Small); tenant.ErrorCode(err) != tenant.EConflict {
		t.Errorf("deleted tenant: %v, want conflict", err)
	}
}

// TestSeedConcurrent: two seeds of one tenant at once: one fills it, the
// other waits for it and is refused, so the data is there once.
func TestSeedConcurrent(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Institution)
	s := seeder(e)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := s.Seed(e.Ctx, tn.Slug, seed.Small)
			errs <- err
		}()
	}
	var ok, refused int
	for range 2 {
		switch err := <-errs; tenant.ErrorCode(err) {
		case "":
			ok++
		case tenant.EConflict:
			refused++
		default:
			t.Errorf("concurrent seed: %v", err)
		}
	}
	if ok != 1 || refused != 1 {
		t.Errorf("%d seeds succeeded and %d were refused, want 1 and 1", ok, refused)
	}
	if n := count(t, e, tn, `SELECT count(*) FROM periods`); n != 3 {
		t.Errorf("periods = %d, want 3", n)
	}
	if n := count(t, e, tn, `SELECT count(*) FROM audit_log WHERE action = 'tenant.seeded'`); n != 1 {
		t.Errorf("%d tenant.seeded audit rows, want 1", n)
	}
}
