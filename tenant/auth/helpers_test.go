package auth_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/auth/session"
	"github.com/tenancy/platform/tenant/mail"
)

// strongPassword is a password the policy accepts (zxcvbn score 4).
const strongPassword = "violet kettle drums Orbit 93"

// mailbox sends through the real SMTP sender to the dev Mailpit and keeps
// what it was asked to send, so a test can also tell that nothing was.
type mailbox struct {
	smtp *mail.SMTP
	mu   sync.Mutex
	sent []auth.Mail
}

func newMailbox(t testing.TB) *mailbox {
	t.Helper()
	s, err := mail.New(mail.Config{URL: platformtest.SMTPURL(t), From: "no-reply@platform.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	return &mailbox{smtp: s}
}

func (m *mailbox) Send(ctx context.Context, msg auth.Mail) error {
	m.mu.Lock()
	m.sent = append(m.sent, msg)
	m.mu.Unlock()
	return m.smtp.Send(ctx, msg)
}

func (m *mailbox) all() []auth.Mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]auth.Mail(nil), m.sent...)
}

// clock is a settable Config.Now (real time plus an offset).
type clock struct{ off atomic.Int64 }

func (c *clock) Now() time.Time             { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) Advance(d time.Duration)    { c.off.Add(int64(d)) }
func (c *clock) config(cfg *auth.Config)    { cfg.Now = c.Now }
func withCost(n int) func(*auth.Config)     { return func(c *auth.Config) { c.BcryptCost = n } }
func withFailures(n int) func(*auth.Config) { return func(c *auth.Config) { c.MaxFailures = n } }

// fixture is a real provisioned tenant, the real Redis session store and
// the service over them.
type fixture struct {
	ctx   context.Context
	tn    *tenanttest.Tenant
	store *session.Store
	svc   *auth.Service
	mail  *mailbox
	clock *clock
	admin *auth.Principal // the first admin, its password changed
}

func redisClient(t testing.TB) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(platformtest.Getenv(t, "REDIS_URL"))
	if err != nil {
		t.Fatal(err)
	}
	opts.PoolSize = 4
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

func newFixture(t testing.TB, kind tenant.Kind, opts ...func(*auth.Config)) *fixture {
	t.Helper()
	e := tenanttest.New(t)
	f := &fixture{ctx: e.Ctx, tn: e.Create(t, kind), mail: newMailbox(t), clock: &clock{}}
	f.store = session.New(redisClient(t), session.Options{})
	t.Cleanup(func() { f.store.RevokeTenant(context.Background(), f.tn.ID) })
	cfg := auth.Config{BcryptCost: 4, AllowWeakCost: true}
	f.clock.config(&cfg)
	for _, o := range opts {
		o(&cfg)
	}
	svc, err := auth.NewService(cfg, f.store, f.mail)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	f.svc = svc
	res := f.login(t, f.tn.AdminUsername, f.tn.AdminPassword)
	if !res.User.MustChangePassword {
		t.Fatal("the first admin need not change its password")
	}
	p := f.principal(t, res)
	if err := f.svc.ChangePassword(f.ctx, f.env(p), f.tn.AdminPassword, strongPassword); err != nil {
		t.Fatalf("first admin changes its password: %v", err)
	}
	f.admin = f.principal(t, res)
	if f.admin.MustChangePassword || !f.admin.Can(auth.PermUsersManage) {
		t.Fatalf("admin principal = %+v", f.admin)
	}
	return f
}

// env is a request's Env as p (nil: anonymous).
func (f *fixture) env(p *auth.Principal) auth.Env {
	return auth.Env{Tenant: f.tn.Tenant, DB: f.tn.App, IP: "203.0.113.7", UserAgent: "auth-test",
		RequestID: "req-" + platformtest.Rand(6), BaseURL: "https://" + f.tn.Slug + ".example.com", Principal: p}
}

func (f *fixture) login(t testing.TB, user, pw string) auth.LoginResult {
	t.Helper()
	res, err := f.svc.Login(f.ctx, f.env(nil), user, pw)
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return res
}

// principal reads the session of a login back from Redis, as the
// middleware does for each request.
func (f *fixture) principal(t testing.TB, res auth.LoginResult) *auth.Principal {
	t.Helper()
	info, _, err := f.store.Check(f.ctx, f.tn.ID, res.Secret, "203.0.113.7", nil)
	if err != nil {
		t.Fatalf("check session: %v", err)
	}
	return &auth.Principal{TenantID: f.tn.ID, UserID: info.UserID, Username: info.Username, Roles: info.Roles,
		Permissions: info.Permissions, MustChangePassword: info.MustChangePassword, Language: info.Language, Session: info.ID}
}

// user creates a user with roles and strongPassword, no change required,
// and returns it logged in.
func (f *fixture) user(t testing.TB, name string, roles ...string) (auth.User, *auth.Principal) {
	t.Helper()
	u, err := f.svc.CreateUser(f.ctx, f.env(f.admin), auth.NewUser{Username: name, FullName: "User " + name,
		Email: platformtest.MailRecipient(name), Password: strongPassword, Roles: roles})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return u, f.principal(t, f.login(t, name, strongPassword))
}

// dbUser reads lockout columns straight from the tenant database.
func (f *fixture) dbUser(t testing.TB, id int64) (failed int, locked bool, lockedAt *time.Time, hash string) {
	t.Helper()
	err := f.tn.App.QueryRow(f.ctx, `SELECT failed_attempts, locked, locked_at, password_hash FROM users WHERE id = $1`, id).
		Scan(&failed, &locked, &lockedAt, &hash)
	if err != nil {
		t.Fatal(err)
	}
	return
}

// auditCount counts audit rows of action with outcome about user id.
func (f *fixture) auditCount(t testing.TB, action, outcome string, id int64) int {
	t.Helper()
	var n int
	err := f.tn.App.QueryRow(f.ctx, `SELECT count(*) FROM audit_log WHERE action = $1 AND outcome = $2 AND entity = 'user' AND entity_id = $3`,
		action, outcome, idStr(id)).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func idStr(id int64) string { return strconv.FormatInt(id, 10) }

// wantCode fails unless err carries code.
func wantCode(t testing.TB, err error, code, what string) {
	t.Helper()
	if got := tenant.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v (code %q), want %s", what, err, got, code)
	}
}

// wantField fails unless err is a validation error on field.
func wantField(t testing.TB, err error, field, what string) {
	t.Helper()
	wantCode(t, err, tenant.EValidation, what)
	if _, ok := tenant.ErrorFields(err)[field]; !ok {
		t.Fatalf("%s: fields %v, want one on %s", what, tenant.ErrorFields(err), field)
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }
