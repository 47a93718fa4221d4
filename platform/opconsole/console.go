// Package opconsole is the operator console: server-rendered HTML pages
// on the admin listener at /, beside the JSON operator API (/v1, package
// adminapi), in Spanish and English (tenant/i18n, keys op.*), working
// without JavaScript (it ships none), with the tenant console's ways: one
// layout, a strict Content-Security-Policy (console.CSP), Cache-Control:
// no-store, labelled inputs with their errors bound by aria-describedby,
// a 500 page that shows the request id and never the cause.
//
// # Authentication: the operator token behind a login form
//
// There are no operator accounts. The login form takes the operator token
// (PLATFORM_OPERATOR_TOKEN) and checks it exactly as the API checks a
// bearer token (adminapi.Ops.Authenticate: constant time, the same
// failure counts per client address, 429 past the limit, the same audit
// rows). Why: the admin listener already has one credential, which
// operators keep in their secret store and rotate; per-person passwords
// would be a second credential store for the control plane (hashing,
// reset, lockout) duplicating tenant identity; per-person identity in
// production comes from SSO at the proxy in front of the admin listener.
//
// A login opens a server-side session: a 256-bit random id in the cookie
// op_session (HttpOnly, SameSite=Strict, Path=/, Secure over TLS), stored
// only as its SHA-256 in the catalog's operator_sessions (so every replica
// knows every session), with its client address, user agent and the
// fingerprint of the token it was opened with. A session ends after 8
// hours, after 30 minutes without a request (its last activity is
// written at most once a minute), at logout (the row is deleted), and
// when the operator token changes (the fingerprint no longer matches).
// Ended rows are deleted when found and at every login.
//
// # CSRF
//
// After login every form carries a hidden csrf field: HMAC-SHA256 keyed
// with the operator token over "csrf:" and the session id, so that every
// replica computes it alike and a rotated token invalidates it. Before
// login (the login form, the language switch) the request's origin is
// checked instead (httpx.SameOrigin). A refused form answers 403 and
// changes nothing.
//
// # Operations
//
// Every operation calls what the JSON API calls (adminapi.Ops and the
// provisioning service), with the actor console:<fingerprint> (source
// console), so the catalog's operator audit tells console actions from API
// ones. Long operations (backup, verify, restore, the fleet migration) are
// operator jobs; /jobs/{id} follows one, refreshing itself every two
// seconds while it runs (a meta refresh: no script).
package opconsole

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	"github.com/tenancy/platform/platform/adminapi"
	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/console"
	"github.com/tenancy/platform/tenant/httpx"
	"github.com/tenancy/platform/tenant/i18n"
)

// CSP is the Content-Security-Policy of every console response: the
// tenant console's (no inline script or style).
const CSP = console.CSP

// Cookie and form field names.
const (
	SessionCookie = "op_session"
	LangCookie    = "lang"
	CSRFField     = "csrf"
)

// Session lifetimes.
const (
	SessionTTL  = 8 * time.Hour    // absolute
	IdleTimeout = 30 * time.Minute // without a request
	touchEvery  = time.Minute      // last activity is written at most this often
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config wires the console.
type Config struct {
	// Ops are the operator API's operations (adminapi.NewOps): give the
	// API's app the same (adminapi.NewApp), so failed logins count with
	// failed bearer tokens.
	Ops *adminapi.Ops
	// Messages holds the messages; nil: i18n.NewCatalog().
	Messages *i18n.Catalog
	Now      func() time.Time // sessions' clock; default time.Now
	// PageSize is the tenants list's page; zero: 25.
	PageSize int
}

// Console serves the pages.
type Console struct {
	cfg     Config
	ops     *adminapi.Ops
	api     adminapi.Config
	log     *slog.Logger
	pages   map[string]*template.Template
	proxies httpx.Proxies
}

// The templates, by page.
var templates = []string{"login", "error", "tenants", "tenant_new", "tenant_created", "tenant", "tenant_delete",
	"migrations", "backups", "restore", "job", "import"}

// New builds the console (templates parsed once).
func New(cfg Config) (*Console, error) {
	if cfg.Ops == nil {
		return nil, fmt.Errorf("opconsole: Ops is required")
	}
	if cfg.Messages == nil {
		m, err := i18n.NewCatalog()
		if err != nil {
			return nil, err
		}
		cfg.Messages = m
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 25
	}
	api := cfg.Ops.Config()
	s := &Console{cfg: cfg, ops: cfg.Ops, api: api, log: api.Logger, proxies: api.Proxies, pages: map[string]*template.Template{}}
	base, err := template.New("layout.html").ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("opconsole: parse layout: %w", err)
	}
	for _, name := range templates {
		t, err := base.Clone()
		if err == nil {
			t, err = t.ParseFS(templateFS, "templates/"+name+".html")
		}
		if err != nil {
			return nil, fmt.Errorf("opconsole: parse %s: %w", name, err)
		}
		s.pages[name] = t
	}
	return s, nil
}

