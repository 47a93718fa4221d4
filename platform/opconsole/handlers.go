package opconsole

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/platform/adminapi"
	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/provision"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/httpx"
	"github.com/tenancy/platform/tenant/i18n"
)

// home: GET /, the tenants list or the login form.
func (s *Console) home(c *fiber.Ctx) error {
	sess, done, err := s.current(c)
	switch {
	case done:
		return err
	case sess == nil:
		return see(c, "/login")
	}
	return see(c, "/tenants")
}

// loginForm: GET /login.
func (s *Console) loginForm(c *fiber.Ctx) error {
	sess, done, err := s.current(c)
	switch {
	case done:
		return err
	case sess != nil:
		return see(c, "/tenants")
	}
	p := s.page(c, "op.login.title")
	if c.Query("done") == "logout" {
		p.Notice = "op.logout.done"
	}
	return s.Render(c, fiber.StatusOK, "login", p)
}

// login: POST /login {token}. The token is checked as the API checks it;
// the form never shows it again.
func (s *Console) login(c *fiber.Ctx) error {
	if !s.ops.Enabled() {
		return s.disabled(c)
	}
	p := s.page(c, "op.login.title")
	if !httpx.SameOrigin(c, s.proxies) {
		return s.forbidden(c, p)
	}
	ctx := c.UserContext()
	ip := strings.Clone(httpx.ClientIP(c, s.proxies))
	given := c.FormValue("token")
	if given == "" {
		p.Errors["token"] = p.T("op.login.token_required")
		p.FormError = "op.form.has_errors"
		return s.Render(c, fiber.StatusUnprocessableEntity, "login", p)
	}
	actor, err := s.ops.Authenticate(ctx, ip, given, "console")
	if wait, limited := adminapi.RetryAfter(err); limited {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		p.FormError = "op.login.too_many"
		return s.Render(c, fiber.StatusTooManyRequests, "login", p)
	}
	switch tenant.ErrorCode(err) {
	case "":
	case httpx.EUnauthorized:
		p.FormError = "op.login.invalid"
		p.Errors["token"] = p.T("op.login.invalid")
		return s.Render(c, fiber.StatusUnauthorized, "login", p)
	default:
		return s.fail(c, p, err)
	}
	ctx = tenant.WithActor(ctx, actor)
	// Ended sessions go at every login: the table holds live ones only.
	if _, err := s.api.Catalog.DeleteExpiredOperatorSessions(ctx, s.cfg.Now(), IdleTimeout, s.ops.Fingerprint()); err != nil {
		return s.fail(c, p, err)
	}
	// The browser's earlier session is replaced: end it.
	if old := c.Cookies(SessionCookie); old != "" {
		if err := s.api.Catalog.DeleteOperatorSession(ctx, hashID(old)); err != nil {
			return s.fail(c, p, err)
		}
	}
	if err := s.openSession(c, ctx); err != nil {
		return s.fail(c, p, err)
	}
	_ = s.ops.Audit(ctx, "console.login", "", nil, nil)
	return see(c, "/tenants")
}

// logout: POST /logout {csrf}: the session's row is deleted.
func (s *Console) logout(c *fiber.Ctx) error {
	p := s.page(c, "op.error.title")
	sess, err := s.session(c)
	if err != nil {
		return s.fail(c, p, err)
	}
	if sess == nil {
		return see(c, "/login")
	}
	if !sess.formOK(c) {
		return s.forbidden(c, p)
	}
	ctx := tenant.WithActor(c.UserContext(), sess.actor)
	if err := s.api.Catalog.DeleteOperatorSession(ctx, sess.idHash); err != nil {
		return s.fail(c, p, err)
	}
	_ = s.ops.Audit(ctx, "console.logout", "", nil, nil)
	s.clearCookie(c)
	return see(c, "/login?done=logout")
}

// switchLang: POST /lang {lang, next}: the choice in the lang cookie,
// back to next (a local path).
func (s *Console) switchLang(c *fiber.Ctx) error {
	p := s.page(c, "op.error.title")
	sess, err := s.session(c)
	if err != nil {
		return s.fail(c, p, err)
	}
	ok := httpx.SameOrigin(c, s.proxies)
	if sess != nil {
		ok = sess.formOK(c)
	}
	if !ok {
		return s.forbidden(c, p)
	}
	lang, valid := i18n.ParseLang(c.FormValue("lang"))
	if !valid {
		p.FormError = "op.error.invalid"
		return s.Render(c, fiber.StatusUnprocessableEntity, "error", p)
	}
	c.Cookie(&fiber.Cookie{Name: LangCookie, Value: lang.String(), Path: "/", Expires: s.cfg.Now().Add(365 * 24 * time.Hour),
		HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode, Secure: s.isTLS(c)})
	return see(c, httpx.LocalPath(c.FormValue("next")))
}

