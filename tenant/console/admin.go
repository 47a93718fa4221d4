package console

// The admin screens: users (list, create, edit, deactivate, unlock, issue
// a reset token), the sessions panel and the audit log. Every change goes
// through auth.Service, as the identity API's does, so the audit rows are
// the same; the audit view reads with audit.Query, as GET /api/audit.
//
// Routes (adminRoutes):
//
//	GET  /users                    list (users.read), ?cursor= pages on
//	GET  /users/new                create form (users.manage)
//	POST /users/new                create
//	GET  /users/:id                the user; the edit form for users.manage
//	POST /users/:id                save name, e-mail, roles, active
//	POST /users/:id/deactivate     active = false
//	POST /users/:id/unlock         clear the lockout
//	POST /users/:id/reset          issue a reset token: shown in this answer only
//	GET  /sessions                 own sessions (all of the tenant's for users.manage)
//	POST /sessions/:id/revoke      end one (the current one: back to /login)
//	GET  /audit                    the log (audit.read), filters and cursor in the query
//
// Page data: Page.Data holds the screen's struct (usersData, userData,
// sessionsData, auditData); templates read it under {{with .Data}}.

import (
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/audit"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/httpx"
)

// The admin templates.
const (
	tplUsers    = "users"
	tplUserNew  = "user_new"
	tplUser     = "user"
	tplSessions = "sessions"
	tplAudit    = "audit"
)

// adminTemplates are parsed with the others (parseTemplates).
var adminTemplates = []string{tplUsers, tplUserNew, tplUser, tplSessions, tplAudit}

// adminRoutes adds the admin screens' routes (Routes calls it).
func (s *Console) adminRoutes(r fiber.Router) {
	h := s.headers
	r.Get("/users", h, s.usersList)
	r.Get("/users/new", h, s.userNewForm)
	r.Post("/users/new", h, s.userCreate)
	r.Get("/users/:id<int>", h, s.userShow)
	r.Post("/users/:id<int>", h, s.userSave)
	r.Post("/users/:id<int>/deactivate", h, s.userDeactivate)
	r.Post("/users/:id<int>/unlock", h, s.userUnlock)
	r.Post("/users/:id<int>/reset", h, s.userReset)
	r.Get("/sessions", h, s.sessionsList)
	r.Post("/sessions/:id/revoke", h, s.sessionRevoke)
	r.Get("/audit", h, s.auditList)
}

// authed starts a handler that needs a session and, unless perm is "",
// that permission. ok false: the answer is given (the login or password
// page, the 403 page, a refused form, a failure); the handler returns err.
func (s *Console) authed(c *fiber.Ctx, title, perm string) (t *tenant.Tenant, sess *session, p *Page, ok bool, err error) {
	t, sess, p, done := s.start(c, title)
	if p == nil || done != nil {
		return nil, nil, nil, false, done
	}
	post := c.Method() == fiber.MethodPost
	switch {
	case sess == nil && post && !s.sameOrigin(c):
		return nil, nil, nil, false, s.forbidden(c, p)
	case sess == nil:
		return nil, nil, nil, false, see(c, "/login")
	case post && !s.checkForm(c, t, sess):
		return nil, nil, nil, false, s.forbidden(c, p)
	case sess.principal.MustChangePassword:
		return nil, nil, nil, false, see(c, "/password")
	case perm != "" && !sess.principal.Can(perm):
		return nil, nil, nil, false, s.denied(c, p)
	}
	return t, sess, p, true, nil
}

// denied is the 403 page of a missing permission.
func (s *Console) denied(c *fiber.Ctx, p *Page) error {
	p.Title, p.FormError = "error.title", "error.forbidden"
	return s.Render(c, fiber.StatusForbidden, tplError, p)
}

// serviceError renders the service's refusals that are not a form's: 403,
// 404, else fail.
func (s *Console) serviceError(c *fiber.Ctx, p *Page, err error) error {
	switch tenant.ErrorCode(err) {
	case tenant.EForbidden:
		return s.denied(c, p)
	case tenant.ENotFound:
		p.Title, p.FormError = "error.title", "error.not_found"
		return s.Render(c, fiber.StatusNotFound, tplError, p)
	}
	return s.fail(c, p, err)
}

// --- users -----------------------------------------------------------

// usersData is the list page's data.
type usersData struct {
	Users      []auth.User
	NextCursor string
	CanManage  bool
}

