package console

import (
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/auth/authhttp"
	"github.com/tenancy/platform/tenant/httpx"
	"github.com/tenancy/platform/tenant/i18n"
)

// start is the common beginning of a handler: the tenant and the
// request's session (nil: anonymous). A failure is already rendered: the
// handler returns done.
func (s *Console) start(c *fiber.Ctx, title string) (t *tenant.Tenant, sess *session, p *Page, done error) {
	t = s.cfg.Tenant(c)
	if t == nil {
		return nil, nil, nil, errors.New("console: no tenant in the request context (mounted outside router.Config.Routes?)")
	}
	sess, err := s.session(c, t)
	p = s.page(c, t, sess, title)
	if err != nil {
		return t, nil, p, s.fail(c, p, err)
	}
	return t, sess, p, nil
}

// see is a 303 to path (after a POST, the browser GETs it).
func see(c *fiber.Ctx, path string) error { return c.Redirect(path, fiber.StatusSeeOther) }

// home: GET /, the home page of the tenant's kind.
func (s *Console) home(c *fiber.Ctx) error {
	_, sess, p, done := s.start(c, "home.title")
	if p == nil || done != nil {
		return done
	}
	switch {
	case sess == nil:
		return see(c, "/login")
	case sess.principal.MustChangePassword:
		return see(c, "/password")
	}
	if c.Query("done") == "password" {
		p.Notice = "password_change.done"
	}
	return s.Render(c, fiber.StatusOK, tplHome, p)
}

// loginForm: GET /login.
func (s *Console) loginForm(c *fiber.Ctx) error {
	_, sess, p, done := s.start(c, "login.title")
	if p == nil || done != nil {
		return done
	}
	if sess != nil {
		return see(c, "/")
	}
	switch c.Query("done") {
	case "logout":
		p.Notice = "logout.done"
	case "reset":
		p.Notice = "password_reset.done"
	}
	return s.Render(c, fiber.StatusOK, tplLogin, p)
}

// login: POST /login {username, password}.
func (s *Console) login(c *fiber.Ctx) error {
	t, prev, p, done := s.start(c, "login.title")
	if p == nil || done != nil {
		return done
	}
	// Before login: the origin check, whatever cookie the browser has.
	if !s.sameOrigin(c) {
		return s.forbidden(c, p)
	}
	username := strings.Clone(c.FormValue("username"))
	password := strings.Clone(c.FormValue("password"))
	p.Values["username"] = username
	e := s.env(c, t, nil)
	if err := s.allow(c, t, e.IP); err != nil {
		return s.formError(c, p, tplLogin, err)
	}
	sec, err := s.cfg.Secrets.Get(c.UserContext(), t.Slug)
	if err != nil {
		return s.fail(c, p, tenant.Errorf(tenant.ETenantUnavailable, "read the tenant's secrets: %v", err))
	}
	var res auth.LoginResult
	err = s.withDB(c, &e, func() (err error) {
		res, err = s.cfg.Service.Login(c.UserContext(), e, username, password)
		return err
	})
	if err != nil {
		switch tenant.ErrorCode(err) {
		case tenant.EValidation:
			for f := range tenant.ErrorFields(err) {
				p.Errors[f] = s.t(p, "validation.required")
			}
			p.FormError = "validation.form_has_errors"
			return s.Render(c, fiber.StatusUnprocessableEntity, tplLogin, p)
		case tenant.EInvalidCredentials:
			p.FormError = "login.invalid_credentials"
			return s.Render(c, fiber.StatusUnauthorized, tplLogin, p)
		case tenant.EAccountLocked:
			p.FormError = "login.account_locked"
			return s.Render(c, fiber.StatusForbidden, tplLogin, p)
		}
		return s.formError(c, p, tplLogin, err)
	}
	tok, err := auth.IssueToken([]byte(sec["jwt_secret"]), t.ID, res.Secret, res.Session.ExpiresAt)
	if err != nil {
		if rerr := s.cfg.Sessions.Revoke(c.UserContext(), t.ID, res.Session.ID); rerr != nil {
			s.cfg.Logger.WarnContext(c.UserContext(), "revoke a session without a token", "err", rerr)
		}
		return s.fail(c, p, err)
	}
	c.Cookie(authhttp.SessionCookie(tok, res.Session.ExpiresAt, s.isTLS(c)))
	if l, ok := i18n.ParseLang(res.User.Language); ok {
		// The user's choice follows them to this browser's later
		// anonymous pages too (the login page after logout).
		s.setLangCookie(c, l)
	}
	if prev != nil {
		// The browser's earlier session is replaced: end it rather than
		// leave it live and unreachable until its timeout.
		if err := s.cfg.Sessions.Revoke(c.UserContext(), t.ID, prev.principal.Session); err != nil &&
			tenant.ErrorCode(err) != tenant.EUnauthenticated {
			s.cfg.Logger.WarnContext(c.UserContext(), "console: end the replaced session", "err", err)
		}
	}
	if res.User.MustChangePassword {
		return see(c, "/password")
	}
	return see(c, "/")
}

