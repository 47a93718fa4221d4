package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/auth/session"
)

// sessionStore is the real session store over the test Redis; each test's
// tenants have random ids, so nothing is shared with other tests.
func sessionStore(t *testing.T) (*session.Store, *redis.Client) {
	t.Helper()
	opts, err := redis.ParseURL(platformtest.Getenv(t, "REDIS_URL"))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	return session.New(rdb, session.Options{}), rdb
}

// login makes n sessions for tenant tid.
func login(t *testing.T, s *session.Store, tid string, n int) {
	t.Helper()
	for i := range n {
		_, _, err := s.Create(context.Background(), tid, auth.SessionData{UserID: int64(i + 1), Username: fmt.Sprint("u", i)}, auth.Policy{})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func liveSessions(t *testing.T, s *session.Store, tid string) int {
	t.Helper()
	l, err := s.List(context.Background(), tid, 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(l)
}

// loginAs tries the tenant's login role with password.
func (e *env) loginAs(t *testing.T, tn *tenant.Tenant, password string) error {
	t.Helper()
	c := e.admin.ConnConfig(tn.Database, "")
	c.User = tenant.AppRole(tn.Slug)
	c.Password = password
	conn, err := pgx.ConnectConfig(e.ctx, c)
	if err != nil {
		return err
	}
	return conn.Close(e.ctx)
}

func (e *env) read(t *testing.T, slug string) *secrets.Versioned {
	t.Helper()
	v, err := e.vault.Read(e.ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (e *env) secretsVersion(t *testing.T, slug string) int64 {
	t.Helper()
	tn, err := e.cat.TenantBySlug(e.ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	return tn.SecretsVersion
}

func (e *env) operatorRows(t *testing.T, slug, outcome string) int {
	t.Helper()
	var n int
	err := e.cat.Pool().QueryRow(e.ctx, `SELECT count(*) FROM operator_audit WHERE action = 'secrets.rotate' AND tenant_slug = $1 AND outcome = $2`, slug, outcome).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// tenantAuditRows returns the details of the secrets.rotated rows of a
// tenant's own audit log, oldest first, as stored (text).
func (e *env) tenantAuditRows(t *testing.T, tn *tenant.Tenant) (actors, details []string) {
	t.Helper()
	err := e.admin.In(e.ctx, tn.Database, "", func(c *pgx.Conn) error {
		rows, err := c.Query(e.ctx, `SELECT actor, details::text FROM audit_log WHERE action = 'secrets.rotated' ORDER BY id`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var a, d string
			if err := rows.Scan(&a, &d); err != nil {
				return err
			}
			actors, details = append(actors, a), append(details, d)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return actors, details
}

func TestRotateEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store, _ := sessionStore(t)
	r := e.svc.Rotator(store)
	res := e.create(t, tenant.Restaurant)
	tn := res.Tenant
	ctx := tenant.WithActor(e.ctx, tenant.Actor{Name: "cli:alice", Source: "cli"})
	before := e.read(t, tn.Slug)
	login(t, store, tn.ID, 3)

	// Token secrets: every session ends; db_password and the rest stay.
	rot, err := r.Rotate(ctx, tn.Slug, []string{"jwt_secret", " csrf_secret", "jwt_secret"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rot.Rotated, []string{"csrf_secret", "jwt_secret"}) || rot.SessionsEnded != 3 || rot.VaultVersion != before.Version+1 {
		t.Fatalf("rotation: %+v", rot)
	}
	if n := liveSessions(t, store, tn.ID); n != 0 {
		t.Errorf("%d sessions live after rotating jwt_secret", n)
	}
	after := e.read(t, tn.Slug)
	for name, old := range before.Values {
		changed := after.Values[name] != old
		if want := name == "jwt_secret" || name == "csrf_secret"; changed != want {
			t.Errorf("%s changed: %v, want %v", name, changed, want)
		}
	}
	if !after.RotatedAt("jwt_secret").After(before.RotatedAt("jwt_secret")) || !after.RotatedAt("db_password").Equal(before.RotatedAt("db_password")) {
		t.Errorf("ages: jwt %v → %v, db %v → %v", before.RotatedAt("jwt_secret"), after.RotatedAt("jwt_secret"),
			before.RotatedAt("db_password"), after.RotatedAt("db_password"))
	}
	if len(after.Pending) != 0 {
		t.Errorf("pending after a finished rotation: %v", after.Pending)
	}
	if v := e.secretsVersion(t, tn.Slug); v != 1 {
		t.Errorf("catalog secrets_version %d, want 1", v)
	}

	// db_password: the role takes the new one, the old one stops working,
	// no session ends, and the previous password is gone from Vault.
	login(t, store, tn.ID, 2)
	oldPW := after.Values["db_password"]
	rot, err = r.Rotate(ctx, tn.Slug, []string{"db_password"})
	if err != nil {
		t.Fatal(err)
	}
	if rot.SessionsEnded != 0 || rot.VaultVersion != after.Version+2 || liveSessions(t, store, tn.ID) != 2 {
		t.Errorf("db_password rotation: %+v, %d sessions live", rot, liveSessions(t, store, tn.ID))
	}
	final := e.read(t, tn.Slug)
	if _, ok := final.Values[secrets.PreviousPassword]; ok || final.Values["db_password"] == oldPW || final.Version != rot.VaultVersion {
		t.Errorf("Vault after db_password rotation: version %d, keys %v", final.Version, keysOf(final.Values))
	}
	if err := e.loginAs(t, tn, final.Values["db_password"]); err != nil {
		t.Errorf("new password refused: %v", err)
	}
	if err := e.loginAs(t, tn, oldPW); pgCode(err) != pgerrcode.InvalidPassword {
		t.Errorf("old password: %v, want invalid_password", err)
	}

	// Everything (the default): sessions end again.
	rot, err = r.Rotate(ctx, tn.Slug, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rot.Rotated) != 5 || rot.SessionsEnded != 2 {
		t.Errorf("rotate all: %+v", rot)
	}
	if v := e.secretsVersion(t, tn.Slug); v != 3 {
		t.Errorf("catalog secrets_version %d, want 3", v)
	}

	// Audit: three rows in the tenant's log, names only; three operator rows.
	actors, details := e.tenantAuditRows(t, tn)
	if len(details) != 3 || actors[0] != "operator:cli:cli:alice" {
		t.Fatalf("tenant audit: %v %v", actors, details)
	}
	if !strings.Contains(details[0], `"rotated": ["csrf_secret", "jwt_secret"]`) || !strings.Contains(details[0], `"logged_out": 3`) {
		t.Errorf("tenant audit details: %s", details[0])
	}
	for _, d := range details {
		for _, v := range append(slices.Collect(mapValues(before.Values)), slices.Collect(mapValues(final.Values))...) {
			if strings.Contains(d, v) {
				t.Errorf("a secret value is in the tenant audit: %s", d)
			}
		}
	}
	if n := e.operatorRows(t, tn.Slug, "succeeded"); n != 3 {
		t.Errorf("%d operator audit rows, want 3", n)
	}

	// Ages, as tenant show reports them.
	ages, err := e.svc.SecretAges(e.ctx, tn.Slug)
	if err != nil || len(ages) != 5 {
		t.Fatalf("ages: %v %v", ages, err)
	}
	for _, a := range ages {
		if a.AgeDays != 0 || time.Since(a.RotatedAt) > time.Minute || a.DueAt.Sub(a.RotatedAt) != 90*24*time.Hour || a.Pending {
			t.Errorf("age %+v", a)
		}
	}
	b, _ := json.Marshal(ages)
	for _, v := range final.Values {
		if strings.Contains(string(b), v) {
			t.Error("a secret value is in the ages")
		}
	}
}

func keysOf(m map[string]string) []string {
	return slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
}

func mapValues(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

// Refusals change nothing: no Vault version, no catalog bump, no session
// ended, and an operator audit row that says it failed.
func TestRotateRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store, _ := sessionStore(t)
	tn := e.create(t, tenant.Institution).Tenant
	login(t, store, tn.ID, 1)
	v0 := e.read(t, tn.Slug).Version
	var bumps int64
	unchanged := func(what string) {
		t.Helper()
		if v := e.read(t, tn.Slug).Version; v != v0 {
			t.Errorf("%s: Vault version %d, want %d", what, v, v0)
		}
		if v := e.secretsVersion(t, tn.Slug); v != bumps {
			t.Errorf("%s: catalog secrets_version %d, want %d", what, v, bumps)
		}
		if n := liveSessions(t, store, tn.ID); n != 1 {
			t.Errorf("%s: %d sessions live", what, n)
		}
	}

	_, err := e.svc.Rotator(store).Rotate(e.ctx, tn.Slug, []string{"jwt_secret", "root_password"})
	if tenant.ErrorCode(err) != tenant.EInvalid || !strings.Contains(err.Error(), `"root_password"`) ||
		!strings.Contains(err.Error(), "api_key_internal, csrf_secret, db_password, jwt_secret, session_secret") {
		t.Errorf("unknown name: %v", err)
	}
	unchanged("unknown name")

	// No Redis configured: refused for the secrets that end sessions...
	noRedis := e.svc.Rotator(nil)
	for _, only := range [][]string{nil, {"session_secret"}, {"db_password", "csrf_secret"}} {
		if _, err := noRedis.Rotate(e.ctx, tn.Slug, only); tenant.ErrorCode(err) != tenant.EUnavailable || !strings.Contains(err.Error(), "REDIS_URL") {
			t.Errorf("%v without sessions: %v", only, err)
		}
	}
	unchanged("without Redis")
	// ...but not for the others.
	if _, err := noRedis.Rotate(e.ctx, tn.Slug, []string{"api_key_internal"}); err != nil {
		t.Errorf("api_key_internal without Redis: %v", err)
	}
	v0, bumps = v0+1, bumps+1

	// A suspended tenant is rotated; a tenant in maintenance, provisioning
	// or deleted is not; an unknown one is not found.
	if err := e.svc.Suspend(e.ctx, tn.Slug); err != nil {
		t.Fatal(err)
	}
	if _, err := noRedis.Rotate(e.ctx, tn.Slug, []string{"api_key_internal"}); err != nil {
		t.Errorf("suspended: %v", err)
	}
	v0, bumps = v0+1, bumps+1
	for _, st := range []tenant.Status{tenant.StatusMaintenance, tenant.StatusProvisioning, tenant.StatusDeleted} {
		if _, err := e.cat.Pool().Exec(e.ctx, `UPDATE tenants SET status = $2 WHERE slug = $1`, tn.Slug, string(st)); err != nil {
			t.Fatal(err)
		}
		if _, err := noRedis.Rotate(e.ctx, tn.Slug, []string{"api_key_internal"}); tenant.ErrorCode(err) != tenant.EConflict {
			t.Errorf("%s: %v, want conflict", st, err)
		}
	}
	unchanged("not active")
	if _, err := noRedis.Rotate(e.ctx, "no-such-tenant", []string{"api_key_internal"}); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Errorf("unknown tenant: %v", err)
	}
	if n := e.operatorRows(t, tn.Slug, "failed"); n != 7 {
		t.Errorf("%d failed operator rows, want 7", n)
	}
	if _, err := e.cat.Pool().Exec(e.ctx, `UPDATE tenants SET status = 'suspended' WHERE slug = $1`, tn.Slug); err != nil {
		t.Fatal(err)
	}
}

// A writer that comes between the read and the check-and-set write makes
// the rotation lose cleanly: a conflict, and nothing of it happened (the
// role keeps its password, sessions stay, no catalog bump, no pending mark).
func TestRotateLosesToAConcurrentWriter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store, _ := sessionStore(t)
	tn := e.create(t, tenant.Restaurant).Tenant
	login(t, store, tn.ID, 2)
	r := e.svc.Rotator(store)
	var other int
	r.hook = func(step string) error {
		if step == rotPending { // the other writer: an operator by hand, an older binary
			cur := e.read(t, tn.Slug)
			v, err := e.vault.Write(e.ctx, tn.Slug, secrets.With(cur.Values, map[string]string{"api_key_internal": "by-hand"}), cur.Version)
			other = v
			return err
		}
		return nil
	}
	before := e.read(t, tn.Slug)
	_, err := r.Rotate(e.ctx, tn.Slug, []string{"db_password", "jwt_secret"})
	if tenant.ErrorCode(err) != tenant.EConflict {
		t.Fatalf("rotation against a concurrent writer: %v, want conflict", err)
	}
	now := e.read(t, tn.Slug)
	if now.Version != other || now.Values["db_password"] != before.Values["db_password"] || now.Values["jwt_secret"] != before.Values["jwt_secret"] || len(now.Pending) != 0 {
		t.Errorf("Vault after the lost rotation: version %d (other wrote %d), pending %v", now.Version, other, now.Pending)
	}
	if err := e.loginAs(t, tn, before.Values["db_password"]); err != nil {
		t.Errorf("the role's password changed: %v", err)
	}
	if n := liveSessions(t, store, tn.ID); n != 2 {
		t.Errorf("%d sessions live, want 2", n)
	}
	if v := e.secretsVersion(t, tn.Slug); v != 0 {
		t.Errorf("catalog bumped: %d", v)
	}
	if _, details := e.tenantAuditRows(t, tn); len(details) != 0 {
		t.Errorf("tenant audit rows of a rotation that did not happen: %v", details)
	}
	// The next rotation goes through.
	r.hook = nil
	if _, err := r.Rotate(e.ctx, tn.Slug, []string{"db_password", "jwt_secret"}); err != nil {
		t.Fatal(err)
	}
}

// A rotation that dies after writing Vault is finished by the next
// rotation of the tenant, whatever that one rotates: the role gets the
// password Vault holds, sessions end, the pending mark goes. Meanwhile
// Vault keeps the role's working password as db_password_previous.
func TestRotateResumesAfterACrash(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store, _ := sessionStore(t)
	tn := e.create(t, tenant.Restaurant).Tenant
	crash := errors.New("crash")
	for _, at := range []string{rotVault, rotRole, rotBump, rotEnd} {
		t.Run(at, func(t *testing.T) {
			login(t, store, tn.ID, 2)
			before := e.read(t, tn.Slug)
			bumps := e.secretsVersion(t, tn.Slug)
			r := e.svc.Rotator(store)
			r.hook = func(step string) error {
				if step == at {
					return crash
				}
				return nil
			}
			if _, err := r.Rotate(e.ctx, tn.Slug, []string{"db_password", "session_secret"}); !errors.Is(err, crash) {
				t.Fatalf("crash at %s: %v", at, err)
			}
			mid := e.read(t, tn.Slug)
			if !slices.Equal(mid.Pending, []string{"db_password", "session_secret"}) || mid.Values["db_password"] == before.Values["db_password"] {
				t.Fatalf("after the crash: pending %v, version %d", mid.Pending, mid.Version)
			}
			if at == rotVault {
				// The role still has the old password, which Vault keeps.
				if mid.Values[secrets.PreviousPassword] != before.Values["db_password"] {
					t.Error("the previous password is not kept while the role has it")
				}
				if err := e.loginAs(t, tn, before.Values["db_password"]); err != nil {
					t.Errorf("old password refused before the ALTER: %v", err)
				}
				ages, err := e.svc.SecretAges(e.ctx, tn.Slug)
				if err != nil || !slices.ContainsFunc(ages, func(a SecretAge) bool { return a.Name == "db_password" && a.Pending }) {
					t.Errorf("ages do not show the pending rotation: %v %v", ages, err)
				}
			}

			r.hook = nil
			rot, err := r.Rotate(e.ctx, tn.Slug, []string{"api_key_internal"})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rot.Resumed, []string{"db_password", "session_secret"}) || !slices.Equal(rot.Rotated, []string{"api_key_internal"}) {
				t.Errorf("resume: %+v", rot)
			}
			final := e.read(t, tn.Slug)
			if _, ok := final.Values[secrets.PreviousPassword]; ok || len(final.Pending) != 0 || final.Values["db_password"] != mid.Values["db_password"] {
				t.Errorf("after the resume: keys %v, pending %v", keysOf(final.Values), final.Pending)
			}
			if err := e.loginAs(t, tn, final.Values["db_password"]); err != nil {
				t.Errorf("Vault's password refused after the resume: %v", err)
			}
			if err := e.loginAs(t, tn, before.Values["db_password"]); pgCode(err) != pgerrcode.InvalidPassword {
				t.Errorf("old password after the resume: %v", err)
			}
			if n := liveSessions(t, store, tn.ID); n != 0 {
				t.Errorf("%d sessions live after the resume", n)
			}
			if v := e.secretsVersion(t, tn.Slug); v <= bumps {
				t.Errorf("catalog not bumped: %d", v)
			}
		})
	}
	// A mark whose version was never written is dropped; nothing happens.
	cur := e.read(t, tn.Slug)
	if err := e.vault.SetMeta(e.ctx, tn.Slug, map[string]string{secrets.MetaPending: "jwt_secret", secrets.MetaPendingFrom: fmt.Sprint(cur.Version)}); err != nil {
		t.Fatal(err)
	}
	login(t, store, tn.ID, 1)
	rot, err := e.svc.Rotator(store).Rotate(e.ctx, tn.Slug, []string{"api_key_internal"})
	if err != nil || len(rot.Resumed) != 0 || liveSessions(t, store, tn.ID) != 1 || len(e.read(t, tn.Slug).Pending) != 0 {
		t.Errorf("unwritten mark: %+v %v", rot, err)
	}
}

// age sets every secret's rotated_at days ago.
func (e *env) age(t *testing.T, slug string, days int) {
	t.Helper()
	if err := e.vault.SetMeta(e.ctx, slug, secrets.RotatedMeta(e.svc.tmpl.Names(), time.Now().Add(-time.Duration(days)*24*time.Hour))); err != nil {
		t.Fatal(err)
	}
}

// Several replicas check at once: each due secret is rotated exactly once;
// tenants not due, or with rotation off, are left alone.
func TestRotateDueOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store, _ := sessionStore(t)
	due := e.create(t, tenant.Restaurant).Tenant
	partly := e.create(t, tenant.Restaurant).Tenant
	fresh := e.create(t, tenant.Institution).Tenant
	off := e.create(t, tenant.Institution).Tenant
	e.age(t, due.Slug, 91)
	e.age(t, off.Slug, 400)
	// partly: only api_key_internal is due (its own setting: 30 days).
	if err := e.vault.SetMeta(e.ctx, partly.Slug, secrets.RotatedMeta([]string{"api_key_internal"}, time.Now().Add(-31*24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	for slug, days := range map[string]int{partly.Slug: 30, off.Slug: 0} {
		if _, err := e.cat.Pool().Exec(e.ctx, `UPDATE tenants SET settings = settings || jsonb_build_object('secret_rotation_days', $2::int) WHERE slug = $1`, slug, days); err != nil {
			t.Fatal(err)
		}
	}
	login(t, store, due.ID, 2)
	login(t, store, partly.ID, 2)
	before := map[string]int{}
	for _, tn := range []*tenant.Tenant{due, partly, fresh, off} {
		before[tn.Slug] = e.read(t, tn.Slug).Version
	}

	const replicas = 4
	var wg sync.WaitGroup
	results := make([][]*Rotation, replicas)
	errs := make([]error, replicas)
	start := make(chan struct{})
	for i := range replicas {
		r := e.svc.Rotator(store) // a replica's own rotator
		wg.Go(func() {
			<-start
			results[i], _, errs[i] = r.RotateDue(e.ctx)
		})
	}
	close(start)
	wg.Wait()
	var rotated []string
	for i := range replicas {
		if errs[i] != nil {
			t.Errorf("replica %d: %v", i, errs[i])
		}
		for _, r := range results[i] {
			rotated = append(rotated, r.Slug+":"+strings.Join(r.Rotated, ","))
		}
	}
	slices.Sort(rotated)
	want := []string{due.Slug + ":api_key_internal,csrf_secret,db_password,jwt_secret,session_secret", partly.Slug + ":api_key_internal"}
	slices.Sort(want)
	if !slices.Equal(rotated, want) {
		t.Errorf("rotated %v, want %v", rotated, want)
	}
	// Vault versions: due +2 (db_password writes twice), partly +1, others 0.
	for slug, delta := range map[string]int{due.Slug: 2, partly.Slug: 1, fresh.Slug: 0, off.Slug: 0} {
		if v := e.read(t, slug).Version; v != before[slug]+delta {
			t.Errorf("%s: Vault version %d, want %d", slug, v, before[slug]+delta)
		}
		wantRows := min(delta, 1)
		if n := e.operatorRows(t, slug, "succeeded"); n != wantRows {
			t.Errorf("%s: %d operator rows, want %d", slug, n, wantRows)
		}
	}
	if liveSessions(t, store, due.ID) != 0 || liveSessions(t, store, partly.ID) != 2 {
		t.Errorf("sessions: due %d (want 0), partly %d (want 2)", liveSessions(t, store, due.ID), liveSessions(t, store, partly.ID))
	}
	if err := e.loginAs(t, due, e.read(t, due.Slug).Values["db_password"]); err != nil {
		t.Errorf("due tenant's new password: %v", err)
	}
	// Checked again: nothing is due any more.
	again, _, err := e.svc.Rotator(store).RotateDue(e.ctx)
	if err != nil || len(again) != 0 {
		t.Errorf("second check: %v %v", again, err)
	}
}

func TestRotationDays(t *testing.T) {
	for _, c := range []struct {
		v    any
		want int
	}{{nil, 90}, {float64(30), 30}, {float64(0), 0}, {float64(-1), 90}, {float64(1.5), 90}, {"30", 90}, {true, 90}} {
		tn := &tenant.Tenant{Settings: map[string]any{}}
		if c.v != nil {
			tn.Settings[SettingRotationDays] = c.v
		}
		if got := RotationDays(tn); got != c.want {
			t.Errorf("RotationDays(%v) = %d, want %d", c.v, got, c.want)
		}
	}
}
