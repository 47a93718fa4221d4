// Package console is the tenant web console: server-rendered HTML pages on
// every tenant host, from html/template templates and static files embedded
// in the binary, in Spanish and English (tenant/i18n), working without
// JavaScript (htmx, embedded, only enhances: docs/console.md).
//
// # Mounting
//
// [Mount] adds the console's routes to the tenant router, inside the
// tenant context (router.Config.Routes), next to the JSON API, which it
// never touches (/api stays JSON):
//
//	console.Mount(r, console.Config{Service: svc, Sessions: sessions, Secrets: secrets,
//		Pools: pools, Proxies: proxies, Tenant: router.FromContext, Catalog: cat, Logger: log})
//
// Routes: GET / (home per kind; anonymous → /login), GET/POST /login,
// GET/POST /password (forced and voluntary change), GET/POST
// /password/reset (request), GET/POST /password/reset/confirm?token=… (and
// GET /reset-password?token=…, the link the reset mail carries), POST
// /logout, POST /lang (the language switch), GET /static/… (CSS).
//
// # Sessions and cookies
//
// The console logs in through the same auth.Service and auth.Sessions as
// the API and sets the same `session` cookie (authhttp.SessionCookie:
// HttpOnly, SameSite=Lax, Secure over TLS), so a console session is an API
// session and the other way round.
//
// # CSRF
//
// Every form carries protection. With a session, a hidden field `csrf`
// holds the session's signed token (auth.CSRFToken with the tenant's
// csrf_secret over the session handle), checked with auth.CheckCSRF.
// Before login (login, reset request and confirm, the language switch of an
// anonymous visitor) there is no session to bind a token to, and we check
// the request's origin instead ([Console.sameOrigin]): Sec-Fetch-Site must be
// same-origin, or, from a browser that does not send it, Origin must be the
// request's own scheme and host; a POST with neither is refused. We chose
// this over a double-submit cookie because tenants are sibling subdomains
// of one base domain: a page on another subdomain can plant a cookie for
// ours (cookie tossing), which defeats a double-submit cookie, while it
// cannot forge the Origin or Sec-Fetch-Site headers a browser sends. A
// refused form answers 403 with the error.csrf page and changes nothing.
//
// # Pages
//
// Every page is rendered by [Console.Render] into the one layout (header
// with the tenant's name, the navigation of the principal's kind and
// permissions, the language switch, the logout button as a POST form),
// with a strict Content-Security-Policy ([CSP]: no inline script or style)
// and Cache-Control: no-store. The template data is a [Page]; its L is the
// request's *i18n.Localizer: the language from the `lang` cookie (the
// switch's choice) or else Accept-Language (i18n.Negotiate), the tenant's
// locale from i18n.ForTenant. Templates call {{.L.T "key"}}; a failing
// template is a 500 page, never half a page.
//
// Errors never show their cause: a 500 is a friendly page with the request
// id, the cause goes to the access log (httpx.SetCause).
package console

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"path"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/auth/authhttp"
	"github.com/tenancy/platform/tenant/httpx"
	"github.com/tenancy/platform/tenant/i18n"
	"github.com/tenancy/platform/tenant/resource/resourcehttp"
)

// CSP is the Content-Security-Policy of every console response.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Cookie and form field names.
const (
	// LangCookie remembers the language switch's choice in the browser,
	// for its anonymous pages; a logged-in user's choice is also stored
	// in the user's row (users.language, copied into the sessions) and
	// wins over the cookie.
	LangCookie = "lang"
	// CSRFField is the hidden field of the session's CSRF token.
	CSRFField = "csrf"
)