// formError renders the form again with the message of a rate limit or an
// unavailable dependency, or the 500 page.
func (s *Console) formError(c *fiber.Ctx, p *Page, name string, err error) error {
	status, msg := statusOf(err)
	if status == fiber.StatusInternalServerError {
		return s.fail(c, p, err)
	}
	p.FormError = msg
	return s.Render(c, status, name, p)
}

// t renders a message for a field error (the key is the catalog's: an
// error here is a bug the page tests catch).
func (s *Console) t(p *Page, key string, args ...any) string {
	m, err := p.L.T(key, args...)
	if err != nil {
		return key
	}
	return m
}

func (s *Console) n(p *Page, key string, n int) string {
	m, err := p.L.N(key, n)
	if err != nil {
		return key
	}
	return m
}

// passwordForm: GET /password (forced or voluntary change).
func (s *Console) passwordForm(c *fiber.Ctx) error {
	_, sess, p, done := s.start(c, "password_change.title")
	if p == nil || done != nil {
		return done
	}
	if sess == nil {
		return see(c, "/login")
	}
	p.Forced = sess.principal.MustChangePassword
	return s.Render(c, fiber.StatusOK, tplPassword, p)
}

// newPasswordErrors checks the new password's length and its repetition
// before the service (which checks the rest), with the console's
// messages; field is the new password's field name.
func (s *Console) newPasswordErrors(p *Page, next, repeat string) {
	switch {
	case utf8.RuneCountInString(next) < auth.MinPasswordChars:
		p.Errors["new_password"] = s.n(p, "password_change.too_short", auth.MinPasswordChars)
	case len(next) > auth.MaxPasswordBytes:
		p.Errors["new_password"] = s.n(p, "validation.too_long", auth.MaxPasswordBytes)
	}
	if next != repeat {
		p.Errors["repeat_password"] = s.t(p, "password_change.mismatch")
	}
}

// serviceNewPasswordError is the message of the service's refusal of a
// new password that passed newPasswordErrors: the strength check.
func (s *Console) serviceNewPasswordError(p *Page) string {
	return s.t(p, "password_change.too_common")
}

