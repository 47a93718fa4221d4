package audit_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/audit"
)

// Against real provisioned tenants, through the request path's role
// (tn.App: tenant_<slug>__app) unless a test says otherwise. Each test has
// its tenant; rows a test looks for carry a random action or actor.

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func mustRecord(t testing.TB, ctx context.Context, db audit.DBTX, e audit.Entry) {
	t.Helper()
	if err := audit.Record(ctx, db, e); err != nil {
		t.Fatalf("record %s: %v", e.Action, err)
	}
}

func mustQuery(t testing.TB, ctx context.Context, db audit.DBTX, f audit.Filter) audit.Page {
	t.Helper()
	p, err := audit.Query(ctx, db, f)
	if err != nil {
		t.Fatalf("query %+v: %v", f, err)
	}
	return p
}

func newUser(t testing.TB, ctx context.Context, db audit.DBTX, name string) int64 {
	t.Helper()
	var id int64
	if err := db.QueryRow(ctx, `INSERT INTO users (username, full_name, password_hash) VALUES ($1, $1, 'x') RETURNING id`, name).Scan(&id); err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	return id
}

func TestRecordQueryRoundTrip(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Institution)
	ctx := e.Ctx
	uid := newUser(t, ctx, tn.App, "Ana.Round")
	action := "test." + platformtest.Rand(6)

	var before time.Time
	if err := tn.App.QueryRow(ctx, `SELECT now()`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	in := audit.Entry{
		ID: 999999, OccurredAt: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), // ignored
		UserID: &uid, Actor: "Ana.Round", Action: action, Entity: "user", EntityID: "7",
		IP: "2001:db8::5", UserAgent: strings.Repeat("ü", 600), RequestID: "req-1",
		Details: map[string]any{"changed": []string{"email"}, "new_password": "hunter2hunter2", "n": 3},
	}
	mustRecord(t, ctx, tn.App, in)
	p := mustQuery(t, ctx, tn.App, audit.Filter{Action: action})
	if len(p.Entries) != 1 || p.NextCursor != "" {
		t.Fatalf("got %d entries, cursor %q", len(p.Entries), p.NextCursor)
	}
	got := p.Entries[0]
	if got.ID == in.ID || got.ID < 1 {
		t.Errorf("id %d: not the database's", got.ID)
	}
	var after time.Time
	if err := tn.App.QueryRow(ctx, `SELECT now()`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if got.OccurredAt.Before(before) || got.OccurredAt.After(after) || got.OccurredAt.Location() != time.UTC {
		t.Errorf("occurred_at %v, not the database's time in [%v, %v] (UTC)", got.OccurredAt, before, after)
	}
	if got.UserID == nil || *got.UserID != uid || got.Actor != "Ana.Round" || got.Entity != "user" || got.EntityID != "7" ||
		got.Outcome != audit.Success || got.IP != "2001:db8::5" || got.RequestID != "req-1" {
		t.Errorf("got %+v", got)
	}
	if got.UserAgent != strings.Repeat("ü", audit.MaxUserAgent) {
		t.Errorf("user agent of %d characters, want %d", len([]rune(got.UserAgent)), audit.MaxUserAgent)
	}
	if len(got.Details) != 2 || got.Details["n"] != float64(3) || got.Details["new_password"] != nil {
		t.Errorf("details %v", got.Details)
	}

	// Minimal entry: defaults; an invalid IP is stored as NULL, not refused.
	bare := "test." + platformtest.Rand(6)
	mustRecord(t, ctx, tn.App, audit.Entry{Action: bare, IP: "not an ip", Outcome: ""})
	var ipNull, actorNull bool
	var details string
	if err := tn.App.QueryRow(ctx, `SELECT ip IS NULL, actor IS NULL, details::text FROM audit_log WHERE action = $1`, bare).
		Scan(&ipNull, &actorNull, &details); err != nil {
		t.Fatal(err)
	}
	if !ipNull || !actorNull || details != "{}" {
		t.Errorf("bare row: ip null %v, actor null %v, details %s", ipNull, actorNull, details)
	}
	b := mustQuery(t, ctx, tn.App, audit.Filter{Action: bare}).Entries
	if len(b) != 1 || b[0].Outcome != audit.Success || b[0].UserID != nil || b[0].IP != "" || b[0].Details == nil {
		t.Errorf("bare entry %+v", b)
	}

	// Details too large are cut to the cap, in the database too.
	huge := "test." + platformtest.Rand(6)
	mustRecord(t, ctx, tn.App, audit.Entry{Action: huge, Details: map[string]any{"a": strings.Repeat("x", 5000), "b": strings.Repeat("y", 5000)}})
	var size int
	var truncated bool
	if err := tn.App.QueryRow(ctx, `SELECT octet_length(details::text), (details->>'_truncated')::bool FROM audit_log WHERE action = $1`, huge).
		Scan(&size, &truncated); err != nil {
		t.Fatal(err)
	}
	if size > audit.MaxDetailsSize || !truncated {
		t.Errorf("huge details: %d bytes, truncated %v", size, truncated)
	}

	// Callers' mistakes.
	if err := audit.Record(ctx, tn.App, audit.Entry{Action: " "}); !errors.Is(err, audit.ErrNoAction) {
		t.Errorf("no action: %v", err)
	}
	if err := audit.Record(ctx, tn.App, audit.Entry{Action: bare, Outcome: "maybe"}); err == nil {
		t.Error("unknown outcome accepted")
	}
	// The database refuses an unknown outcome too (CHECK of 000003).
	if _, err := tn.App.Exec(ctx, `INSERT INTO audit_log (action, outcome) VALUES ('x', 'maybe')`); pgCode(err) != "23514" {
		t.Errorf("unknown outcome in SQL: %v, want 23514", err)
	}
}

