package authhttp

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/audit"
	"github.com/tenancy/platform/tenant/auth"
)

type loginResponse struct {
	Token              string    `json:"token"`
	ExpiresAt          time.Time `json:"expires_at"`
	MustChangePassword bool      `json:"must_change_password"`
	User               auth.User `json:"user"`
	CSRFToken          string    `json:"csrf_token"`
}

// login: POST /api/auth/login {"username","password"}.
func (h *Handlers) login(c *fiber.Ctx) error {
	t, err := h.tenant(c)
	if err != nil {
		return err
	}
	e := h.env(c, t)
	if err := h.allow(c, t, e.IP); err != nil {
		return err
	}
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	// Secrets before the session: a session no token can name is litter.
	sec, err := h.secrets(c, t)
	if err != nil {
		return err
	}
	var res auth.LoginResult
	if err := h.withDB(c, &e, func() (err error) {
		res, err = h.cfg.Service.Login(c.UserContext(), e, in.Username, in.Password)
		return err
	}); err != nil {
		return err
	}
	tok, err := auth.IssueToken([]byte(sec["jwt_secret"]), t.ID, res.Secret, res.Session.ExpiresAt)
	if err != nil {
		if rerr := h.cfg.Sessions.Revoke(c.UserContext(), t.ID, res.Session.ID); rerr != nil {
			h.cfg.Logger.WarnContext(c.UserContext(), "revoke a session without a token", "err", rerr)
		}
		return err
	}
	h.setCookie(c, tok, res.Session.ExpiresAt)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(loginResponse{
		Token:              tok,
		ExpiresAt:          res.Session.ExpiresAt,
		MustChangePassword: res.User.MustChangePassword,
		User:               res.User,
		CSRFToken:          auth.CSRFToken([]byte(sec["csrf_secret"]), t.ID, res.Session.ID),
	})
}

// logout: POST /api/auth/logout ends the current session.
func (h *Handlers) logout(c *fiber.Ctx) error {
	e := h.env(c, h.cfg.Tenant(c))
	if err := h.withDB(c, &e, func() error { return h.cfg.Service.Logout(c.UserContext(), e) }); err != nil {
		return err
	}
	h.clearCookie(c)
	return c.SendStatus(fiber.StatusNoContent)
}

type sessionView struct {
	ID        string    `json:"id"`
	ExpiresAt time.Time `json:"expires_at"`
}

type meResponse struct {
	User        auth.User   `json:"user"`
	Permissions []string    `json:"permissions"`
	Session     sessionView `json:"session"`
	// CSRFToken lets a page that was reloaded (the cookie is HttpOnly)
	// find its session's CSRF token again.
	CSRFToken string `json:"csrf_token"`
}

// me: GET /api/me.
func (h *Handlers) me(c *fiber.Ctx) error {
	s := stateOf(c)
	e := h.env(c, h.cfg.Tenant(c))
	var u auth.User
	if err := h.withDB(c, &e, func() (err error) {
		u, err = h.cfg.Service.Me(c.UserContext(), e)
		return err
	}); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(meResponse{
		User:        u,
		Permissions: nonNil(s.principal.Permissions),
		Session:     sessionView{ID: s.session.ID, ExpiresAt: s.session.ExpiresAt},
		CSRFToken:   auth.CSRFToken([]byte(s.secrets["csrf_secret"]), e.Tenant.ID, s.session.ID),
	})
}