//go:embed templates/*.html templates/parts/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config wires the console.
type Config struct {
	Service  *auth.Service
	Sessions auth.Sessions
	Secrets  authhttp.Secrets
	Pools    authhttp.Pools
	Proxies  httpx.Proxies
	// Tenant returns the request's tenant (router.FromContext).
	Tenant func(c *fiber.Ctx) *tenant.Tenant
	// Catalog holds the messages; nil: i18n.NewCatalog().
	Catalog *i18n.Catalog
	// LoginLimit bounds login, reset request and reset confirm per client
	// IP, in the same bucket as the API's (key auth:ip:<ip>). Zero: 20 per
	// 60 s; a negative Rate: off.
	LoginLimit auth.Limit
	// DefaultLimit bounds authenticated page requests per client IP, in
	// the same bucket as the API's DefaultLimit (key api:ip:<ip>). Zero:
	// 300 per 60 s; a Period with Rate 0, or a negative Rate: off.
	DefaultLimit auth.Limit
	Logger       *slog.Logger
	Now          func() time.Time // token expiry; default time.Now
	// API serves the domain resources; with it the console adds the
	// domain screens under /data (data.go), writing through its Write.
	API *resourcehttp.API
}

// Console serves the pages; Mount returns it.
type Console struct {
	cfg    Config
	pages  map[string]*template.Template
	tokens auth.TokenCache
}

// The templates, by page.
const (
	tplLogin        = "login"
	tplPassword     = "password"
	tplResetRequest = "reset_request"
	tplResetConfirm = "reset_confirm"
	tplHome         = "home"
	tplError        = "error"
)

// New builds the console (templates parsed once); Mount calls it.
func New(cfg Config) (*Console, error) {
	if cfg.Service == nil || cfg.Sessions == nil || cfg.Secrets == nil || cfg.Pools == nil || cfg.Tenant == nil {
		return nil, fmt.Errorf("console: Service, Sessions, Secrets, Pools and Tenant are required")
	}
	if cfg.Catalog == nil {
		cat, err := i18n.NewCatalog()
		if err != nil {
			return nil, err
		}
		cfg.Catalog = cat
	}
	cfg.LoginLimit, cfg.DefaultLimit = authhttp.LimitDefaults(cfg.LoginLimit, cfg.DefaultLimit)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	return &Console{cfg: cfg, pages: pages}, nil
}