func TestRedactionReachesTheDatabase(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	ctx := e.Ctx
	action := "test." + platformtest.Rand(6)
	secrets := []string{"S3cret-pw-1", "S3cret-tok-2", "S3cret-sess-3", "S3cret-hash-4", "S3cret-cookie-5", "S3cret-auth-6", "S3cret-csrf-7", "S3cret-key-8"}
	mustRecord(t, ctx, tn.App, audit.Entry{Action: action, Details: map[string]any{
		"username": "bob",
		"Password": secrets[0],
		"request":  map[string]any{"headers": map[string]any{"Authorization": secrets[5], "Cookie": secrets[4], "accept": "json"}},
		"items":    []any{map[string]any{"resetToken": secrets[1], "id": 1}, map[string]any{"SessionID": secrets[2]}},
		"user":     map[string]string{"password_hash": secrets[3], "role": "admin"},
		"X-CSRF":   secrets[6],
		"Secrets":  map[string]any{"jwt": "x", "n": secrets[7]},
	}})
	var raw string
	if err := tn.App.QueryRow(ctx, `SELECT details::text FROM audit_log WHERE action = $1`, action).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.Contains(raw, s) {
			t.Errorf("stored details hold %q: %s", s, raw)
		}
	}
	for _, kept := range []string{`"username": "bob"`, `"accept": "json"`, `"id": 1`, `"role": "admin"`} {
		if !strings.Contains(raw, kept) {
			t.Errorf("stored details lost %s: %s", kept, raw)
		}
	}
}

