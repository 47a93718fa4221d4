package auth

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/audit"
	"github.com/tenancy/platform/tenant/auth/authpg"
)

var (
	errInvalidCredentials = tenant.Errorf(tenant.EInvalidCredentials, "wrong username or password")
	errLocked             = tenant.Errorf(tenant.EAccountLocked, "this account is locked after too many failed logins: ask an administrator to unlock it")
)

// maxLoginUsername bounds what a login attempt looks up and audits.
const maxLoginUsername = 256

// lookup finds a user by the name given at login; a name that no user can
// have (too long, not UTF-8, which PostgreSQL would refuse) is nobody's.
func lookup(ctx context.Context, db DBTX, username string) (authpg.Account, error) {
	if len(username) > maxLoginUsername || !utf8.ValidString(username) {
		return authpg.Account{}, authpg.ErrNoUser
	}
	return authpg.ByUsername(ctx, db, username)
}

// Login checks a username and password and opens a session.
func (s *Service) Login(ctx context.Context, e Env, username, password string) (LoginResult, error) {
	username = strings.TrimSpace(username)
	fields := map[string]string{}
	if username == "" {
		fields["username"] = "is required"
	}
	if password == "" {
		fields["password"] = "is required"
	}
	if err := tenant.Invalid(fields); err != nil {
		return LoginResult{}, err
	}
	a, err := lookup(ctx, e.DB, username)
	if errors.Is(err, authpg.ErrNoUser) {
		// Same work as a wrong password: the answer does not tell whether
		// the user exists, nor does its time.
		verifyPassword(s.dummy, password)
		s.record(ctx, e, nil, audit.Entry{Action: audit.LoginFailure, Actor: username, Outcome: audit.Failure,
			Details: map[string]any{"reason": "unknown_user"}})
		return LoginResult{}, errInvalidCredentials
	}
	if err != nil {
		return LoginResult{}, internal("login", err)
	}
	uid, name := actor(a)
	fail := func(reason string) {
		s.record(ctx, e, nil, audit.Entry{UserID: uid, Actor: name, Action: audit.LoginFailure, Entity: "user",
			EntityID: idString(a.ID), Outcome: audit.Failure, Details: map[string]any{"reason": reason}})
	}
	if !a.Active {
		verifyPassword(a.PasswordHash, password)
		fail("inactive")
		return LoginResult{}, errInvalidCredentials
	}
	if a.Locked {
		// No password check: a locked account answers the same whatever
		// the password, so it cannot be guessed at meanwhile.
		fail("locked")
		return LoginResult{}, errLocked
	}
	if !verifyPassword(a.PasswordHash, password) {
		return LoginResult{}, s.passwordFailed(ctx, e, a, "wrong_password", errInvalidCredentials)
	}
	newHash := ""
	if needsRehash(a.PasswordHash, s.cfg.BcryptCost) && len(password) <= MaxPasswordBytes {
		if newHash, err = HashPassword(password, s.cfg.BcryptCost); err != nil {
			return LoginResult{}, internal("rehash", err)
		}
	}
	a, err = authpg.RecordLogin(ctx, e.DB, a.ID, s.cfg.Now(), a.PasswordHash, newHash)
	if errors.Is(err, authpg.ErrNotLoggable) {
		// A concurrent failure locked it (or an admin deactivated it)
		// after the password check.
		fail("locked")
		return LoginResult{}, errLocked
	}
	if err != nil {
		return LoginResult{}, internal("login", err)
	}
	now := s.cfg.Now()
	secret, info, err := s.sessions.Create(ctx, e.Tenant.ID, SessionData{
		UserID: a.ID, Username: a.Username, Roles: a.Roles, Permissions: a.Permissions,
		MustChangePassword: a.MustChangePassword, Language: a.Language, IP: e.IP, UserAgent: e.UserAgent,
		CreatedAt: now, LastSeenAt: now,
	}, PolicyFor(e.Tenant))
	if err != nil {
		s.log(e).Error("login: create session", "err", err)
		return LoginResult{}, err
	}
	// Details keys naming a session, hash or password are dropped by
	// audit.Record, hence these names.
	details := map[string]any{}
	if newHash != "" {
		details["cost_upgraded"] = true
	}
	s.record(ctx, e, nil, audit.Entry{UserID: uid, Actor: name, Action: audit.LoginSuccess, Entity: "user",
		EntityID: idString(a.ID), Outcome: audit.Success, Details: details})
	return LoginResult{Secret: secret, Session: info, User: toUser(a)}, nil
}