// usersList: GET /users?cursor=.
func (s *Console) usersList(c *fiber.Ctx) error {
	t, sess, p, ok, err := s.authed(c, "users.title", auth.PermUsersRead)
	if !ok {
		return err
	}
	e := s.env(c, t, sess)
	var page auth.UserPage
	err = s.withDB(c, &e, func() (err error) {
		page, err = s.cfg.Service.ListUsers(c.UserContext(), e, auth.UserFilter{Cursor: strings.Clone(c.Query("cursor"))})
		return err
	})
	if tenant.ErrorCode(err) == tenant.EValidation {
		p.Title, p.FormError = "error.title", "users.bad_cursor"
		return s.Render(c, fiber.StatusUnprocessableEntity, tplError, p)
	}
	if err != nil {
		return s.serviceError(c, p, err)
	}
	switch c.Query("done") {
	case "deleted":
		p.Notice = "users.deleted"
	}
	p.Data = &usersData{Users: page.Users, NextCursor: page.NextCursor, CanManage: sess.principal.Can(auth.PermUsersManage)}
	return s.Render(c, fiber.StatusOK, tplUsers, p)
}

// userData is the data of the create and edit pages.
type userData struct {
	User      auth.User
	Roles     []roleChoice
	CanManage bool
	// ResetToken and ResetLink are the token just issued: in this answer
	// only (never in a URL, never stored).
	ResetToken, ResetLink string
	ResetExpires          time.Time
}

// roleChoice is one checkbox of the roles.
type roleChoice struct {
	Name    string
	Checked bool
}

