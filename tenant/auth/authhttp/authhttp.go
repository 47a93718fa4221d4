// Package authhttp is the identity API of a tenant host: login and
// logout, the current user, password change and reset, user management,
// sessions and the audit log (issue 11). It also gives other tenant routes
// their authentication (Handlers.Authenticate) and permission checks
// (Require).
//
// A request is authenticated by a JWT, from the Authorization header
// (Bearer) or the HttpOnly `session` cookie, signed with the tenant's
// jwt_secret and naming the tenant and a Redis session; Sessions.Check
// validates the session, records the activity and counts the request
// against the rate limit in one Redis round trip, and no database is
// touched. Cookie requests that change state also need the session's CSRF
// token (X-CSRF-Token); bearer requests cannot be forged by a browser and
// are exempt.
package authhttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/httpx"
)

// Secrets reads a tenant's secrets (tenant/secretcache).
type Secrets interface {
	Get(ctx context.Context, slug string) (map[string]string, error)
}

// Pools hands out connections to tenant databases (tenant/pool).
type Pools interface {
	Acquire(ctx context.Context, t *tenant.Tenant) (*pgxpool.Conn, error)
}

// Config wires the handlers.
type Config struct {
	Service  *auth.Service
	Sessions auth.Sessions
	Secrets  Secrets
	Pools    Pools
	Proxies  httpx.Proxies
	// Tenant returns the request's tenant (router.FromContext).
	Tenant func(c *fiber.Ctx) *tenant.Tenant
	// SameTenant reports whether a CORS origin names one of t's own hosts
	// (the router's resolver). Nil: only the request's own host.
	SameTenant func(origin string, t *tenant.Tenant) bool
	// LoginLimit bounds login, reset request and reset confirm together,
	// per client IP (the key is set per request). Zero: 20 per 60 s.
	LoginLimit auth.Limit
	// DefaultLimit bounds every authenticated request per client IP,
	// counted by Sessions.Check in the same round trip. Zero: 300 per
	// 60 s; a Period with Rate 0, or a negative Rate: off.
	DefaultLimit auth.Limit
	Logger       *slog.Logger
	Now          func() time.Time // token expiry; default time.Now
}

// Names on the wire.
const (
	CookieName = "session"
	HeaderCSRF = "X-CSRF-Token"
)

// Handlers serves the identity API; Routes returns it.
type Handlers struct {
	cfg    Config
	tokens auth.TokenCache
}

// LimitDefaults fills the login and default limits as Config documents
// them (20 and 300 a minute). The console counts in the API's buckets and
// takes its defaults from here, so both stay one limit.
func LimitDefaults(login, def auth.Limit) (auth.Limit, auth.Limit) {
	if login.Period <= 0 {
		login.Period = time.Minute
		if login.Rate == 0 {
			login.Rate = 20
		}
	}
	if def.Period <= 0 {
		def.Period = time.Minute
		if def.Rate == 0 {
			def.Rate = 300
		}
	}
	return login, def
}

// withDefaults fills the limits as Config documents.
func withDefaults(cfg Config) Config {
	cfg.LoginLimit, cfg.DefaultLimit = LimitDefaults(cfg.LoginLimit, cfg.DefaultLimit)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg
}

// Routes mounts the identity API on r (inside the router's tenant
// context: router.Config.Routes), with the security headers and CORS on
// every response of the tenant's routes (also errors and 404s), and
// returns the handlers, whose Authenticate guards other routes.
func Routes(r fiber.Router, cfg Config) *Handlers {
	h := &Handlers{cfg: withDefaults(cfg)}
	// The router sets the security headers on every response of the app
	// (router.New); a test app without it gets them here.
	r.Use(httpx.SecurityHeaders(h.isTLS), httpx.CORS(h.allowOrigin))

	open := h.authenticate(false) // allowed while the password must change
	authed := h.authenticate(true)

	r.Post("/api/auth/login", h.login)
	r.Post("/api/auth/logout", open, h.logout)
	r.Get("/api/me", open, h.me)
	r.Patch("/api/me", open, h.updateMe)
	r.Post("/api/auth/change-password", open, h.changePassword)
	r.Post("/api/auth/password-reset", h.requestReset)
	r.Post("/api/auth/password-reset/confirm", h.confirmReset)

	r.Get("/api/users", authed, Require(auth.PermUsersRead), h.listUsers)
	r.Post("/api/users", authed, Require(auth.PermUsersManage), h.createUser)
	r.Get("/api/users/:id", authed, h.onUser(h.cfg.Service.GetUser)) // users.read, or oneself: the service decides
	r.Patch("/api/users/:id", authed, Require(auth.PermUsersManage), h.updateUser)
	r.Delete("/api/users/:id", authed, Require(auth.PermUsersManage), h.deleteUser)
	r.Post("/api/users/:id/unlock", authed, Require(auth.PermUsersManage), h.onUser(h.cfg.Service.Unlock))
	r.Post("/api/users/:id/password-reset", authed, Require(auth.PermUsersManage), h.issueReset)

	r.Get("/api/sessions", authed, h.listSessions)
	r.Delete("/api/sessions/:id", authed, h.revokeSession)

	r.Get("/api/audit", authed, Require(auth.PermAuditRead), h.audit)
	return h
}