// changePassword: POST /password {current_password, new_password, repeat_password}.
func (s *Console) changePassword(c *fiber.Ctx) error {
	t, sess, p, done := s.start(c, "password_change.title")
	if p == nil || done != nil {
		return done
	}
	if sess == nil {
		if !s.sameOrigin(c) {
			return s.forbidden(c, p)
		}
		return see(c, "/login")
	}
	if !s.checkForm(c, t, sess) {
		return s.forbidden(c, p)
	}
	p.Forced = sess.principal.MustChangePassword
	current := strings.Clone(c.FormValue("current_password"))
	next := strings.Clone(c.FormValue("new_password"))
	repeat := strings.Clone(c.FormValue("repeat_password"))
	if current == "" {
		p.Errors["current_password"] = s.t(p, "validation.required")
	}
	s.newPasswordErrors(p, next, repeat)
	if len(p.Errors) == 0 && next == current {
		p.Errors["new_password"] = s.t(p, "password_change.same_as_current")
	}
	if len(p.Errors) > 0 {
		p.FormError = "validation.form_has_errors"
		return s.Render(c, fiber.StatusUnprocessableEntity, tplPassword, p)
	}
	e := s.env(c, t, sess)
	err := s.withDB(c, &e, func() error { return s.cfg.Service.ChangePassword(c.UserContext(), e, current, next) })
	switch tenant.ErrorCode(err) {
	case "":
		return see(c, "/?done=password")
	case tenant.EValidation:
		f := tenant.ErrorFields(err)
		if _, ok := f["current_password"]; ok {
			p.Errors["current_password"] = s.t(p, "password_change.wrong_current")
		}
		if _, ok := f["new_password"]; ok {
			p.Errors["new_password"] = s.serviceNewPasswordError(p)
		}
		p.FormError = "validation.form_has_errors"
		return s.Render(c, fiber.StatusUnprocessableEntity, tplPassword, p)
	case tenant.EAccountLocked:
		// Too many wrong current passwords: the account is locked and
		// its sessions ended.
		s.clearSession(c)
		p.User, p.CSRF, p.Nav, p.Title = nil, "", nil, "login.title"
		p.FormError = "login.account_locked"
		return s.Render(c, fiber.StatusForbidden, tplLogin, p)
	case tenant.EUnauthenticated:
		s.clearSession(c)
		return see(c, "/login")
	}
	return s.formError(c, p, tplPassword, err)
}

// resetRequestForm: GET /password/reset.
func (s *Console) resetRequestForm(c *fiber.Ctx) error {
	_, _, p, done := s.start(c, "password_reset.request_title")
	if p == nil || done != nil {
		return done
	}
	return s.Render(c, fiber.StatusOK, tplResetRequest, p)
}

// resetRequest: POST /password/reset {username}: the same answer whether
// or not the account exists.
func (s *Console) resetRequest(c *fiber.Ctx) error {
	t, _, p, done := s.start(c, "password_reset.request_title")
	if p == nil || done != nil {
		return done
	}
	if !s.sameOrigin(c) {
		return s.forbidden(c, p)
	}
	username := strings.Clone(c.FormValue("username"))
	if strings.TrimSpace(username) == "" {
		p.Errors["username"] = s.t(p, "validation.required")
		p.FormError = "validation.form_has_errors"
		return s.Render(c, fiber.StatusUnprocessableEntity, tplResetRequest, p)
	}
	e := s.env(c, t, nil)
	if err := s.allow(c, t, e.IP); err != nil {
		p.Values["username"] = username
		return s.formError(c, p, tplResetRequest, err)
	}
	err := s.withDB(c, &e, func() error { return s.cfg.Service.RequestReset(c.UserContext(), e, username) })
	if err != nil && tenant.ErrorCode(err) != tenant.EValidation {
		p.Values["username"] = username
		return s.formError(c, p, tplResetRequest, err)
	}
	p.Notice = "password_reset.request_sent"
	return s.Render(c, fiber.StatusOK, tplResetRequest, p)
}

// resetConfirmForm: GET /password/reset/confirm?token=… (and
// /reset-password?token=…): the form, the token in a hidden field.
func (s *Console) resetConfirmForm(c *fiber.Ctx) error {
	_, _, p, done := s.start(c, "password_reset.confirm_title")
	if p == nil || done != nil {
		return done
	}
	// The page's token is never put back in a link: the language switch
	// returns to the path without it (Page.Path).
	p.Path = "/password/reset/confirm"
	p.Token = strings.Clone(c.Query("token"))
	if p.Token == "" {
		p.FormError = "password_reset.token_invalid"
	}
	// The token is in this page's URL: no other site learns it.
	c.Set(fiber.HeaderReferrerPolicy, "same-origin")
	return s.Render(c, fiber.StatusOK, tplResetConfirm, p)
}