// Mount adds the console's routes to the admin app (adminapi.NewApp) and
// returns the console; it fails only on a wiring bug.
func Mount(r fiber.Router, cfg Config) (*Console, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	s.Routes(r)
	return s, nil
}

// Routes adds the console's routes to r.
func (s *Console) Routes(r fiber.Router) {
	h := s.headers
	static, _ := fs.Sub(staticFS, "static") // the directory is embedded
	r.Use("/static", h, filesystem.New(filesystem.Config{Root: http.FS(static), MaxAge: 3600}))
	r.Get("/", h, s.home)
	r.Get("/login", h, s.loginForm)
	r.Post("/login", h, s.login)
	r.Post("/logout", h, s.logout)
	r.Post("/lang", h, s.switchLang)
	a := s.authed
	r.Get("/tenants", h, a, s.tenants)
	r.Get("/tenants/new", h, a, s.tenantNew)
	r.Post("/tenants", h, a, s.form, s.tenantCreate)
	r.Get("/tenants/:slug", h, a, s.tenant)
	r.Post("/tenants/:slug/suspend", h, a, s.form, s.suspend)
	r.Post("/tenants/:slug/resume", h, a, s.form, s.resume)
	r.Get("/tenants/:slug/delete", h, a, s.deleteForm)
	r.Post("/tenants/:slug/delete", h, a, s.form, s.delete)
	r.Post("/tenants/:slug/migrate", h, a, s.form, s.migrateTenant)
	r.Get("/tenants/:slug/backups", h, a, s.backups)
	r.Post("/tenants/:slug/backups", h, a, s.form, s.backupRun)
	r.Post("/backups/:id/verify", h, a, s.form, s.backupVerify)
	r.Get("/backups/:id/restore", h, a, s.restoreForm)
	r.Post("/backups/:id/restore", h, a, s.form, s.restore)
	r.Get("/migrations", h, a, s.migrations)
	r.Post("/migrations", h, a, s.form, s.migrateFleet)
	r.Get("/jobs/:id", h, a, s.job)
	r.Get("/tenants/:slug/import", h, a, s.importForm)
	r.Post("/tenants/:slug/import", h, a, s.importRun) // checks the form token itself, as it streams
	// Any other path is a page too, but the API's stay JSON.
	r.Use(func(c *fiber.Ctx) error {
		if p := c.Path(); p == "/v1" || strings.HasPrefix(p, "/v1/") {
			return c.Next()
		}
		c.Set(fiber.HeaderContentSecurityPolicy, CSP)
		c.Set(fiber.HeaderCacheControl, "no-store")
		return s.fail(c, s.page(c, "op.error.title"), tenant.Errorf(tenant.ENotFound, "no such page"))
	})
}

// headers sets the console's CSP and no-store on every page.
func (s *Console) headers(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentSecurityPolicy, CSP)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Next()
}

// NavItem is one link of the navigation.
type NavItem struct {
	Key     string
	Href    string
	Current bool
}

// Page is the data of every template.
type Page struct {
	L         *i18n.Localizer
	LoggedIn  bool
	CSRF      string // the session's form token (empty before login)
	Path      string // where the language switch returns
	Nav       []NavItem
	Title     string            // message key of the <title> and <h1>
	Notice    string            // message key: what just happened
	FormError string            // message key: why the form was refused
	Reason    string            // the service's own words for a refusal (operator-facing)
	Errors    map[string]string // field → rendered message
	Values    map[string]string // field → value to show again (never the token)
	RequestID string
	Refresh   bool // a running job's page reloads itself
	Data      any
}

// Field is the data of the "input" and "select" templates.
type Field struct {
	Page                    *Page
	Name, Label, Type, Hint string
	Value, Error            string
	Required                bool
	Options                 []string
}

// Field is an input of the page's form, with its value and error.
func (p *Page) Field(name, label, typ, hint string, required bool) Field {
	return Field{Page: p, Name: name, Label: label, Type: typ, Hint: hint, Value: p.Values[name], Error: p.Errors[name], Required: required}
}

// Select is a select of options (values; labelled op.value.<value>).
func (p *Page) Select(name, label string, required bool, options []string) Field {
	return Field{Page: p, Name: name, Label: label, Value: p.Values[name], Error: p.Errors[name], Required: required, Options: options}
}

// ErrorID is the id of a field's message element, for aria-describedby.
func (p *Page) ErrorID(field string) string { return "err-" + field }

// T renders a message for Go code (field errors); a missing key is a bug
// the page tests catch: the key shows.
func (p *Page) T(key string, args ...any) string {
	m, err := p.L.T(key, args...)
	if err != nil {
		return key
	}
	return m
}