func parseTemplates() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(template.FuncMap{"args": fieldArgs}).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("console: parse layout: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, name := range append([]string{tplLogin, tplPassword, tplResetRequest, tplResetConfirm, tplHome, tplError}, append(append(adminTemplates, dataTemplates...), restaurantTemplates...)...) {
		t, err := base.Clone()
		if err == nil {
			t, err = t.ParseFS(templateFS, "templates/"+name+".html", "templates/parts/*.html")
		}
		if err != nil {
			return nil, fmt.Errorf("console: parse %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// Mount adds the console's routes to r (inside the tenant context) and
// returns the console. It fails only on a wiring bug (missing Config
// fields, a template that does not parse).
func Mount(r fiber.Router, cfg Config) (*Console, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	s.Routes(r)
	return s, nil
}

// Routes adds the console's routes to r (for a caller that built the
// console with New ahead of the router, to see its error first).
func (s *Console) Routes(r fiber.Router) {
	h := s.headers
	r.Get("/", h, s.home)
	r.Get("/login", h, s.loginForm)
	r.Post("/login", h, s.login)
	r.Get("/password", h, s.passwordForm)
	r.Post("/password", h, s.changePassword)
	r.Get("/password/reset", h, s.resetRequestForm)
	r.Post("/password/reset", h, s.resetRequest)
	r.Get("/password/reset/confirm", h, s.resetConfirmForm)
	r.Post("/password/reset/confirm", h, s.resetConfirm)
	// The link of the reset mail (auth.Service.RequestReset).
	r.Get("/reset-password", h, s.resetConfirmForm)
	r.Post("/logout", h, s.logout)
	r.Post("/lang", h, s.switchLang)
	s.adminRoutes(r)
	s.restaurantRoutes(r)
	s.dataRoutes(r)
	r.Get("/static/*", s.static)
}

// headers sets the console's CSP and no-store on the page's response,
// replacing the router's page defaults.
func (s *Console) headers(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentSecurityPolicy, CSP)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Next()
}

// static serves the embedded static files.
func (s *Console) static(c *fiber.Ctx) error {
	name := path.Clean("/" + c.Params("*"))
	b, err := fs.ReadFile(staticFS, "static"+name)
	if err != nil || name == "/" {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderContentSecurityPolicy, CSP)
	c.Set(fiber.HeaderContentType, mime.TypeByExtension(path.Ext(name)))
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	return c.Send(b)
}

// NavItem is one link of the navigation.
type NavItem struct {
	Key     string // message key of its label
	Href    string
	Current bool
}

// Page is the data of every template.
type Page struct {
	L          *i18n.Localizer
	TenantName string
	Kind       tenant.Kind
	User       *auth.Principal // nil: anonymous
	// CSRF is the session's form token (empty before login, where the
	// origin is checked instead).
	CSRF string
	// Path is where the language switch returns (the path only: a query,
	// such as a reset token, is never echoed into a form or link).
	Path      string
	Nav       []NavItem
	Title     string            // message key of the <title> and <h1>
	Notice    string            // a message key: what just happened
	FormError string            // a message key: why the form was refused
	Errors    map[string]string // field name → rendered message
	Values    map[string]string // field name → value to show again (never a password)
	RequestID string
	Token     string // the reset token's hidden field (confirm page)
	Forced    bool   // the password change is forced
	Data      any    // the screen's own data (admin.go: usersData, userData, …)
}

// ErrorID is the id of the message element of a field, for
// aria-describedby.
func (p *Page) ErrorID(field string) string { return "err-" + field }

// field is the data of the "field" template: one labelled input.
type field struct {
	Page                           *Page
	Name, Label, Type, Auto, Value string
}

// fieldArgs is the template function args: (args . name labelKey type
// autocomplete value).
func fieldArgs(p *Page, name, label, typ, auto, value string) field {
	return field{Page: p, Name: name, Label: label, Type: typ, Auto: auto, Value: value}
}

// session is an authenticated console request.
type session struct {
	principal *auth.Principal
	secrets   map[string]string
	csrf      string
}

// page starts the data of a page for the request: its Localizer, tenant,
// user and navigation.
func (s *Console) page(c *fiber.Ctx, t *tenant.Tenant, sess *session, title string) *Page {
	loc, err := i18n.ForTenant(t)
	if err != nil {
		// Settings the catalog should have refused: the page still
		// renders, with the default formats.
		s.cfg.Logger.WarnContext(c.UserContext(), "console: tenant locale", "tenant", t.Slug, "err", err)
	}
	choice := c.Cookies(LangCookie)
	if sess != nil && sess.principal.Language != "" {
		choice = sess.principal.Language // the user's, from any browser
	}
	lang := i18n.Negotiate(c.Get(fiber.HeaderAcceptLanguage), choice)
	p := &Page{
		L: s.cfg.Catalog.Localizer(lang, loc), TenantName: t.Name, Kind: t.Kind,
		Path: strings.Clone(c.Path()), Title: title, RequestID: httpx.RequestID(c),
		Errors: map[string]string{}, Values: map[string]string{},
	}
	if sess != nil {
		p.User, p.CSRF = sess.principal, sess.csrf
		p.Nav = navFor(t.Kind, sess.principal, p.Path)
	}
	return p
}

// navFor is the navigation of kind for p's permissions. The links past
// Home name the screens later slices build.
func navFor(kind tenant.Kind, p *auth.Principal, current string) []NavItem {
	items := []NavItem{{Key: "nav.home", Href: "/"}}
	if p.MustChangePassword {
		return nil
	}
	if p.Can(auth.PermDataRead) {
		switch kind {
		case tenant.Restaurant:
			items = append(items, NavItem{Key: "nav.branches", Href: "/data/branches"}, NavItem{Key: "nav.menu", Href: "/data/menu_items"},
				NavItem{Key: "nav.orders", Href: "/orders"}, NavItem{Key: "nav.reservations", Href: "/reservations"},
				NavItem{Key: "nav.customers", Href: "/data/customers"})
		case tenant.Institution:
			items = append(items, NavItem{Key: "nav.periods", Href: "/data/periods"}, NavItem{Key: "nav.programs", Href: "/data/programs"},
				NavItem{Key: "nav.groups", Href: "/data/groups"}, NavItem{Key: "nav.teachers", Href: "/data/teachers"},
				NavItem{Key: "nav.teaching_loads", Href: "/data/teaching_loads"}, NavItem{Key: "nav.tutoring", Href: "/data/tutoring_sessions"},
				NavItem{Key: "nav.prefecture", Href: "/data/prefecture_reports"})
		}
	}
	if p.Can(auth.PermUsersRead) {
		items = append(items, NavItem{Key: "nav.users", Href: "/users"})
	}
	items = append(items, NavItem{Key: "nav.sessions", Href: "/sessions"})
	if p.Can(auth.PermAuditRead) {
		items = append(items, NavItem{Key: "nav.audit", Href: "/audit"})
	}
	for i := range items {
		items[i].Current = items[i].Href == current || strings.HasPrefix(current, items[i].Href+"/")
	}
	return items
}

// Render writes the page name with status: the whole page or, when the
// template fails, the 500 page (a template error is a bug: its cause goes
// to the log).
func (s *Console) Render(c *fiber.Ctx, status int, name string, p *Page) error {
	// Straight into the response's pooled body: a board page is some
	// 200 KB, which a buffer of its own would grow, copy and drop each time.
	res := c.Response()
	res.ResetBody()
	if err := s.pages[name].ExecuteTemplate(res.BodyWriter(), "layout", p); err != nil {
		res.ResetBody()
		httpx.SetCause(c, fmt.Errorf("console: render %s: %w", name, err))
		if name == tplError {
			return c.Status(fiber.StatusInternalServerError).SendString("internal error, request id " + p.RequestID)
		}
		p.Title, p.FormError, p.Notice, p.Errors = "error.title", "error.internal", "", map[string]string{}
		return s.Render(c, fiber.StatusInternalServerError, tplError, p)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Status(status)
	return nil
}

// fail renders what a user may see of err: 429 and 503 as such, anything
// else a 500 with the request id (the cause in the log).
func (s *Console) fail(c *fiber.Ctx, p *Page, err error) error {
	status, msg := statusOf(err)
	if status >= 500 {
		httpx.SetCause(c, err)
	}
	p.Title, p.FormError = "error.title", msg
	return s.Render(c, status, tplError, p)
}

func statusOf(err error) (int, string) {
	switch tenant.ErrorCode(err) {
	case tenant.ERateLimited:
		return fiber.StatusTooManyRequests, "login.too_many_attempts"
	case tenant.EUnavailable, tenant.ETenantUnavailable, tenant.ECapacity:
		return fiber.StatusServiceUnavailable, "error.unavailable"
	}
	return fiber.StatusInternalServerError, "error.internal"
}

// forbidden is the refused form: 403, nothing done.
func (s *Console) forbidden(c *fiber.Ctx, p *Page) error {
	p.Title, p.FormError = "error.title", "error.csrf"
	return s.Render(c, fiber.StatusForbidden, tplError, p)
}

// session authenticates the request from the session cookie: nil for an
// anonymous visitor (no cookie, or a dead session: its cookie is
// cleared); an error only when the session store or the secrets cannot be
// reached.
func (s *Console) session(c *fiber.Ctx, t *tenant.Tenant) (*session, error) {
	tok := c.Cookies(authhttp.CookieName)
	if tok == "" {
		return nil, nil
	}
	tok = strings.Clone(tok)
	sec, err := s.cfg.Secrets.Get(c.UserContext(), t.Slug)
	if err != nil {
		return nil, tenant.Errorf(tenant.ETenantUnavailable, "read the tenant's secrets: %v", err)
	}
	secret, err := s.tokens.Parse([]byte(sec["jwt_secret"]), t.ID, tok, s.cfg.Now())
	if err != nil {
		s.clearSession(c)
		return nil, nil
	}
	ip := httpx.ClientIP(c, s.cfg.Proxies)
	var lim *auth.Limit
	if s.cfg.DefaultLimit.Rate > 0 {
		l := s.cfg.DefaultLimit
		l.Key = "api:ip:" + ip
		lim = &l
	}
	info, v, err := s.cfg.Sessions.Check(c.UserContext(), t.ID, secret, ip, lim)
	if tenant.ErrorCode(err) == tenant.EUnauthenticated {
		s.clearSession(c)
		return nil, nil
	}
	if err != nil {
		return nil, tenant.Errorf(tenant.EUnavailable, "sessions: %v", err)
	}
	if lim != nil && !v.Allowed {
		return nil, tenant.Errorf(tenant.ERateLimited, "too many requests")
	}
	return &session{
		principal: &auth.Principal{
			TenantID: t.ID, UserID: info.UserID, Username: info.Username, Roles: info.Roles,
			Permissions: info.Permissions, MustChangePassword: info.MustChangePassword, Language: info.Language, Session: info.ID,
		},
		secrets: sec,
		csrf:    auth.CSRFToken([]byte(sec["csrf_secret"]), t.ID, info.ID),
	}, nil
}

func (s *Console) isTLS(c *fiber.Ctx) bool { return httpx.IsTLS(c, s.cfg.Proxies) }

func (s *Console) clearSession(c *fiber.Ctx) {
	c.Cookie(authhttp.ClearedSessionCookie(s.isTLS(c)))
}

// checkForm is the CSRF check of a form POST: the session's signed token
// when there is a session, else the origin check (see the package doc).
func (s *Console) checkForm(c *fiber.Ctx, t *tenant.Tenant, sess *session) bool {
	if sess != nil {
		return auth.CheckCSRF([]byte(sess.secrets["csrf_secret"]), t.ID, sess.principal.Session, c.FormValue(CSRFField))
	}
	return s.sameOrigin(c)
}

// sameOrigin is the origin check of a form before login (httpx.SameOrigin).
func (s *Console) sameOrigin(c *fiber.Ctx) bool { return httpx.SameOrigin(c, s.cfg.Proxies) }

// env is the service's context of this request.
func (s *Console) env(c *fiber.Ctx, t *tenant.Tenant, sess *session) auth.Env {
	e := auth.Env{
		Tenant: t, IP: httpx.ClientIP(c, s.cfg.Proxies), UserAgent: strings.Clone(c.Get(fiber.HeaderUserAgent)),
		RequestID: httpx.RequestID(c), BaseURL: httpx.BaseURL(c, s.cfg.Proxies),
	}
	if sess != nil {
		e.Principal = sess.principal
	}
	return e
}

// withDB runs fn with e.DB set to a connection of the tenant's pool.
func (s *Console) withDB(c *fiber.Ctx, e *auth.Env, fn func() error) error {
	conn, err := s.cfg.Pools.Acquire(c.UserContext(), e.Tenant)
	if err != nil {
		if tenant.ErrorCode(err) == tenant.ECapacity {
			return err
		}
		return tenant.Errorf(tenant.ETenantUnavailable, "acquire a tenant connection: %v", err)
	}
	e.DB = conn
	err = fn()
	e.DB = nil
	conn.Release()
	return err
}

// allow counts an unauthenticated request against the login limit.
func (s *Console) allow(c *fiber.Ctx, t *tenant.Tenant, ip string) error {
	if s.cfg.LoginLimit.Rate <= 0 {
		return nil
	}
	l := s.cfg.LoginLimit
	l.Key = "auth:ip:" + ip
	v, err := s.cfg.Sessions.Allow(c.UserContext(), t.ID, l)
	if err != nil {
		return tenant.Errorf(tenant.EUnavailable, "sessions: %v", err)
	}
	if !v.Allowed {
		return tenant.Errorf(tenant.ERateLimited, "too many attempts")
	}
	return nil
}