// slugParam copies the path parameter: Fiber's strings die with the request.
func slugParam(c *fiber.Ctx) string { return strings.Clone(c.Params("slug")) }

// Row is one tenant of the list.
type Row struct {
	T          *tenant.Tenant
	Version    uint
	Latest     uint
	Dirty      bool
	SchemaErr  bool // the version could not be read
	NoSchema   bool // no database to read (provisioning, deleted)
	LastBackup *catalog.Backup
}

type tenantsData struct {
	Rows             []Row
	Status, Kind, Q  string
	Statuses, Kinds  []string
	Page, Pages      int
	Total            int
	PrevURL, NextURL string
}

var statuses = []tenant.Status{tenant.StatusActive, tenant.StatusSuspended, tenant.StatusProvisioning, tenant.StatusMaintenance, tenant.StatusDeleted}

// tenants: GET /tenants?status=&kind=&q=&page=: a page of the fleet, with
// each tenant's schema version and last backup.
func (s *Console) tenants(c *fiber.Ctx) error {
	p := s.page(c, "op.tenants.title")
	ctx := c.UserContext()
	d := &tenantsData{Status: strings.Clone(c.Query("status")), Kind: strings.Clone(c.Query("kind")), Q: strings.TrimSpace(strings.Clone(c.Query("q")))}
	p.Values["status"], p.Values["kind"], p.Values["q"] = d.Status, d.Kind, d.Q
	for _, st := range statuses {
		d.Statuses = append(d.Statuses, string(st))
	}
	for _, k := range tenant.Kinds {
		d.Kinds = append(d.Kinds, string(k))
	}
	var f catalog.TenantFilter
	if d.Status != "" {
		if !slices.Contains(d.Statuses, d.Status) {
			p.Errors["status"] = p.T("op.error.invalid_choice")
		} else {
			f.Statuses = []tenant.Status{tenant.Status(d.Status)}
		}
	}
	if d.Kind != "" {
		if k, err := tenant.ParseKind(d.Kind); err != nil {
			p.Errors["kind"] = p.T("op.error.invalid_choice")
		} else {
			f.Kind = k
		}
	}
	if len(p.Errors) > 0 {
		p.FormError, p.Data = "op.form.has_errors", d
		return s.Render(c, fiber.StatusUnprocessableEntity, "tenants", p)
	}
	ts, err := s.api.Service.List(ctx, f)
	if err != nil {
		return s.fail(c, p, err)
	}
	if d.Q != "" {
		q := strings.ToLower(d.Q)
		ts = slices.DeleteFunc(ts, func(t *tenant.Tenant) bool {
			return !strings.Contains(t.Slug, q) && !strings.Contains(strings.ToLower(t.Name), q)
		})
	}
	d.Total = len(ts)
	d.Pages = max(1, (len(ts)+s.cfg.PageSize-1)/s.cfg.PageSize)
	d.Page, _ = strconv.Atoi(c.Query("page", "1"))
	d.Page = min(max(d.Page, 1), d.Pages)
	ts = ts[(d.Page-1)*s.cfg.PageSize : min(len(ts), d.Page*s.cfg.PageSize)]
	if d.Rows, err = s.rows(ctx, ts); err != nil {
		return s.fail(c, p, err)
	}
	pageURL := func(n int) string {
		q := "?page=" + strconv.Itoa(n)
		if d.Status != "" {
			q += "&status=" + url.QueryEscape(d.Status)
		}
		if d.Kind != "" {
			q += "&kind=" + url.QueryEscape(d.Kind)
		}
		if d.Q != "" {
			q += "&q=" + url.QueryEscape(d.Q)
		}
		return "/tenants" + q
	}
	if d.Page > 1 {
		d.PrevURL = pageURL(d.Page - 1)
	}
	if d.Page < d.Pages {
		d.NextURL = pageURL(d.Page + 1)
	}
	switch c.Query("done") {
	case "deleted":
		p.Notice = "op.tenant.deleted"
	}
	p.Data = d
	return s.Render(c, fiber.StatusOK, "tenants", p)
}