// updateMe: PATCH /api/me {"language": "es"|"en"|""}: the user's own
// preferences (allowed while a password change is due: the forced-change
// page is in the chosen language too). Answers as GET /api/me.
func (h *Handlers) updateMe(c *fiber.Ctx) error {
	var in struct {
		Language *string `json:"language"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	if in.Language == nil {
		return tenant.Invalid(map[string]string{"language": "is required"})
	}
	e := h.env(c, h.cfg.Tenant(c))
	if err := h.withDB(c, &e, func() error {
		return h.cfg.Service.SetLanguage(c.UserContext(), e, *in.Language)
	}); err != nil {
		return err
	}
	return h.me(c)
}

// changePassword: POST /api/auth/change-password {"current_password","new_password"}.
func (h *Handlers) changePassword(c *fiber.Ctx) error {
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	e := h.env(c, h.cfg.Tenant(c))
	if err := h.withDB(c, &e, func() error {
		return h.cfg.Service.ChangePassword(c.UserContext(), e, in.Current, in.New)
	}); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// requestReset: POST /api/auth/password-reset {"username"}: 202 whether
// or not the user exists.
func (h *Handlers) requestReset(c *fiber.Ctx) error {
	t, err := h.tenant(c)
	if err != nil {
		return err
	}
	e := h.env(c, t)
	if err := h.allow(c, t, e.IP); err != nil {
		return err
	}
	var in struct {
		Username string `json:"username"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	if err := h.withDB(c, &e, func() error {
		return h.cfg.Service.RequestReset(c.UserContext(), e, in.Username)
	}); err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{
		"message": "if the account exists and has an e-mail address, a reset link is on its way",
	})
}