// resetConfirm: POST /password/reset/confirm {token, new_password, repeat_password}.
func (s *Console) resetConfirm(c *fiber.Ctx) error {
	t, _, p, done := s.start(c, "password_reset.confirm_title")
	if p == nil || done != nil {
		return done
	}
	if !s.sameOrigin(c) {
		return s.forbidden(c, p)
	}
	c.Set(fiber.HeaderReferrerPolicy, "same-origin")
	p.Token = strings.Clone(c.FormValue("token"))
	next := strings.Clone(c.FormValue("new_password"))
	repeat := strings.Clone(c.FormValue("repeat_password"))
	if p.Token == "" {
		p.FormError = "password_reset.token_invalid"
		return s.Render(c, fiber.StatusUnprocessableEntity, tplResetConfirm, p)
	}
	s.newPasswordErrors(p, next, repeat)
	if len(p.Errors) > 0 {
		p.FormError = "validation.form_has_errors"
		return s.Render(c, fiber.StatusUnprocessableEntity, tplResetConfirm, p)
	}
	e := s.env(c, t, nil)
	if err := s.allow(c, t, e.IP); err != nil {
		return s.formError(c, p, tplResetConfirm, err)
	}
	err := s.withDB(c, &e, func() error { return s.cfg.Service.ConfirmReset(c.UserContext(), e, p.Token, next) })
	switch tenant.ErrorCode(err) {
	case "":
		// Done: the login page, without the token anywhere.
		return see(c, "/login?done=reset")
	case tenant.EValidation:
		f := tenant.ErrorFields(err)
		if _, ok := f["token"]; ok {
			p.Token = ""
			p.FormError = "password_reset.token_invalid"
			return s.Render(c, fiber.StatusUnprocessableEntity, tplResetConfirm, p)
		}
		p.Errors["new_password"] = s.serviceNewPasswordError(p)
		p.FormError = "validation.form_has_errors"
		return s.Render(c, fiber.StatusUnprocessableEntity, tplResetConfirm, p)
	}
	return s.formError(c, p, tplResetConfirm, err)
}

// logout: POST /logout ends the session.
func (s *Console) logout(c *fiber.Ctx) error {
	t, sess, p, done := s.start(c, "login.title")
	if p == nil || done != nil {
		return done
	}
	if sess == nil {
		if !s.sameOrigin(c) {
			return s.forbidden(c, p)
		}
		return see(c, "/login")
	}
	if !s.checkForm(c, t, sess) {
		return s.forbidden(c, p)
	}
	e := s.env(c, t, sess)
	err := s.withDB(c, &e, func() error { return s.cfg.Service.Logout(c.UserContext(), e) })
	if err != nil && tenant.ErrorCode(err) != tenant.EUnauthenticated {
		return s.fail(c, p, err)
	}
	s.clearSession(c)
	return see(c, "/login?done=logout")
}

// switchLang: POST /lang {lang, next}: remembers the choice in the lang
// cookie and, for a logged-in user, in the user's row and sessions (so it
// follows them to other browsers), and returns to next, a path of this
// host.
func (s *Console) switchLang(c *fiber.Ctx) error {
	t, sess, p, done := s.start(c, "lang.switch")
	if p == nil || done != nil {
		return done
	}
	if !s.checkForm(c, t, sess) {
		return s.forbidden(c, p)
	}
	lang, ok := i18n.ParseLang(c.FormValue("lang"))
	if !ok {
		p.Title, p.FormError = "error.title", "validation.invalid_choice"
		return s.Render(c, fiber.StatusUnprocessableEntity, tplError, p)
	}
	if sess != nil {
		e := s.env(c, t, sess)
		if err := s.withDB(c, &e, func() error { return s.cfg.Service.SetLanguage(c.UserContext(), e, lang.String()) }); err != nil {
			return s.fail(c, p, err)
		}
	}
	s.setLangCookie(c, lang)
	return see(c, httpx.LocalPath(c.FormValue("next")))
}

// setLangCookie remembers lang in this browser for a year.
func (s *Console) setLangCookie(c *fiber.Ctx, lang i18n.Lang) {
	c.Cookie(&fiber.Cookie{
		Name: LangCookie, Value: lang.String(), Path: "/", Expires: s.cfg.Now().Add(365 * 24 * time.Hour),
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: s.isTLS(c),
	})
}