// passwordFailed counts a wrong password against a's lockout and returns
// errLocked when the count reached the limit (ending all of a's sessions
// on the failure that locked it), or wrong.
func (s *Service) passwordFailed(ctx context.Context, e Env, a authpg.Account, reason string, wrong error) error {
	uid, name := actor(a)
	if e.Principal != nil {
		uid, name = &e.Principal.UserID, e.Principal.Username
	}
	n, locked, justLocked, err := authpg.RecordFailure(ctx, e.DB, a.ID, s.cfg.MaxFailures)
	if err != nil {
		return internal("count failure", err)
	}
	s.record(ctx, e, nil, audit.Entry{UserID: uid, Actor: name, Action: audit.LoginFailure, Entity: "user",
		EntityID: idString(a.ID), Outcome: audit.Failure, Details: map[string]any{"reason": reason, "failed_attempts": n}})
	if !locked {
		return wrong
	}
	if justLocked {
		ended, err := s.sessions.RevokeUser(ctx, e.Tenant.ID, a.ID, "")
		if err != nil {
			// The lock stands (the database says so); sessions that
			// survive it end at their idle timeout at the latest.
			s.log(e).Error("lock: end sessions", "user_id", a.ID, "err", err)
		}
		s.record(ctx, e, nil, audit.Entry{UserID: uid, Actor: name, Action: audit.AccountLocked, Entity: "user",
			EntityID: idString(a.ID), Outcome: audit.Success,
			Details: map[string]any{"failed_attempts": n, "logins_ended": ended}})
	}
	return errLocked
}

// Logout ends the current session.
func (s *Service) Logout(ctx context.Context, e Env) error {
	if e.Principal == nil {
		return ErrNoSession
	}
	err := s.sessions.Revoke(ctx, e.Tenant.ID, e.Principal.Session)
	if err != nil && !errors.Is(err, ErrNoSession) {
		return err
	}
	s.record(ctx, e, nil, audit.Entry{Action: audit.Logout, Entity: "session", EntityID: e.Principal.Session,
		Outcome: audit.Success})
	return nil
}

// Me returns the logged-in user (allowed while a password change is due).
func (s *Service) Me(ctx context.Context, e Env) (User, error) {
	if e.Principal == nil {
		return User{}, ErrNoSession
	}
	a, err := authpg.ByID(ctx, e.DB, e.Principal.UserID, false)
	if errors.Is(err, authpg.ErrNoUser) {
		return User{}, ErrNoSession
	}
	if err != nil {
		return User{}, internal("me", err)
	}
	return toUser(a), nil
}

// SetLanguage stores the logged-in user's screen language (es, en; ""
// clears it) and copies it into each of the user's sessions, so the next
// page of any of them is in it. A preference, not an audited change.
func (s *Service) SetLanguage(ctx context.Context, e Env, lang string) error {
	if e.Principal == nil {
		return ErrNoSession
	}
	if lang != "" && lang != "es" && lang != "en" {
		return tenant.Invalid(map[string]string{"language": "must be es or en"})
	}
	err := authpg.SetLanguage(ctx, e.DB, e.Principal.UserID, lang)
	if errors.Is(err, authpg.ErrNoUser) {
		return ErrNoSession
	}
	if err != nil {
		if tenant.ErrorCode(err) == tenant.EValidation {
			return err
		}
		return internal("set language", err)
	}
	if err := s.sessions.UpdateUser(ctx, e.Tenant.ID, e.Principal.UserID, func(d *SessionData) { d.Language = lang }); err != nil {
		s.log(e).Error("set language: sessions", "user_id", e.Principal.UserID, "err", err)
		return err
	}
	return nil
}

// ChangePassword replaces the logged-in user's password: current must be
// right (a wrong one counts toward the lockout), next must pass the
// policy. It clears must_change_password and ends every other session.
func (s *Service) ChangePassword(ctx context.Context, e Env, current, next string) error {
	if e.Principal == nil {
		return ErrNoSession
	}
	a, err := authpg.ByID(ctx, e.DB, e.Principal.UserID, false)
	if errors.Is(err, authpg.ErrNoUser) {
		return ErrNoSession
	}
	if err != nil {
		return internal("change password", err)
	}
	if !a.Active {
		return ErrNoSession
	}
	if a.Locked {
		return errLocked
	}
	if current == "" || !verifyPassword(a.PasswordHash, current) {
		wrong := tenant.Invalid(map[string]string{"current_password": "is not your current password"})
		return s.passwordFailed(ctx, e, a, "wrong_current_password", wrong)
	}
	if err := CheckPasswordPolicy("new_password", next, a.Username, a.FullName, a.Email); err != nil {
		return err
	}
	if next == current {
		return tenant.Invalid(map[string]string{"new_password": "must differ from your current password"})
	}
	hash, err := HashPassword(next, s.cfg.BcryptCost)
	if err != nil {
		return internal("change password", err)
	}
	if err := authpg.SetPassword(ctx, e.DB, a.ID, hash, false, s.cfg.Now()); err != nil {
		return internal("change password", err)
	}
	ended, err := s.sessions.RevokeUser(ctx, e.Tenant.ID, a.ID, e.Principal.Session)
	if err == nil {
		err = s.sessions.UpdateUser(ctx, e.Tenant.ID, a.ID, func(d *SessionData) { d.MustChangePassword = false })
	}
	s.record(ctx, e, nil, audit.Entry{Action: audit.PasswordChange, Entity: "user", EntityID: idString(a.ID),
		Outcome: audit.Success, Details: map[string]any{"logins_ended": ended}})
	if err != nil {
		// The password is changed; the caller learns that the sessions
		// could not all be updated (Redis down: unavailable).
		s.log(e).Error("change password: sessions", "user_id", a.ID, "err", err)
		return err
	}
	return nil
}