// confirmReset: POST /api/auth/password-reset/confirm {"token","new_password"}.
func (h *Handlers) confirmReset(c *fiber.Ctx) error {
	t, err := h.tenant(c)
	if err != nil {
		return err
	}
	e := h.env(c, t)
	if err := h.allow(c, t, e.IP); err != nil {
		return err
	}
	var in struct {
		Token string `json:"token"`
		New   string `json:"new_password"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	if err := h.withDB(c, &e, func() error {
		return h.cfg.Service.ConfirmReset(c.UserContext(), e, in.Token, in.New)
	}); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// listUsers: GET /api/users?q=&role=&active=&locked=&limit=&cursor=.
func (h *Handlers) listUsers(c *fiber.Ctx) error {
	f := auth.UserFilter{
		Q:      strings.Clone(c.Query("q")),
		Role:   strings.Clone(c.Query("role")),
		Cursor: strings.Clone(c.Query("cursor")),
	}
	bad := map[string]string{}
	f.Active = queryBool(c, "active", bad)
	f.Locked = queryBool(c, "locked", bad)
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			bad["limit"] = "must be a positive integer"
		}
		f.Limit = n
	}
	if err := tenant.Invalid(bad); err != nil {
		return err
	}
	e := h.env(c, h.cfg.Tenant(c))
	var page auth.UserPage
	if err := h.withDB(c, &e, func() (err error) {
		page, err = h.cfg.Service.ListUsers(c.UserContext(), e, f)
		return err
	}); err != nil {
		return err
	}
	page.Users = nonNil(page.Users)
	return c.JSON(page)
}

func queryBool(c *fiber.Ctx, name string, bad map[string]string) *bool {
	v := c.Query(name)
	if v == "" {
		return nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		bad[name] = "must be true or false"
		return nil
	}
	return &b
}

// createUser: POST /api/users.
func (h *Handlers) createUser(c *fiber.Ctx) error {
	var in struct {
		Username           string   `json:"username"`
		Email              string   `json:"email"`
		FullName           string   `json:"full_name"`
		Password           string   `json:"password"`
		Roles              []string `json:"roles"`
		MustChangePassword *bool    `json:"must_change_password"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	nu := auth.NewUser{
		Username: in.Username, Email: in.Email, FullName: in.FullName, Password: in.Password, Roles: in.Roles,
		// An admin set the password: the user changes it unless told otherwise.
		MustChangePassword: in.MustChangePassword == nil || *in.MustChangePassword,
	}
	e := h.env(c, h.cfg.Tenant(c))
	var u auth.User
	if err := h.withDB(c, &e, func() (err error) {
		u, err = h.cfg.Service.CreateUser(c.UserContext(), e, nu)
		return err
	}); err != nil {
		return err
	}
	c.Location("/api/users/" + strconv.FormatInt(u.ID, 10))
	return c.Status(fiber.StatusCreated).JSON(u)
}

// onUser serves GET /api/users/:id and POST /api/users/:id/unlock: the
// id from the path, the tenant's connection for the call, the user it
// returns as JSON.
func (h *Handlers) onUser(op func(context.Context, auth.Env, int64) (auth.User, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := pathID(c)
		if err != nil {
			return err
		}
		e := h.env(c, h.cfg.Tenant(c))
		var u auth.User
		if err := h.withDB(c, &e, func() (err error) {
			u, err = op(c.UserContext(), e, id)
			return err
		}); err != nil {
			return err
		}
		return c.JSON(u)
	}
}

// updateUser: PATCH /api/users/:id; absent fields stay as they are.
func (h *Handlers) updateUser(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var in struct {
		Email              *string   `json:"email"`
		FullName           *string   `json:"full_name"`
		Active             *bool     `json:"active"`
		Roles              *[]string `json:"roles"`
		MustChangePassword *bool     `json:"must_change_password"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	p := auth.UserPatch{Email: in.Email, FullName: in.FullName, Active: in.Active, Roles: in.Roles, MustChangePassword: in.MustChangePassword}
	e := h.env(c, h.cfg.Tenant(c))
	var u auth.User
	if err := h.withDB(c, &e, func() (err error) {
		u, err = h.cfg.Service.UpdateUser(c.UserContext(), e, id, p)
		return err
	}); err != nil {
		return err
	}
	return c.JSON(u)
}

// deleteUser: DELETE /api/users/:id.
func (h *Handlers) deleteUser(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	e := h.env(c, h.cfg.Tenant(c))
	if err := h.withDB(c, &e, func() error { return h.cfg.Service.DeleteUser(c.UserContext(), e, id) }); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// issueReset: POST /api/users/:id/password-reset → the one-time token,
// shown this once.
func (h *Handlers) issueReset(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	e := h.env(c, h.cfg.Tenant(c))
	var tok string
	var exp time.Time
	if err := h.withDB(c, &e, func() (err error) {
		tok, exp, err = h.cfg.Service.IssueReset(c.UserContext(), e, id)
		return err
	}); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"token": tok, "expires_at": exp})
}

// listSessions: GET /api/sessions (admins: the tenant's; others: their own).
func (h *Handlers) listSessions(c *fiber.Ctx) error {
	e := h.env(c, h.cfg.Tenant(c))
	// Redis only: no tenant connection taken.
	list, err := h.cfg.Service.ListSessions(c.UserContext(), e)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"sessions": nonNil(list)})
}

// revokeSession: DELETE /api/sessions/:id (a public handle).
func (h *Handlers) revokeSession(c *fiber.Ctx) error {
	handle := c.Params("id")
	if !isHandle(handle) {
		return tenant.Errorf(tenant.ENotFound, "no such session")
	}
	handle = strings.Clone(handle)
	e := h.env(c, h.cfg.Tenant(c))
	if err := h.withDB(c, &e, func() error { return h.cfg.Service.RevokeSession(c.UserContext(), e, handle) }); err != nil {
		return err
	}
	if handle == e.Principal.Session {
		h.clearCookie(c)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// isHandle: a session handle is the hex SHA-256 of its secret id.
func isHandle(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range len(s) {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// audit: GET /api/audit?actor=&action=&entity=&from=&to=&limit=&cursor=.
func (h *Handlers) audit(c *fiber.Ctx) error {
	f, err := audit.ParseFilter(func(k string) string { return strings.Clone(c.Query(k)) })
	if err != nil {
		return err
	}
	e := h.env(c, h.cfg.Tenant(c))
	var page audit.Page
	if err := h.withDB(c, &e, func() (err error) {
		page, err = audit.Query(c.UserContext(), e.DB, f)
		return err
	}); err != nil {
		return err
	}
	page.Entries = nonNil(page.Entries)
	return c.JSON(page)
}

// nonNil makes an empty list [] rather than null in JSON.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