// rows reads the rows of ts, four tenants' databases at a time.
func (s *Console) rows(ctx context.Context, ts []*tenant.Tenant) ([]Row, error) {
	out := make([]Row, len(ts))
	errs := make([]error, len(ts))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i], errs[i] = s.row(ctx, t)
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// row reads a tenant's schema version (from its database: the page's
// tenants only) and its last backup (from the catalog).
func (s *Console) row(ctx context.Context, t *tenant.Tenant) (Row, error) {
	r := Row{T: t}
	switch t.Status {
	case tenant.StatusProvisioning, tenant.StatusDeleted:
		r.NoSchema = true
	default:
		rs, err := s.ops.MigrationStatus(ctx, t.Slug)
		if err != nil || len(rs) == 0 || rs[0].Err != nil {
			r.SchemaErr = true // shown as unknown; the migrations page says why
		} else {
			r.Version, r.Latest, r.Dirty = rs[0].Status.Version, rs[0].Status.Latest, rs[0].Status.Dirty
		}
	}
	bs, err := s.api.Catalog.Backups(ctx, t.Slug)
	if err != nil {
		return r, err
	}
	if len(bs) > 0 {
		r.LastBackup = bs[0]
	}
	return r, nil
}

type newData struct {
	Kinds []string
}

func (s *Console) kinds() []string {
	var ks []string
	for _, k := range tenant.Kinds {
		ks = append(ks, string(k))
	}
	return ks
}

// tenantNew: GET /tenants/new, the create form.
func (s *Console) tenantNew(c *fiber.Ctx) error {
	p := s.page(c, "op.create.title")
	p.Values["time_zone"] = "America/Santiago"
	p.Data = &newData{Kinds: s.kinds()}
	return s.Render(c, fiber.StatusOK, "tenant_new", p)
}

// createErrors checks each field with the validators the service uses,
// for messages per field in the reader's language (the service checks
// again, and its refusal of anything else is shown with its reason).
func createErrors(p *Page, req provision.CreateRequest) {
	if err := tenant.ValidateSlug(strings.TrimSpace(req.Slug)); err != nil {
		p.Errors["slug"] = p.T("op.create.slug_invalid")
	}
	if _, err := tenant.ParseKind(req.Kind); err != nil {
		p.Errors["kind"] = p.T("op.error.invalid_choice")
	}
	if name := strings.TrimSpace(req.Name); name == "" {
		p.Errors["name"] = p.T("op.form.required")
	} else if tenant.ValidateText("name", name, 200) != nil {
		p.Errors["name"] = p.T("op.create.name_invalid")
	}
	if tz := req.TimeZone; tz != "" {
		if _, err := time.LoadLocation(tz); err != nil || tz == "Local" || tenant.ValidateText("tz", tz, 64) != nil {
			p.Errors["time_zone"] = p.T("op.create.time_zone_invalid")
		}
	}
	if len(req.Domains) > tenant.MaxDomains {
		p.Errors["domains"] = p.T("op.create.too_many_domains", "Max", strconv.Itoa(tenant.MaxDomains))
	} else {
		for _, d := range req.Domains {
			if _, err := tenant.ValidateDomain(d); err != nil {
				p.Errors["domains"] = p.T("op.create.domain_invalid", "Domain", d)
				break
			}
		}
	}
}