// state is what authentication leaves for the handlers: one Locals entry.
type state struct {
	principal  *auth.Principal
	session    auth.SessionInfo
	secrets    map[string]string
	ip         string
	fromCookie bool
}

type stateKey struct{}

func stateOf(c *fiber.Ctx) *state {
	s, _ := c.Locals(stateKey{}).(*state)
	return s
}

// Principal returns who an authenticated request acts as (nil before
// Authenticate, or on a route without it).
func Principal(c *fiber.Ctx) *auth.Principal {
	if s := stateOf(c); s != nil {
		return s.principal
	}
	return nil
}

// Authenticate is the middleware of authenticated routes: 401 without a
// valid token and live session, 403 for a cookie write without the CSRF
// token and for a user who must change the password first, 429 past the
// default rate limit, 503 when Redis or the tenant's secrets cannot be
// reached. It sets the Principal.
func (h *Handlers) Authenticate() fiber.Handler { return h.authenticate(true) }

// Require answers 403 forbidden unless the principal holds perm (401
// when the route has no Authenticate before it).
func Require(perm string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := Principal(c)
		if p == nil {
			return auth.ErrNoSession
		}
		if !p.Can(perm) {
			return tenant.Errorf(tenant.EForbidden, "you do not have permission to do this (%s)", perm)
		}
		return c.Next()
	}
}

var (
	errCSRF       = tenant.Errorf(tenant.EForbidden, "missing or invalid CSRF token")
	errMustChange = tenant.Errorf(tenant.EPasswordChangeRequired, "you must change your password before doing anything else")
)

// authenticate returns the middleware; gate refuses users who must change
// their password (all routes but change-password, logout and /api/me).
func (h *Handlers) authenticate(gate bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := h.authn(c, gate); err != nil {
			// A dead session's cookie is cleared: the browser stops sending it.
			if _, fromCookie := credentials(c); fromCookie && errors.Is(err, auth.ErrNoSession) {
				h.clearCookie(c)
			}
			return err
		}
		return c.Next()
	}
}

func (h *Handlers) authn(c *fiber.Ctx, gate bool) error {
	if s := stateOf(c); s != nil && s.principal != nil {
		// Authenticated already (Authenticate on a group and a route).
		if gate && s.principal.MustChangePassword {
			return errMustChange
		}
		return nil
	}
	t, err := h.tenant(c)
	if err != nil {
		return err
	}
	tok, fromCookie := credentials(c)
	if tok == "" {
		return auth.ErrNoSession
	}
	sec, err := h.secrets(c, t)
	if err != nil {
		return err
	}
	secret, err := h.tokens.Parse([]byte(sec["jwt_secret"]), t.ID, tok, h.cfg.Now())
	if err != nil {
		return auth.ErrNoSession
	}
	ip := httpx.ClientIP(c, h.cfg.Proxies)
	var lim *auth.Limit
	if h.cfg.DefaultLimit.Rate > 0 {
		l := h.cfg.DefaultLimit
		l.Key = "api:ip:" + ip
		lim = &l
	}
	info, v, err := h.cfg.Sessions.Check(c.UserContext(), t.ID, secret, ip, lim)
	if err != nil {
		return h.sessionsErr(c, err)
	}
	if lim != nil && !v.Allowed {
		return rateLimited(c, v)
	}
	if fromCookie && unsafeMethod(c.Method()) &&
		!auth.CheckCSRF([]byte(sec["csrf_secret"]), t.ID, info.ID, c.Get(HeaderCSRF)) {
		return errCSRF
	}
	p := &auth.Principal{
		TenantID:           t.ID,
		UserID:             info.UserID,
		Username:           info.Username,
		Roles:              info.Roles,
		Permissions:        info.Permissions,
		MustChangePassword: info.MustChangePassword,
		Language:           info.Language,
		Session:            info.ID,
	}
	c.Locals(stateKey{}, &state{principal: p, session: info, secrets: sec, ip: ip, fromCookie: fromCookie})
	if gate && p.MustChangePassword {
		return errMustChange
	}
	return nil
}

// credentials returns the request's token: the Authorization header's
// Bearer token when there is one (a header a browser never adds by itself
// to a cross-site request), else the session cookie. The string is copied:
// it outlives nothing, but the token parser keeps parts of it.
func credentials(c *fiber.Ctx) (tok string, fromCookie bool) {
	if a := c.Get(fiber.HeaderAuthorization); a != "" {
		scheme, rest, ok := strings.Cut(a, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return "", false
		}
		return strings.Clone(strings.TrimSpace(rest)), false
	}
	if v := c.Cookies(CookieName); v != "" {
		return strings.Clone(v), true
	}
	return "", false
}

func unsafeMethod(m string) bool {
	switch m {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return false
	}
	return true
}