// When writes a time for operators: the date and time in UTC.
func (p *Page) When(t time.Time) string { return p.L.DateTime(t) + " UTC" }

// WhenP is When of a pointer ("—" for nil).
func (p *Page) WhenP(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return p.When(*t)
}

// IsTenant reports whether a migration result's name is a tenant's (not
// template:<kind>).
func (p *Page) IsTenant(name string) bool { return !strings.HasPrefix(name, "template:") }

// Size writes a byte count.
func (p *Page) Size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// page starts the data of a page for the request.
func (s *Console) page(c *fiber.Ctx, title string) *Page {
	lang := i18n.Negotiate(c.Get(fiber.HeaderAcceptLanguage), c.Cookies(LangCookie))
	p := &Page{L: s.cfg.Messages.Localizer(lang, i18n.Locale{}), Path: strings.Clone(c.Path()), Title: title,
		RequestID: httpx.RequestID(c), Errors: map[string]string{}, Values: map[string]string{}}
	if sess, ok := c.Locals(sessionKey).(*session); ok {
		p.LoggedIn, p.CSRF = true, sess.csrf
		for _, n := range []NavItem{{Key: "op.nav.tenants", Href: "/tenants"}, {Key: "op.nav.migrations", Href: "/migrations"}} {
			n.Current = p.Path == n.Href || strings.HasPrefix(p.Path, n.Href+"/")
			p.Nav = append(p.Nav, n)
		}
	}
	return p
}

// Render writes the page name with status: the whole page or, when the
// template fails, the 500 page (the cause goes to the access log).
func (s *Console) Render(c *fiber.Ctx, status int, name string, p *Page) error {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		httpx.SetCause(c, fmt.Errorf("opconsole: render %s: %w", name, err))
		if name == "error" {
			return c.Status(fiber.StatusInternalServerError).SendString("internal error, request id " + p.RequestID)
		}
		p.Title, p.FormError, p.Reason, p.Notice, p.Errors, p.Refresh = "op.error.title", "op.error.internal", "", "", map[string]string{}, false
		return s.Render(c, fiber.StatusInternalServerError, "error", p)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(buf.Bytes())
}

// fail renders what an operator may see of err: not found, conflict,
// refusal, rate limit and unavailable as such (their operator-facing
// message as the reason), anything else a 500 with the request id.
func (s *Console) fail(c *fiber.Ctx, p *Page, err error) error {
	status, key := statusOf(err)
	p.Title, p.FormError, p.Refresh = "op.error.title", key, false
	if status >= 500 && status != fiber.StatusServiceUnavailable {
		httpx.SetCause(c, err)
	} else if status != fiber.StatusServiceUnavailable {
		p.Reason = tenant.ErrorMessage(err)
	}
	return s.Render(c, status, "error", p)
}

func statusOf(err error) (int, string) {
	switch code := tenant.ErrorCode(err); code {
	case tenant.ENotFound:
		return fiber.StatusNotFound, "op.error.not_found"
	case tenant.EConflict:
		return fiber.StatusConflict, "op.error.conflict"
	case tenant.EInvalid, tenant.EValidation:
		return fiber.StatusUnprocessableEntity, "op.error.invalid"
	case tenant.ERateLimited:
		return fiber.StatusTooManyRequests, "op.login.too_many"
	case tenant.EUnavailable, tenant.ETenantUnavailable, tenant.ECapacity:
		return fiber.StatusServiceUnavailable, "op.error.unavailable"
	case httpx.EMigrationFailed:
		return httpx.Status(code), "op.migrations.failed"
	case httpx.EBodyTooLarge, httpx.ERequestTimeout, httpx.EBadRequest: // a failed upload
		return httpx.Status(code), "op.error.invalid"
	}
	return fiber.StatusInternalServerError, "op.error.internal"
}

// forbidden is a refused form: 403, nothing done.
func (s *Console) forbidden(c *fiber.Ctx, p *Page) error {
	p.Title, p.FormError = "op.error.title", "op.error.csrf"
	return s.Render(c, fiber.StatusForbidden, "error", p)
}

// see is a 303 to path (after a POST the browser GETs it).
func see(c *fiber.Ctx, path string) error { return c.Redirect(path, fiber.StatusSeeOther) }

// session is an authenticated console request.
type session struct {
	idHash []byte
	csrf   string
	actor  tenant.Actor
}

const sessionKey = "opconsole.session"

// formOK reports whether the POST carries the session's form token.
func (s *session) formOK(c *fiber.Ctx) bool {
	return hmac.Equal([]byte(c.FormValue(CSRFField)), []byte(s.csrf))
}

func hashID(id string) []byte { h := sha256.Sum256([]byte(id)); return h[:] }

