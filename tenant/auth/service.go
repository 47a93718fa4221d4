package auth

// The service API (briefs/service-api.md) that tenant/auth/authhttp calls.
// Kept as specified; additions (none change a signature):
//   - Service.Close waits for reset mails still being sent (RequestReset
//     sends in the background so that known and unknown users answer in
//     similar time); call it on shutdown.
//   - NewUser.MustChangePassword is taken as given: the handler defaults it
//     to true when the request omits it.
//   - AdminRole(kind), the kind's top role; EnsureAdmin takes the role.
//   - CheckPasswordPolicy, the password rules on their own.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/audit"
	"github.com/tenancy/platform/tenant/auth/authpg"
)

// Permission codes (seeded per kind by migrations 000004).
const (
	PermUsersRead   = "users.read"
	PermUsersManage = authpg.PermUsersManage
	PermAuditRead   = "audit.read"
	PermSettings    = "settings.manage"
	PermDataRead    = "data.read"
	PermDataWrite   = "data.write"
)

// MinCost is the lowest bcrypt cost New accepts; MinTestCost the lowest
// with AllowWeakCost (bcrypt's own minimum).
const (
	MinCost     = 10
	MinTestCost = 4
)

// Config of the service; cmd/platform fills it from the environment.
type Config struct {
	BcryptCost    int           // PLATFORM_BCRYPT_COST; default 12; below 10 refused unless AllowWeakCost
	AllowWeakCost bool          // tests only: lets BcryptCost go down to MinTestCost
	ResetTTL      time.Duration // default 60 min
	MaxFailures   int           // default 5
	Now           func() time.Time
	Logger        *slog.Logger
}

// Service is tenant identity: login, passwords, reset tokens, users and
// sessions. It holds no tenant state: every call gets its tenant in Env.
type Service struct {
	cfg      Config
	sessions Sessions
	mailer   Mailer
	// dummy is a hash at the current cost, compared against for unknown
	// users so that they take as long as a wrong password.
	dummy string
	mails sync.WaitGroup
}

// NewService checks cfg, fills its defaults and returns the service.
func NewService(cfg Config, sessions Sessions, mailer Mailer) (*Service, error) {
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = DefaultCost
	}
	low := MinCost
	if cfg.AllowWeakCost {
		low = MinTestCost
	}
	if cfg.BcryptCost < low || cfg.BcryptCost > 31 {
		return nil, fmt.Errorf("auth: bcrypt cost %d out of range (%d to 31)", cfg.BcryptCost, low)
	}
	if cfg.ResetTTL == 0 {
		cfg.ResetTTL = 60 * time.Minute
	}
	if cfg.ResetTTL < 0 {
		return nil, errors.New("auth: negative reset token lifetime")
	}
	if cfg.MaxFailures == 0 {
		cfg.MaxFailures = 5
	}
	if cfg.MaxFailures < 1 {
		return nil, errors.New("auth: MaxFailures below 1")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if sessions == nil || mailer == nil {
		return nil, errors.New("auth: sessions and mailer are required")
	}
	pw, err := OneTimePassword()
	if err != nil {
		return nil, err
	}
	dummy, err := HashPassword(pw, cfg.BcryptCost)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, sessions: sessions, mailer: mailer, dummy: dummy}, nil
}

// Close waits for the reset mails still being sent.
func (s *Service) Close() { s.mails.Wait() }

// Env is one request's context for the service.
type Env struct {
	Tenant    *tenant.Tenant
	DB        DBTX // the tenant's connection as the request path's role
	IP        string
	UserAgent string
	RequestID string
	BaseURL   string     // e.g. "https://acme.example.com": for links in mail
	Principal *Principal // nil when not authenticated
}

// LoginResult is a successful login.
type LoginResult struct {
	Secret  string // the secret session id: goes into the JWT only, never logged
	Session SessionInfo
	User    User
}