// tenant is the request's tenant; a route mounted outside the tenant
// context is a wiring bug.
func (h *Handlers) tenant(c *fiber.Ctx) (*tenant.Tenant, error) {
	if h.cfg.Tenant != nil {
		if t := h.cfg.Tenant(c); t != nil {
			return t, nil
		}
	}
	return nil, fmt.Errorf("authhttp: no tenant in the request context (mounted outside router.Config.Routes?)")
}

// secrets returns the tenant's secrets; unreachable ones are 503
// tenant_unavailable, as the router answers them.
func (h *Handlers) secrets(c *fiber.Ctx, t *tenant.Tenant) (map[string]string, error) {
	sec, err := h.cfg.Secrets.Get(c.UserContext(), t.Slug)
	if err != nil {
		return nil, unavailable(c, "read the tenant's secrets", err)
	}
	return sec, nil
}

// sessionsErr passes the session store's own answers (401 no session,
// 503 unavailable) and makes anything else from it 503 too: its only
// dependency is Redis, and a Redis failure is never a 500.
func (h *Handlers) sessionsErr(c *fiber.Ctx, err error) error {
	switch tenant.ErrorCode(err) {
	case tenant.EUnauthenticated:
		return err
	case tenant.EUnavailable:
		httpx.SetCause(c, fmt.Errorf("sessions: %w", err))
		return err
	}
	httpx.SetCause(c, fmt.Errorf("sessions: %w", err))
	return tenant.Errorf(tenant.EUnavailable, "sessions are temporarily unavailable; try again shortly")
}

// rateLimited is 429 with Retry-After in whole seconds (at least 1).
func rateLimited(c *fiber.Ctx, v auth.Verdict) error {
	secs := max(1, int((v.RetryAfter+time.Second-1)/time.Second))
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
	return tenant.Errorf(tenant.ERateLimited, "too many requests; try again in %d s", secs)
}

// allow counts an unauthenticated request (login, reset) against the
// login limit of the client IP.
func (h *Handlers) allow(c *fiber.Ctx, t *tenant.Tenant, ip string) error {
	if h.cfg.LoginLimit.Rate <= 0 {
		return nil
	}
	l := h.cfg.LoginLimit
	l.Key = "auth:ip:" + ip
	v, err := h.cfg.Sessions.Allow(c.UserContext(), t.ID, l)
	if err != nil {
		return h.sessionsErr(c, err)
	}
	if !v.Allowed {
		return rateLimited(c, v)
	}
	return nil
}

// unavailable is what a tenant user sees of a failure to reach the
// tenant's database or secrets: 503 tenant_unavailable, the cause in the
// access-log line (as router.unavailable does). capacity_exhausted is
// told as such: waiting helps.
func unavailable(c *fiber.Ctx, what string, err error) error {
	if tenant.ErrorCode(err) == tenant.ECapacity {
		return err
	}
	httpx.SetCause(c, fmt.Errorf("%s: %w", what, err))
	return tenant.Errorf(tenant.ETenantUnavailable, "this account is temporarily unavailable; try again shortly")
}

// env is the service's context of this request.
func (h *Handlers) env(c *fiber.Ctx, t *tenant.Tenant) auth.Env {
	e := auth.Env{
		Tenant:    t,
		UserAgent: strings.Clone(c.Get(fiber.HeaderUserAgent)),
		RequestID: httpx.RequestID(c),
		BaseURL:   httpx.BaseURL(c, h.cfg.Proxies),
	}
	if s := stateOf(c); s != nil {
		e.IP, e.Principal = s.ip, s.principal
	} else {
		e.IP = httpx.ClientIP(c, h.cfg.Proxies)
	}
	return e
}

// withDB runs fn with e.DB set to a connection of the tenant's own pool,
// released as soon as fn returns (before the response is written).
func (h *Handlers) withDB(c *fiber.Ctx, e *auth.Env, fn func() error) error {
	conn, err := h.cfg.Pools.Acquire(c.UserContext(), e.Tenant)
	if err != nil {
		return unavailable(c, "acquire a tenant connection", err)
	}
	e.DB = conn
	err = fn()
	e.DB = nil
	conn.Release()
	return err
}

func (h *Handlers) isTLS(c *fiber.Ctx) bool { return httpx.IsTLS(c, h.cfg.Proxies) }

// allowOrigin lets CORS requests come from the tenant's own hosts only.
func (h *Handlers) allowOrigin(c *fiber.Ctx, origin string) bool {
	t, err := h.tenant(c)
	if err != nil {
		return false
	}
	if h.cfg.SameTenant != nil {
		return h.cfg.SameTenant(origin, t)
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	host, err := httpx.Host(c, h.cfg.Proxies)
	return err == nil && tenant.NormalizeHost(u.Host) == tenant.NormalizeHost(host)
}

// setCookie sets the session cookie: host-only (no Domain, so never sent
// to another tenant's subdomain), HttpOnly, SameSite=Lax, Secure over TLS.
func (h *Handlers) setCookie(c *fiber.Ctx, value string, expires time.Time) {
	c.Cookie(SessionCookie(value, expires, h.isTLS(c)))
}

// clearCookie expires the session cookie in the browser.
func (h *Handlers) clearCookie(c *fiber.Ctx) { c.Cookie(ClearedSessionCookie(h.isTLS(c))) }