func TestQueryFilters(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	ctx := e.Ctx
	r := platformtest.Rand(6)
	alice := "Alice." + r
	aliceID := newUser(t, ctx, tn.App, alice)
	bobID := newUser(t, ctx, tn.App, "bob."+r)
	login, updated := "login."+r, "user.updated."+r
	type row struct {
		uid     *int64
		actor   string
		action  string
		entity  string
		id      string
		outcome string
	}
	rows := []row{
		{&aliceID, alice, login, "", "", audit.Success},                                 // 0
		{&bobID, "bob." + r, login, "", "", audit.Failure},                              // 1
		{&aliceID, alice, updated, "user", strconv.FormatInt(bobID, 10), audit.Success}, // 2
		{&aliceID, alice, updated, "user", "other", audit.Denied},                       // 3
		{nil, strings.ToUpper(alice), updated, "menu", "1", audit.Success},              // 4: same name, other case, no id
	}
	ids := make([]int64, len(rows))
	for i, x := range rows {
		mustRecord(t, ctx, tn.App, audit.Entry{UserID: x.uid, Actor: x.actor, Action: x.action, Entity: x.entity, EntityID: x.id, Outcome: x.outcome})
		if err := tn.App.QueryRow(ctx, `SELECT max(id) FROM audit_log`).Scan(&ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	// Rows of fixed times, for the time filters (the request path's role
	// may write occurred_at; Record never does).
	tr := "timed." + r
	times := []time.Time{
		time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 2, 23, 59, 59, 999999000, time.UTC),
		time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC),
	}
	tids := make([]int64, len(times))
	for i, at := range times {
		if err := tn.App.QueryRow(ctx, `INSERT INTO audit_log (occurred_at, action) VALUES ($1, $2) RETURNING id`, at, tr).Scan(&tids[i]); err != nil {
			t.Fatal(err)
		}
	}
	parsed := func(q map[string]string) audit.Filter {
		f, err := audit.ParseFilter(func(k string) string { return q[k] })
		if err != nil {
			t.Fatalf("parse %v: %v", q, err)
		}
		return f
	}
	cases := []struct {
		name string
		f    audit.Filter
		want []int64 // newest first
	}{
		{"action", audit.Filter{Action: login}, []int64{ids[1], ids[0]}},
		{"actor any case", audit.Filter{Actor: strings.ToLower(alice)}, []int64{ids[4], ids[3], ids[2], ids[0]}},
		{"actor id", audit.Filter{Actor: strconv.FormatInt(aliceID, 10)}, []int64{ids[3], ids[2], ids[0]}},
		{"actor and action", audit.Filter{Actor: "BOB." + r, Action: login}, []int64{ids[1]}},
		{"entity", audit.Filter{Action: updated, Entity: "user"}, []int64{ids[3], ids[2]}},
		{"entity exactly", audit.Filter{Action: updated, Entity: "User"}, []int64{}},
		{"entity id", audit.Filter{Action: updated, Entity: "user", EntityID: strconv.FormatInt(bobID, 10)}, []int64{ids[2]}},
		{"from inclusive", audit.Filter{Action: tr, From: times[1]}, []int64{tids[3], tids[2], tids[1]}},
		{"to exclusive", audit.Filter{Action: tr, To: times[3]}, []int64{tids[2], tids[1], tids[0]}},
		{"from to", audit.Filter{Action: tr, From: times[1], To: times[3]}, []int64{tids[2], tids[1]}},
		{"one day (parsed)", parsed(map[string]string{"action": tr, "from": "2026-03-02", "to": "2026-03-02"}), []int64{tids[2], tids[1]}},
		{"rfc3339 (parsed)", parsed(map[string]string{"action": tr, "from": "2026-03-01T01:00:00+01:00", "to": "2026-03-02T00:00:00Z"}), []int64{tids[0]}},
		{"nothing", audit.Filter{Action: "none." + r}, []int64{}},
	}
	for _, c := range cases {
		p := mustQuery(t, ctx, tn.App, c.f)
		got := []int64{}
		for _, x := range p.Entries {
			got = append(got, x.ID)
		}
		if !slicesEqual(got, c.want) || p.NextCursor != "" {
			t.Errorf("%s: ids %v (cursor %q), want %v", c.name, got, p.NextCursor, c.want)
		}
	}
	// Outcomes come back as written.
	for _, x := range mustQuery(t, ctx, tn.App, audit.Filter{Actor: alice, Action: updated, Entity: "user"}).Entries {
		if want := map[int64]string{ids[2]: audit.Success, ids[3]: audit.Denied}[x.ID]; x.Outcome != want {
			t.Errorf("row %d: outcome %q, want %q", x.ID, x.Outcome, want)
		}
	}
}

func slicesEqual(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestQueryRejectsBadInput(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	b64 := base64.RawURLEncoding.EncodeToString
	now := time.Now()
	for _, c := range []struct {
		f     audit.Filter
		field string
	}{
		{audit.Filter{Cursor: "not a cursor"}, "cursor"},
		{audit.Filter{Cursor: b64([]byte("12x"))}, "cursor"},
		{audit.Filter{Cursor: b64([]byte("0"))}, "cursor"},
		{audit.Filter{Limit: 501}, "limit"},
		{audit.Filter{Limit: -1}, "limit"},
		{audit.Filter{From: now, To: now.Add(-time.Hour)}, "to"},
	} {
		_, err := audit.Query(e.Ctx, tn.App, c.f)
		if tenant.ErrorCode(err) != tenant.EValidation || tenant.ErrorFields(err)[c.field] == "" {
			t.Errorf("%+v: err = %v (fields %v), want validation_failed on %s", c.f, err, tenant.ErrorFields(err), c.field)
		}
	}
	// Limit 0 is the default page; 500 the largest.
	for i := 0; i < 51; i++ {
		mustRecord(t, e.Ctx, tn.App, audit.Entry{Action: "fill"})
	}
	if p := mustQuery(t, e.Ctx, tn.App, audit.Filter{Action: "fill"}); len(p.Entries) != audit.DefaultLimit || p.NextCursor == "" {
		t.Errorf("default page: %d entries, cursor %q", len(p.Entries), p.NextCursor)
	}
	if p := mustQuery(t, e.Ctx, tn.App, audit.Filter{Action: "fill", Limit: audit.MaxLimit}); len(p.Entries) != 51 || p.NextCursor != "" {
		t.Errorf("largest page: %d entries, cursor %q", len(p.Entries), p.NextCursor)
	}
}

// Keyset pages over a table that grows while a client pages through it:
// every row that was there when paging began comes exactly once, in
// descending id order, whatever is written meanwhile.
func TestPaginationUnderConcurrentInserts(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	ctx := e.Ctx
	action := "page." + platformtest.Rand(6)
	const n, limit = 37, 8 // five pages
	for i := 0; i < n; i++ {
		mustRecord(t, ctx, tn.App, audit.Entry{Action: action, EntityID: strconv.Itoa(i)})
	}
	before := map[int64]bool{}
	for _, x := range mustQuery(t, ctx, tn.App, audit.Filter{Action: action, Limit: audit.MaxLimit}).Entries {
		before[x.ID] = true
	}
	if len(before) != n {
		t.Fatalf("%d rows before paging, want %d", len(before), n)
	}

	// A writer inserting all along, on the app pool (at most 4 connections).
	stop := make(chan struct{})
	var wrote atomic.Int64
	var wg sync.WaitGroup
	var writeErr error
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := audit.Record(ctx, tn.App, audit.Entry{Action: action, EntityID: "concurrent"}); err != nil {
				writeErr = err
				return
			}
			wrote.Add(1)
		}
	})
	platformtest.Eventually(t, 10*time.Second, "the concurrent writer writes", func() bool { return wrote.Load() > 0 })

	seen := map[int64]bool{}
	last := int64(1<<63 - 1)
	cursor, pages := "", 0
	for {
		p := mustQuery(t, ctx, tn.App, audit.Filter{Action: action, Limit: limit, Cursor: cursor})
		pages++
		for _, x := range p.Entries {
			if seen[x.ID] {
				t.Errorf("row %d on two pages", x.ID)
			}
			if x.ID >= last {
				t.Errorf("row %d after %d: not newest first", x.ID, last)
			}
			seen[x.ID], last = true, x.ID
		}
		// Interleave for sure, whatever the writer's pace: rows written
		// between two pages.
		mustRecord(t, ctx, tn.App, audit.Entry{Action: action, EntityID: "between"})
		if p.NextCursor == "" {
			break
		}
		if len(p.Entries) != limit {
			t.Errorf("page %d: %d entries and a next cursor", pages, len(p.Entries))
		}
		cursor = p.NextCursor
	}
	close(stop)
	wg.Wait()
	if writeErr != nil {
		t.Fatalf("concurrent writer: %v", writeErr)
	}
	for id := range before {
		if !seen[id] {
			t.Errorf("row %d, there before paging, missed", id)
		}
	}
	if pages < 5 {
		t.Errorf("%d pages, want at least 5", pages)
	}
	t.Logf("%d pages, %d rows seen, %d written concurrently", pages, len(seen), wrote.Load())
}