// PolicyFor reads a tenant's session settings from t.Settings
// ("session_lifetime": "8h", "session_idle": "30m"), defaults 8 h / 30 min;
// a value that does not parse as a positive duration takes the default.
func PolicyFor(t *tenant.Tenant) Policy {
	p := Policy{Lifetime: 8 * time.Hour, Idle: 30 * time.Minute}
	if t == nil {
		return p
	}
	get := func(key string, def time.Duration) time.Duration {
		if s, ok := t.Settings[key].(string); ok {
			if d, err := time.ParseDuration(s); err == nil && d > 0 {
				return d
			}
		}
		return def
	}
	p.Lifetime = get("session_lifetime", p.Lifetime)
	p.Idle = get("session_idle", p.Idle)
	return p
}

// log returns the logger with the request's tenant and request id.
func (s *Service) log(e Env) *slog.Logger {
	l := s.cfg.Logger.With("request_id", e.RequestID)
	if e.Tenant != nil {
		l = l.With("tenant", e.Tenant.Slug)
	}
	return l
}

// record writes an audit row for e on db, with the actor from e.Principal
// unless entry names one. A failure to audit is logged, not returned: the
// action it describes has happened (or been refused) already.
func (s *Service) record(ctx context.Context, e Env, db audit.DBTX, entry audit.Entry) {
	if entry.UserID == nil && entry.Actor == "" && e.Principal != nil {
		id := e.Principal.UserID
		entry.UserID, entry.Actor = &id, e.Principal.Username
	}
	entry.IP, entry.UserAgent, entry.RequestID = e.IP, e.UserAgent, e.RequestID
	if db == nil {
		db = e.DB
	}
	if db == nil {
		s.log(e).Error("audit record without a tenant connection", "action", entry.Action)
		return
	}
	if err := audit.Record(ctx, db, entry); err != nil {
		s.log(e).Error("audit record failed", "action", entry.Action, "err", err)
	}
}

// actor is an audit actor for a user acting on their own account.
func actor(a authpg.Account) (*int64, string) {
	id := a.ID
	return &id, a.Username
}

// require checks that the caller is logged in, needs no password change
// and holds perm; what completes "you do not have permission to …". A
// refusal of a write (action not "") is audited as denied.
func (s *Service) require(ctx context.Context, e Env, perm, what, action string, entityID int64) error {
	p := e.Principal
	if p == nil {
		return ErrNoSession
	}
	if p.MustChangePassword {
		return tenant.Errorf(tenant.EPasswordChangeRequired, "change your password first")
	}
	if !p.Can(perm) {
		if action != "" {
			s.record(ctx, e, nil, audit.Entry{Action: action, Entity: "user", EntityID: idString(entityID),
				Outcome: audit.Denied, Details: map[string]any{"missing_permission": perm}})
		}
		return tenant.Errorf(tenant.EForbidden, "you do not have permission to %s", what)
	}
	return nil
}

func idString(id int64) string {
	if id == 0 {
		return ""
	}
	return fmt.Sprint(id)
}

// toUser is the API view of an account.
func toUser(a authpg.Account) User {
	roles := a.Roles
	if roles == nil {
		roles = []string{}
	}
	return User{ID: a.ID, Username: a.Username, Email: a.Email, FullName: a.FullName, Active: a.Active,
		Locked: a.Locked, MustChangePassword: a.MustChangePassword, Language: a.Language, Roles: roles, LastLoginAt: a.LastLoginAt,
		PasswordChangedAt: a.PasswordChangedAt, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

// inTx runs fn in a transaction on e.DB.
func inTx(ctx context.Context, e Env, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, e.DB, fn)
}

// internal wraps a storage failure: its text goes to the log, never to
// the tenant user (the HTTP layer answers internal or tenant_unavailable).
func internal(what string, err error) error {
	var te *tenant.Error
	if errors.As(err, &te) {
		return err
	}
	return fmt.Errorf("auth: %s: %w", what, err)
}