// tenantCreate: POST /tenants {slug, kind, name, time_zone, domains}: the
// result page shows the admin password, this once (never in a URL, never
// logged; no-store, no referrer).
func (s *Console) tenantCreate(c *fiber.Ctx) error {
	p := s.page(c, "op.create.title")
	p.Data = &newData{Kinds: s.kinds()}
	req := provision.CreateRequest{Slug: strings.Clone(c.FormValue("slug")), Kind: strings.Clone(c.FormValue("kind")),
		Name: strings.Clone(c.FormValue("name")), TimeZone: strings.TrimSpace(strings.Clone(c.FormValue("time_zone")))}
	domains := strings.Clone(c.FormValue("domains"))
	req.Domains = strings.FieldsFunc(domains, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
	for k, v := range map[string]string{"slug": req.Slug, "kind": req.Kind, "name": req.Name, "time_zone": req.TimeZone, "domains": domains} {
		p.Values[k] = v
	}
	createErrors(p, req)
	if len(p.Errors) > 0 {
		p.FormError = "op.form.has_errors"
		return s.Render(c, fiber.StatusUnprocessableEntity, "tenant_new", p)
	}
	res, err := s.api.Service.Create(c.UserContext(), req)
	if err != nil {
		switch tenant.ErrorCode(err) {
		case tenant.EConflict:
			p.Errors["slug"] = p.T("op.create.slug_taken")
			p.FormError, p.Reason = "op.form.has_errors", tenant.ErrorMessage(err)
			return s.Render(c, fiber.StatusConflict, "tenant_new", p)
		case tenant.EInvalid, tenant.EValidation:
			p.FormError, p.Reason = "op.create.refused", tenant.ErrorMessage(err)
			return s.Render(c, fiber.StatusUnprocessableEntity, "tenant_new", p)
		}
		return s.fail(c, p, err)
	}
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	p.Title, p.Data = "op.created.title", adminapi.CreatedView(res)
	return s.Render(c, fiber.StatusCreated, "tenant_created", p)
}

type tenantData struct {
	T                                                       adminapi.Tenant
	Backups                                                 *adminapi.BackupSummary
	Migration                                               *adminapi.Migration
	BackupsOn                                               bool
	CanSuspend, CanResume, CanDelete, CanMigrate, CanBackup bool
}

// tenant: GET /tenants/{slug}, the detail page with its actions.
func (s *Console) tenant(c *fiber.Ctx) error {
	p := s.page(c, "op.tenant.title")
	ctx := c.UserContext()
	t, err := s.api.Service.Get(ctx, slugParam(c))
	if err != nil {
		return s.fail(c, p, err)
	}
	d := &tenantData{T: adminapi.TenantView(s.api.Service, t), BackupsOn: s.ops.BackupsEnabled(true)}
	if d.Backups, err = adminapi.BackupSummaryOf(ctx, s.api.Catalog, t, s.cfg.Now()); err != nil {
		return s.fail(c, p, err)
	}
	if t.Status != tenant.StatusProvisioning && t.Status != tenant.StatusDeleted {
		if rs, err := s.ops.MigrationStatus(ctx, t.Slug); err == nil && len(rs) > 0 {
			m := adminapi.MigrationViews(rs[:1])[0]
			d.Migration = &m
		}
	}
	d.CanSuspend = t.Status == tenant.StatusActive
	d.CanResume = t.Status == tenant.StatusSuspended
	d.CanDelete = t.Status != tenant.StatusDeleted
	d.CanMigrate = t.Status == tenant.StatusActive || t.Status == tenant.StatusSuspended
	d.CanBackup = d.BackupsOn && d.CanMigrate
	switch c.Query("done") {
	case "suspended":
		p.Notice = "op.tenant.suspended"
	case "resumed":
		p.Notice = "op.tenant.resumed"
	case "migrated":
		p.Notice = "op.tenant.migrated"
	}
	p.Data = d
	return s.Render(c, fiber.StatusOK, "tenant", p)
}

func (s *Console) setStatus(c *fiber.Ctx, op func(context.Context, string) error, done string) error {
	slug := slugParam(c)
	if err := op(c.UserContext(), slug); err != nil {
		return s.fail(c, s.page(c, "op.tenant.title"), err)
	}
	return see(c, "/tenants/"+slug+"?done="+done)
}

// suspend, resume: POST /tenants/{slug}/suspend|resume.
func (s *Console) suspend(c *fiber.Ctx) error {
	return s.setStatus(c, s.api.Service.Suspend, "suspended")
}

func (s *Console) resume(c *fiber.Ctx) error { return s.setStatus(c, s.api.Service.Resume, "resumed") }

// deleteForm: GET /tenants/{slug}/delete, the typed confirmation.
func (s *Console) deleteForm(c *fiber.Ctx) error {
	p := s.page(c, "op.delete.title")
	t, err := s.api.Service.Get(c.UserContext(), slugParam(c))
	if err != nil {
		return s.fail(c, p, err)
	}
	p.Data = adminapi.TenantView(s.api.Service, t)
	return s.Render(c, fiber.StatusOK, "tenant_delete", p)
}

// delete: POST /tenants/{slug}/delete {confirm}: confirm must be the slug.
func (s *Console) delete(c *fiber.Ctx) error {
	p := s.page(c, "op.delete.title")
	ctx := c.UserContext()
	t, err := s.api.Service.Get(ctx, slugParam(c))
	if err != nil {
		return s.fail(c, p, err)
	}
	p.Data = adminapi.TenantView(s.api.Service, t)
	if confirm := c.FormValue("confirm"); confirm != t.Slug {
		p.Values["confirm"] = strings.Clone(confirm)
		p.Errors["confirm"] = p.T("op.confirm.mismatch", "Slug", t.Slug)
		p.FormError = "op.form.has_errors"
		return s.Render(c, fiber.StatusUnprocessableEntity, "tenant_delete", p)
	}
	if err := s.api.Service.Delete(ctx, t.Slug); err != nil {
		return s.fail(c, p, err)
	}
	return see(c, "/tenants?done=deleted")
}