func (s *Console) csrfToken(id string) string { return hex.EncodeToString(s.ops.MAC("csrf:" + id)) }

func (s *Console) isTLS(c *fiber.Ctx) bool { return httpx.IsTLS(c, s.proxies) }

func (s *Console) cookie(value string, expires time.Time, tls bool) *fiber.Cookie {
	return &fiber.Cookie{Name: SessionCookie, Value: value, Path: "/", Expires: expires,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode, Secure: tls}
}

func (s *Console) clearCookie(c *fiber.Ctx) {
	ck := s.cookie("", time.Unix(0, 0), s.isTLS(c))
	ck.MaxAge = -1
	c.Cookie(ck)
}

// session reads the request's session: nil for none or an ended one (its
// row is deleted and its cookie cleared); an error only when the catalog
// cannot answer.
func (s *Console) session(c *fiber.Ctx) (*session, error) {
	id := c.Cookies(SessionCookie)
	if id == "" || !s.ops.Enabled() {
		return nil, nil
	}
	id = strings.Clone(id)
	ctx := c.UserContext()
	h := hashID(id)
	row, err := s.api.Catalog.OperatorSession(ctx, h)
	if tenant.ErrorCode(err) == tenant.ENotFound {
		s.clearCookie(c)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	fp := s.ops.Fingerprint()
	if row.TokenFP != fp || !now.Before(row.ExpiresAt) || !now.Before(row.LastSeenAt.Add(IdleTimeout)) {
		if err := s.api.Catalog.DeleteOperatorSession(ctx, h); err != nil {
			return nil, err
		}
		s.clearCookie(c)
		return nil, nil
	}
	if now.Sub(row.LastSeenAt) >= touchEvery {
		if err := s.api.Catalog.TouchOperatorSession(ctx, h, now); err != nil {
			s.log.WarnContext(ctx, "opconsole: touch the session", "err", err)
		}
	}
	ip := strings.Clone(httpx.ClientIP(c, s.proxies))
	return &session{idHash: h, csrf: s.csrfToken(id), actor: tenant.Actor{Name: "console:" + fp, Source: "console", IP: ip}}, nil
}

// current is the request's session (nil: anonymous). A console without
// a token, or a catalog that cannot answer, is a page rendered here:
// done, and the handler returns err.
func (s *Console) current(c *fiber.Ctx) (sess *session, done bool, err error) {
	if !s.ops.Enabled() {
		return nil, true, s.disabled(c)
	}
	sess, err = s.session(c)
	if err != nil {
		return nil, true, s.fail(c, s.page(c, "op.error.title"), err)
	}
	return sess, false, nil
}

// authed requires a session: anonymous visitors go to /login (a GET) or
// are refused (a POST); the operator actor goes on the user context.
func (s *Console) authed(c *fiber.Ctx) error {
	sess, done, err := s.current(c)
	if done {
		return err
	}
	if sess == nil {
		if c.Method() == fiber.MethodGet {
			return see(c, "/login")
		}
		p := s.page(c, "op.error.title")
		p.FormError = "op.login.expired"
		return s.Render(c, fiber.StatusUnauthorized, "error", p)
	}
	c.Locals(sessionKey, sess)
	c.SetUserContext(tenant.WithActor(c.UserContext(), sess.actor))
	return c.Next()
}

// form checks a POST's CSRF token against the session's.
func (s *Console) form(c *fiber.Ctx) error {
	sess, _ := c.Locals(sessionKey).(*session)
	if sess == nil || !sess.formOK(c) {
		return s.forbidden(c, s.page(c, "op.error.title"))
	}
	return c.Next()
}

// disabled is every page of a server without an operator token.
func (s *Console) disabled(c *fiber.Ctx) error {
	p := s.page(c, "op.disabled.title")
	p.FormError = "op.disabled.text"
	return s.Render(c, fiber.StatusServiceUnavailable, "error", p)
}

// cleanText is s as valid UTF-8 without control characters (what the
// catalog keeps of a header).
func cleanText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
}

// newSessionID is 256 random bits, base64url.
func newSessionID() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// openSession records a session for the request and sets its cookie.
func (s *Console) openSession(c *fiber.Ctx, ctx context.Context) error {
	now := s.cfg.Now()
	id := newSessionID()
	ua := c.Get(fiber.HeaderUserAgent)
	if len(ua) > 256 {
		ua = ua[:256]
	}
	if err := s.api.Catalog.CreateOperatorSession(ctx, catalog.OperatorSession{IDHash: hashID(id), TokenFP: s.ops.Fingerprint(),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(SessionTTL),
		IP: strings.Clone(httpx.ClientIP(c, s.proxies)), UserAgent: cleanText(ua)}); err != nil {
		return err
	}
	c.Cookie(s.cookie(id, now.Add(SessionTTL), s.isTLS(c)))
	return nil
}