// tenantRoles lists the tenant's role names (the kind's roles, from its
// migrations). auth.Service has no call for it yet: this reads the roles
// table on the request's connection (the app role may read it).
func tenantRoles(c *fiber.Ctx, e auth.Env) ([]string, error) {
	rows, err := e.DB.Query(c.UserContext(), `SELECT name FROM roles ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

func choices(all, checked []string) []roleChoice {
	out := make([]roleChoice, 0, len(all))
	for _, n := range all {
		ch := false
		for _, c := range checked {
			if c == n {
				ch = true
			}
		}
		out = append(out, roleChoice{Name: n, Checked: ch})
	}
	return out
}

// formRoles is the checked roles of the form.
func formRoles(c *fiber.Ctx) []string {
	var out []string
	for _, v := range c.Context().PostArgs().PeekMulti("roles") {
		out = append(out, string(v))
	}
	return out
}

// userNewForm: GET /users/new.
func (s *Console) userNewForm(c *fiber.Ctx) error {
	t, sess, p, ok, err := s.authed(c, "users.new_title", auth.PermUsersManage)
	if !ok {
		return err
	}
	e := s.env(c, t, sess)
	var roles []string
	if err := s.withDB(c, &e, func() (err error) { roles, err = tenantRoles(c, e); return err }); err != nil {
		return s.fail(c, p, err)
	}
	p.Values["must_change_password"] = "on"
	p.Data = &userData{Roles: choices(roles, nil), CanManage: true}
	return s.Render(c, fiber.StatusOK, tplUserNew, p)
}

// fieldMessage is the console's message for a field the service refused.
func (s *Console) fieldMessage(p *Page, field, value string) string {
	if strings.TrimSpace(value) == "" && field != "email" && field != "roles" {
		return s.t(p, "validation.required")
	}
	switch field {
	case "username":
		return s.t(p, "users.err_username")
	case "email":
		return s.t(p, "validation.invalid_email")
	case "full_name":
		return s.t(p, "users.err_full_name")
	case "password":
		return s.t(p, "users.err_password")
	case "roles":
		return s.t(p, "validation.invalid_choice")
	}
	return s.t(p, "validation.form_has_errors")
}

// userCreate: POST /users/new {username, full_name, email, password, roles…, must_change_password}.
func (s *Console) userCreate(c *fiber.Ctx) error {
	t, sess, p, ok, err := s.authed(c, "users.new_title", auth.PermUsersManage)
	if !ok {
		return err
	}
	nu := auth.NewUser{
		Username: strings.Clone(c.FormValue("username")), FullName: strings.Clone(c.FormValue("full_name")),
		Email: strings.Clone(c.FormValue("email")), Password: strings.Clone(c.FormValue("password")),
		Roles: formRoles(c), MustChangePassword: c.FormValue("must_change_password") != "",
	}
	p.Values["username"], p.Values["full_name"], p.Values["email"] = nu.Username, nu.FullName, nu.Email
	if nu.MustChangePassword {
		p.Values["must_change_password"] = "on"
	}
	e := s.env(c, t, sess)
	var u auth.User
	var roles []string
	err = s.withDB(c, &e, func() (err error) {
		if roles, err = tenantRoles(c, e); err != nil {
			return err
		}
		u, err = s.cfg.Service.CreateUser(c.UserContext(), e, nu)
		return err
	})
	switch tenant.ErrorCode(err) {
	case "":
		return see(c, "/users/"+strconv.FormatInt(u.ID, 10)+"?done=created")
	case tenant.EValidation, tenant.EConflict:
		if tenant.ErrorCode(err) == tenant.EConflict {
			f := "username"
			if strings.Contains(tenant.ErrorMessage(err), "email") {
				f = "email"
			}
			p.Errors[f] = s.t(p, "validation.duplicate")
		}
		vals := map[string]string{"username": nu.Username, "full_name": nu.FullName, "email": nu.Email, "password": nu.Password, "roles": "x"}
		for f := range tenant.ErrorFields(err) {
			p.Errors[f] = s.fieldMessage(p, f, vals[f])
		}
		p.FormError = "validation.form_has_errors"
		p.Data = &userData{Roles: choices(roles, nu.Roles), CanManage: true}
		return s.Render(c, fiber.StatusUnprocessableEntity, tplUserNew, p)
	}
	return s.serviceError(c, p, err)
}

// userPage loads the user of the path into p (and the roles for a
// manager).
func (s *Console) userPage(c *fiber.Ctx, e *auth.Env, p *Page, sess *session, d *userData) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return tenant.Errorf(tenant.ENotFound, "no such user")
	}
	d.CanManage = sess.principal.Can(auth.PermUsersManage)
	return s.withDB(c, e, func() error {
		u, err := s.cfg.Service.GetUser(c.UserContext(), *e, id)
		if err != nil {
			return err
		}
		d.User = u
		if d.CanManage {
			all, err := tenantRoles(c, *e)
			if err != nil {
				return err
			}
			d.Roles = choices(all, u.Roles)
		}
		return nil
	})
}

// userShow: GET /users/:id.
func (s *Console) userShow(c *fiber.Ctx) error {
	t, sess, p, ok, err := s.authed(c, "users.edit_title", auth.PermUsersRead)
	if !ok {
		return err
	}
	e := s.env(c, t, sess)
	d := &userData{}
	if err := s.userPage(c, &e, p, sess, d); err != nil {
		return s.serviceError(c, p, err)
	}
	switch c.Query("done") {
	case "created":
		p.Notice = "users.created"
	case "saved":
		p.Notice = "users.saved"
	case "deactivated":
		p.Notice = "users.deactivated"
	case "unlocked":
		p.Notice = "users.unlocked"
	}
	p.Data = d
	return s.Render(c, fiber.StatusOK, tplUser, p)
}

// userID is the path's user id (the route allows digits only).
func userID(c *fiber.Ctx) int64 {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return 0
	}
	return id
}

// userSave: POST /users/:id {full_name, email, roles…, active}.
func (s *Console) userSave(c *fiber.Ctx) error {
	t, sess, p, ok, err := s.authed(c, "users.edit_title", auth.PermUsersManage)
	if !ok {
		return err
	}
	id := userID(c)
	name, email := strings.Clone(c.FormValue("full_name")), strings.Clone(c.FormValue("email"))
	roles := formRoles(c)
	active := c.FormValue("active") != ""
	e := s.env(c, t, sess)
	err = s.withDB(c, &e, func() error {
		_, err := s.cfg.Service.UpdateUser(c.UserContext(), e, id, auth.UserPatch{FullName: &name, Email: &email, Roles: &roles, Active: &active})
		return err
	})
	switch tenant.ErrorCode(err) {
	case "":
		return see(c, "/users/"+strconv.FormatInt(id, 10)+"?done=saved")
	case tenant.EValidation, tenant.EConflict:
		d := &userData{}
		if lerr := s.userPage(c, &e, p, sess, d); lerr != nil {
			return s.serviceError(c, p, lerr)
		}
		d.User.FullName, d.User.Email, d.User.Active = name, email, active
		d.Roles = choices(rolesOf(d.Roles), roles)
		if tenant.ErrorCode(err) == tenant.EConflict {
			if strings.Contains(tenant.ErrorMessage(err), "email") {
				p.Errors["email"] = s.t(p, "validation.duplicate")
			} else {
				p.FormError = "users.last_admin"
			}
		}
		vals := map[string]string{"full_name": name, "email": email, "roles": "x"}
		for f := range tenant.ErrorFields(err) {
			p.Errors[f] = s.fieldMessage(p, f, vals[f])
		}
		if p.FormError == "" {
			p.FormError = "validation.form_has_errors"
		}
		p.Data = d
		return s.Render(c, fiber.StatusUnprocessableEntity, tplUser, p)
	}
	return s.serviceError(c, p, err)
}

func rolesOf(cs []roleChoice) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// userAction runs a one-button change on the path's user and returns to
// its page with done, or renders the page with the refusal.
func (s *Console) userAction(c *fiber.Ctx, done string, op func(e auth.Env, id int64) error) error {
	t, sess, p, ok, err := s.authed(c, "users.edit_title", auth.PermUsersManage)
	if !ok {
		return err
	}
	id := userID(c)
	e := s.env(c, t, sess)
	err = s.withDB(c, &e, func() error { return op(e, id) })
	if err == nil {
		return see(c, "/users/"+strconv.FormatInt(id, 10)+"?done="+done)
	}
	if tenant.ErrorCode(err) == tenant.EConflict {
		d := &userData{}
		if lerr := s.userPage(c, &e, p, sess, d); lerr != nil {
			return s.serviceError(c, p, lerr)
		}
		p.FormError, p.Data = "users.last_admin", d
		return s.Render(c, fiber.StatusConflict, tplUser, p)
	}
	return s.serviceError(c, p, err)
}

// userDeactivate: POST /users/:id/deactivate.
func (s *Console) userDeactivate(c *fiber.Ctx) error {
	return s.userAction(c, "deactivated", func(e auth.Env, id int64) error {
		off := false
		_, err := s.cfg.Service.UpdateUser(c.UserContext(), e, id, auth.UserPatch{Active: &off})
		return err
	})
}

// userUnlock: POST /users/:id/unlock.
func (s *Console) userUnlock(c *fiber.Ctx) error {
	return s.userAction(c, "unlocked", func(e auth.Env, id int64) error {
		_, err := s.cfg.Service.Unlock(c.UserContext(), e, id)
		return err
	})
}

// userReset: POST /users/:id/reset issues a reset token and shows it in
// this answer only (200, no-store; no redirect, so it is in no URL).
func (s *Console) userReset(c *fiber.Ctx) error {
	t, sess, p, ok, err := s.authed(c, "users.edit_title", auth.PermUsersManage)
	if !ok {
		return err
	}
	id := userID(c)
	e := s.env(c, t, sess)
	var tok string
	var exp time.Time
	err = s.withDB(c, &e, func() (err error) {
		tok, exp, err = s.cfg.Service.IssueReset(c.UserContext(), e, id)
		return err
	})
	if err != nil {
		return s.serviceError(c, p, err)
	}
	d := &userData{ResetToken: tok, ResetLink: httpx.BaseURL(c, s.cfg.Proxies) + "/reset-password?token=" + url.QueryEscape(tok), ResetExpires: exp}
	if err := s.userPage(c, &e, p, sess, d); err != nil {
		return s.serviceError(c, p, err)
	}
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	p.Notice, p.Data = "users.reset_issued", d
	return s.Render(c, fiber.StatusOK, tplUser, p)
}

// --- sessions --------------------------------------------------------

// sessionsData is the panel's data.
type sessionsData struct {
	Sessions []auth.SessionInfo
	All      bool // the tenant's sessions (an admin), not only one's own
}

// sessionsList: GET /sessions.
func (s *Console) sessionsList(c *fiber.Ctx) error {
	t, sess, p, ok, err := s.authed(c, "sessions.title", "")
	if !ok {
		return err
	}
	e := s.env(c, t, sess)
	list, err := s.cfg.Service.ListSessions(c.UserContext(), e)
	if err != nil {
		return s.serviceError(c, p, err)
	}
	if c.Query("done") == "revoked" {
		p.Notice = "sessions.revoked"
	}
	p.Data = &sessionsData{Sessions: list, All: sess.principal.Can(auth.PermUsersManage)}
	return s.Render(c, fiber.StatusOK, tplSessions, p)
}

// sessionRevoke: POST /sessions/:id/revoke.
func (s *Console) sessionRevoke(c *fiber.Ctx) error {
	t, sess, p, ok, err := s.authed(c, "sessions.title", "")
	if !ok {
		return err
	}
	handle := strings.Clone(c.Params("id"))
	e := s.env(c, t, sess)
	err = s.withDB(c, &e, func() error { return s.cfg.Service.RevokeSession(c.UserContext(), e, handle) })
	if err != nil {
		return s.serviceError(c, p, err)
	}
	if handle == sess.principal.Session {
		s.clearSession(c)
		return see(c, "/login?done=logout")
	}
	return see(c, "/sessions?done=revoked")
}

// --- audit -----------------------------------------------------------

// auditData is the audit page's data.
type auditData struct {
	Entries []audit.Entry
	// Filter is the form's values as typed (dates YYYY-MM-DD in the
	// tenant's zone).
	Filter    map[string]string
	NextHref  template.URL // the next page's link ("": none)
	HasFilter bool
}

// auditList: GET /audit?actor=&action=&entity=&from=&to=&cursor=. from and
// to are dates in the tenant's time zone (to included).
func (s *Console) auditList(c *fiber.Ctx) error {
	t, sess, p, ok, err := s.authed(c, "audit.title", auth.PermAuditRead)
	if !ok {
		return err
	}
	vals := map[string]string{}
	for _, k := range []string{"actor", "action", "entity", "from", "to"} {
		vals[k] = strings.Clone(strings.TrimSpace(c.Query(k)))
	}
	cursor := strings.Clone(c.Query("cursor"))
	zone := p.L.Locale().Zone()
	bounds := map[string]string{}
	days := map[string]time.Time{}
	for _, k := range []string{"from", "to"} {
		if vals[k] == "" {
			continue
		}
		d, err := time.ParseInLocation(time.DateOnly, vals[k], zone)
		if err != nil {
			p.Errors[k] = s.t(p, "validation.invalid_date")
			continue
		}
		if k == "to" {
			d = d.AddDate(0, 0, 1) // the day included: To is exclusive
		}
		days[k] = d
		bounds[k] = d.Format(time.RFC3339Nano)
	}
	if len(p.Errors) == 0 && !days["from"].IsZero() && !days["to"].IsZero() && !days["to"].After(days["from"]) {
		p.Errors["to"] = s.t(p, "validation.end_before_start")
	}
	d := &auditData{Filter: vals}
	for k, v := range vals {
		p.Values[k] = v
	}
	for _, k := range []string{"actor", "action", "entity", "from", "to"} {
		d.HasFilter = d.HasFilter || vals[k] != ""
	}
	p.Data = d
	if len(p.Errors) > 0 {
		p.FormError = "validation.form_has_errors"
		return s.Render(c, fiber.StatusUnprocessableEntity, tplAudit, p)
	}
	f, err := audit.ParseFilter(func(k string) string {
		switch k {
		case "from", "to":
			return bounds[k]
		case "cursor":
			return cursor
		case "actor", "action", "entity":
			return vals[k]
		}
		return ""
	})
	if err != nil {
		for k := range tenant.ErrorFields(err) {
			if k == "cursor" {
				p.FormError = "audit.bad_cursor"
				continue
			}
			p.Errors[k] = s.t(p, "validation.invalid_choice")
		}
		if p.FormError == "" {
			p.FormError = "validation.form_has_errors"
		}
		return s.Render(c, fiber.StatusUnprocessableEntity, tplAudit, p)
	}
	e := s.env(c, t, sess)
	var page audit.Page
	if err := s.withDB(c, &e, func() (err error) { page, err = audit.Query(c.UserContext(), e.DB, f); return err }); err != nil {
		return s.fail(c, p, err)
	}
	d.Entries = page.Entries
	if page.NextCursor != "" {
		q := url.Values{}
		for k, v := range vals {
			if v != "" {
				q.Set(k, v)
			}
		}
		q.Set("cursor", page.NextCursor)
		d.NextHref = template.URL("/audit?" + q.Encode()) // #nosec: our own path and encoded query
	}
	return s.Render(c, fiber.StatusOK, tplAudit, p)
}