// The request path's role may add audit rows and read them, never change
// or remove one; deleting a user keeps its rows with user_id NULL. The
// grants come from pgadmin.GrantApp, which provisioning runs after every
// migration.
func TestAppRoleIsAppendOnly(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Institution)
	ctx := e.Ctx
	app := tenant.AppRole(tn.Slug)
	var who string
	if err := tn.App.QueryRow(ctx, `SELECT current_user`).Scan(&who); err != nil || who != app {
		t.Fatalf("connected as %q (%v), want %s", who, err, app)
	}
	var ins, sel, upd, del, trunc, seq bool
	if err := tn.App.QueryRow(ctx, `SELECT has_table_privilege('audit_log', 'INSERT'), has_table_privilege('audit_log', 'SELECT'),
		has_table_privilege('audit_log', 'UPDATE'), has_table_privilege('audit_log', 'DELETE'), has_table_privilege('audit_log', 'TRUNCATE'),
		has_sequence_privilege(pg_get_serial_sequence('audit_log', 'id'), 'USAGE')`).Scan(&ins, &sel, &upd, &del, &trunc, &seq); err != nil {
		t.Fatal(err)
	}
	if !ins || !sel || upd || del || trunc || !seq {
		t.Errorf("privileges: insert %v select %v update %v delete %v truncate %v sequence %v; want only insert, select, sequence",
			ins, sel, upd, del, trunc, seq)
	}

	name := "gone." + platformtest.Rand(6)
	uid := newUser(t, ctx, tn.App, name)
	action := "test." + platformtest.Rand(6)
	mustRecord(t, ctx, tn.App, audit.Entry{UserID: &uid, Actor: name, Action: action, Details: map[string]any{"k": "v"}})
	for _, q := range []string{
		`UPDATE audit_log SET action = 'forged'`,
		`UPDATE audit_log SET user_id = NULL`, // even the one change the trigger lets a cascade make
		`DELETE FROM audit_log`,
		`TRUNCATE audit_log`,
	} {
		if _, err := tn.App.Exec(ctx, q); pgCode(err) != "42501" {
			t.Errorf("%s as %s: err = %v, want 42501 (insufficient privilege)", q, app, err)
		}
	}
	// Not through a transaction either, nor by inserting over a row.
	err := pgx.BeginFunc(ctx, tn.App, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM audit_log WHERE action = $1`, action)
		return err
	})
	if pgCode(err) != "42501" {
		t.Errorf("delete in a transaction: %v", err)
	}
	if _, err := tn.App.Exec(ctx, `INSERT INTO audit_log (action) VALUES ('x') ON CONFLICT (id) DO UPDATE SET action = 'forged'`); pgCode(err) != "42501" {
		t.Errorf("upsert: %v, want 42501", err)
	}

	if _, err := tn.App.Exec(ctx, `DELETE FROM users WHERE id = $1`, uid); err != nil {
		t.Fatalf("delete an audited user as %s: %v", app, err)
	}
	p := mustQuery(t, ctx, tn.App, audit.Filter{Actor: name})
	if len(p.Entries) != 1 || p.Entries[0].UserID != nil || p.Entries[0].Action != action || p.Entries[0].Details["k"] != "v" {
		t.Fatalf("after the user's delete: %+v, want the row kept with actor id NULL", p.Entries)
	}
	if p := mustQuery(t, ctx, tn.App, audit.Filter{Actor: strconv.FormatInt(uid, 10)}); len(p.Entries) != 0 {
		t.Errorf("the deleted user's id still matches %d rows", len(p.Entries))
	}
	// A row for a user deleted before it is written keeps its actor, not the id.
	late := "test." + platformtest.Rand(6)
	mustRecord(t, ctx, tn.App, audit.Entry{UserID: &uid, Actor: name, Action: late})
	if p := mustQuery(t, ctx, tn.App, audit.Filter{Action: late}); len(p.Entries) != 1 || p.Entries[0].UserID != nil || p.Entries[0].Actor != name {
		t.Errorf("row of a deleted user: %+v", p.Entries)
	}
}

// The control plane records operations on a tenant (secret rotation) on a
// connection of the owner role.
func TestRecordAsTheOwner(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	owner := tenant.OwnerRole(tn.Slug)
	actor := audit.OperatorActor("cli", "ops-"+platformtest.Rand(4))
	ran := false
	err := e.Admin.In(e.Ctx, tn.Database, owner, func(c *pgx.Conn) error {
		var who string
		if err := c.QueryRow(e.Ctx, `SELECT current_user`).Scan(&who); err != nil {
			return err
		}
		if who != owner {
			t.Errorf("connected as %s, want %s", who, owner)
		}
		ran = true
		return audit.Record(e.Ctx, c, audit.Entry{Actor: actor, Action: audit.SecretsRotated, Entity: "tenant", EntityID: tn.ID,
			Details: map[string]any{"keys": []string{"jwt_secret"}, "jwt_secret": "never"}})
	})
	if err != nil || !ran {
		t.Fatalf("record as the owner: ran %v, %v", ran, err)
	}
	p := mustQuery(t, e.Ctx, tn.App, audit.Filter{Actor: actor, Action: audit.SecretsRotated})
	if len(p.Entries) != 1 || p.Entries[0].EntityID != tn.ID || p.Entries[0].Details["jwt_secret"] != nil {
		t.Fatalf("operator row seen by the app role: %+v", p.Entries)
	}
	if keys, _ := p.Entries[0].Details["keys"].([]any); len(keys) != 1 || keys[0] != "jwt_secret" {
		t.Errorf("details %v", p.Entries[0].Details)
	}
}

func BenchmarkRecord(b *testing.B) {
	e := tenanttest.New(b)
	tn := e.Create(b, tenant.Restaurant)
	uid := newUser(b, e.Ctx, tn.App, "bench")
	entry := audit.Entry{UserID: &uid, Actor: "bench", Action: audit.LoginSuccess, Entity: "user", EntityID: "1",
		IP: "203.0.113.9", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0", RequestID: "req",
		Details: map[string]any{"method": "password", "session": "dropped"}}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if err := audit.Record(ctx, tn.App, entry); err != nil {
			b.Fatal(err)
		}
	}
}
