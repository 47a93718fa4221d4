package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/audit"
	"github.com/tenancy/platform/tenant/auth/authpg"
)

// UserFilter selects users to list.
type UserFilter struct {
	Q      string // substring of username, full name or email
	Role   string
	Active *bool
	Locked *bool
	Limit  int    // default 50, max 200
	Cursor string // opaque
}

// UserPage is one page of users, in id order.
type UserPage struct {
	Users      []User `json:"users"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// NewUser is a user to create.
type NewUser struct {
	Username, Email, FullName, Password string
	Roles                               []string
	MustChangePassword                  bool // the handler defaults it to true
}

// UserPatch changes a user; nil fields stay as they are. Email "" clears it.
type UserPatch struct {
	Email, FullName    *string
	Active             *bool
	Roles              *[]string
	MustChangePassword *bool
}

var errLastAdmin = tenant.Errorf(tenant.EConflict, "this is the last administrator: make another user an administrator first")

// Field limits (exported for the legacy import, which checks them
// before CheckImportedUser).
const (
	MaxUsername = 64
	MaxFullName = 200
	MaxEmail    = 254
)

// normUsername trims a username and checks its rules: 1 to 64
// characters, letters, digits and . _ - @.
func normUsername(s string) (string, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return s, "is required"
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxUsername {
		return s, "must be 1 to 64 characters"
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("._-@", r) {
			return s, "may hold only letters, digits and . _ - @"
		}
	}
	return s, ""
}

// normEmail trims an address and checks it is one bare address ("" is
// none).
func normEmail(s string) (string, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return s, ""
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > MaxEmail {
		return s, "is not a valid email address (name@example.com)"
	}
	return s, ""
}

func checkFullName(s string) (string, string) {
	s = strings.TrimSpace(s)
	if err := tenant.ValidateText("full name", s, MaxFullName); err != nil {
		return s, tenant.ErrorMessage(err)
	}
	return s, ""
}

// checkRoles validates role names against the tenant's roles.
func checkRoles(ctx context.Context, db DBTX, roles []string, fields map[string]string) ([]string, error) {
	clean := make([]string, 0, len(roles))
	for _, r := range roles {
		if r = strings.TrimSpace(r); r != "" && !slices.Contains(clean, r) {
			clean = append(clean, r)
		}
	}
	slices.Sort(clean)
	unknown, err := authpg.UnknownRoles(ctx, db, clean)
	if err != nil {
		return nil, internal("check roles", err)
	}
	if len(unknown) > 0 {
		fields["roles"] = "unknown role: " + strings.Join(unknown, ", ")
	}
	return clean, nil
}

// ListUsers lists users matching f, keyset-paginated by id.
func (s *Service) ListUsers(ctx context.Context, e Env, f UserFilter) (UserPage, error) {
	if err := s.require(ctx, e, PermUsersRead, "list users", "", 0); err != nil {
		return UserPage{}, err
	}
	fields := map[string]string{}
	limit := f.Limit
	switch {
	case limit == 0:
		limit = 50
	case limit < 0 || limit > 200:
		fields["limit"] = "must be between 1 and 200"
	}
	for field, v := range map[string]string{"q": f.Q, "role": f.Role} {
		if err := tenant.ValidateText(field, v, MaxFullName); err != nil {
			fields[field] = tenant.ErrorMessage(err)
		}
	}
	after, ok := decodeUserCursor(f.Cursor)
	if !ok {
		fields["cursor"] = "is not a cursor of this list"
	}
	if err := tenant.Invalid(fields); err != nil {
		return UserPage{}, err
	}
	as, err := authpg.List(ctx, e.DB, authpg.Filter{Q: strings.TrimSpace(f.Q), Role: strings.TrimSpace(f.Role),
		Active: f.Active, Locked: f.Locked, AfterID: after, Limit: limit + 1})
	if err != nil {
		return UserPage{}, internal("list users", err)
	}
	page := UserPage{Users: make([]User, 0, len(as))}
	if len(as) > limit {
		as = as[:limit]
		page.NextCursor = encodeUserCursor(as[limit-1].ID)
	}
	for _, a := range as {
		page.Users = append(page.Users, toUser(a))
	}
	return page, nil
}

func encodeUserCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("u" + strconv.FormatInt(id, 10)))
}

func decodeUserCursor(c string) (int64, bool) {
	if c == "" {
		return 0, true
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 2 || b[0] != 'u' {
		return 0, false
	}
	id, err := strconv.ParseInt(string(b[1:]), 10, 64)
	return id, err == nil && id > 0
}

// GetUser returns one user: with users.read, or oneself.
func (s *Service) GetUser(ctx context.Context, e Env, id int64) (User, error) {
	if e.Principal == nil || e.Principal.UserID != id {
		if err := s.require(ctx, e, PermUsersRead, "read users", "", 0); err != nil {
			return User{}, err
		}
	}
	a, err := authpg.ByID(ctx, e.DB, id, false)
	if err != nil {
		return User{}, internal("get user", err)
	}
	return toUser(a), nil
}

// CreateUser creates a user with a password that passes the policy.
func (s *Service) CreateUser(ctx context.Context, e Env, u NewUser) (User, error) {
	if err := s.require(ctx, e, PermUsersManage, "create users", audit.UserCreated, 0); err != nil {
		return User{}, err
	}
	fields := map[string]string{}
	var msg string
	if u.Username, msg = normUsername(u.Username); msg != "" {
		fields["username"] = msg
	}
	if u.Email, msg = normEmail(u.Email); msg != "" {
		fields["email"] = msg
	}
	if u.FullName, msg = checkFullName(u.FullName); msg != "" {
		fields["full_name"] = msg
	}
	if err := CheckPasswordPolicy("password", u.Password, u.Username, u.FullName, u.Email); err != nil {
		fields["password"] = tenant.ErrorFields(err)["password"]
	}
	roles, err := checkRoles(ctx, e.DB, u.Roles, fields)
	if err != nil {
		return User{}, err
	}
	if err := tenant.Invalid(fields); err != nil {
		return User{}, err
	}
	hash, err := HashPassword(u.Password, s.cfg.BcryptCost)
	if err != nil {
		return User{}, internal("create user", err)
	}
	var a authpg.Account
	err = inTx(ctx, e, func(tx pgx.Tx) error {
		id, err := authpg.Create(ctx, tx, authpg.NewAccount{Username: u.Username, Email: u.Email, FullName: u.FullName,
			PasswordHash: hash, MustChangePassword: u.MustChangePassword, Roles: roles})
		if err != nil {
			return err
		}
		a, err = authpg.ByID(ctx, tx, id, false)
		return err
	})
	if err != nil {
		return User{}, internal("create user", err)
	}
	s.record(ctx, e, nil, audit.Entry{Action: audit.UserCreated, Entity: "user", EntityID: idString(a.ID),
		Outcome: audit.Success, Details: map[string]any{"username": a.Username, "roles": a.Roles,
			"must_change_password": a.MustChangePassword}})
	return toUser(a), nil
}

// UpdateUser applies p. Deactivating or demoting (taking users.manage
// from) the last admin is refused, atomically: see authpg.LockAdmins.
func (s *Service) UpdateUser(ctx context.Context, e Env, id int64, p UserPatch) (User, error) {
	if err := s.require(ctx, e, PermUsersManage, "change users", audit.UserUpdated, id); err != nil {
		return User{}, err
	}
	fields := map[string]string{}
	var ch authpg.Changes
	if p.Email != nil {
		v, msg := normEmail(*p.Email)
		if msg != "" {
			fields["email"] = msg
		}
		ch.Email = &v
	}
	if p.FullName != nil {
		v, msg := checkFullName(*p.FullName)
		if msg != "" {
			fields["full_name"] = msg
		}
		ch.FullName = &v
	}
	ch.Active, ch.MustChangePassword = p.Active, p.MustChangePassword
	var roles []string
	if p.Roles != nil {
		var err error
		if roles, err = checkRoles(ctx, e.DB, *p.Roles, fields); err != nil {
			return User{}, err
		}
	}
	if err := tenant.Invalid(fields); err != nil {
		return User{}, err
	}
	var before, after authpg.Account
	err := inTx(ctx, e, func(tx pgx.Tx) error {
		if err := authpg.LockAdmins(ctx, tx, id); err != nil {
			return err
		}
		var err error
		if before, err = authpg.ByID(ctx, tx, id, false); err != nil {
			return err
		}
		if isAdmin(before) {
			keeps := p.Active == nil || *p.Active
			if keeps && p.Roles != nil {
				perms, err := authpg.PermissionsOf(ctx, tx, roles)
				if err != nil {
					return err
				}
				keeps = slices.Contains(perms, PermUsersManage)
			}
			if !keeps {
				n, err := authpg.OtherAdmins(ctx, tx, id)
				if err != nil {
					return err
				}
				if n == 0 {
					return errLastAdmin
				}
			}
		}
		if err := authpg.Update(ctx, tx, id, ch); err != nil {
			return err
		}
		if p.Roles != nil {
			if err := authpg.SetRoles(ctx, tx, id, roles); err != nil {
				return err
			}
		}
		after, err = authpg.ByID(ctx, tx, id, false)
		return err
	})
	if err != nil {
		return User{}, internal("update user", err)
	}
	s.record(ctx, e, nil, audit.Entry{Action: audit.UserUpdated, Entity: "user", EntityID: idString(id),
		Outcome: audit.Success, Details: changes(before, after)})
	if err := s.syncSessions(ctx, e, before, after); err != nil {
		return User{}, err
	}
	return toUser(after), nil
}

// isAdmin: an active user holding users.manage.
func isAdmin(a authpg.Account) bool {
	return a.Active && slices.Contains(a.Permissions, PermUsersManage)
}

// changes lists what an update changed, for the audit row.
func changes(b, a authpg.Account) map[string]any {
	d := map[string]any{"username": a.Username}
	if b.Email != a.Email {
		d["email"] = a.Email
	}
	if b.FullName != a.FullName {
		d["full_name"] = a.FullName
	}
	if b.Active != a.Active {
		d["active"] = a.Active
	}
	if b.MustChangePassword != a.MustChangePassword {
		d["must_change_password"] = a.MustChangePassword
	}
	if !slices.Equal(b.Roles, a.Roles) {
		d["roles"] = a.Roles
		d["roles_before"] = b.Roles
	}
	return d
}

// syncSessions ends a deactivated user's sessions or rewrites their
// snapshot after a change the sessions carry.
func (s *Service) syncSessions(ctx context.Context, e Env, b, a authpg.Account) error {
	if !a.Active {
		if _, err := s.sessions.RevokeUser(ctx, e.Tenant.ID, a.ID, ""); err != nil {
			s.log(e).Error("deactivate: end sessions", "user_id", a.ID, "err", err)
			return err
		}
		return nil
	}
	if slices.Equal(b.Roles, a.Roles) && slices.Equal(b.Permissions, a.Permissions) &&
		b.MustChangePassword == a.MustChangePassword && b.Username == a.Username {
		return nil
	}
	err := s.sessions.UpdateUser(ctx, e.Tenant.ID, a.ID, func(d *SessionData) {
		d.Username, d.Roles, d.Permissions = a.Username, a.Roles, a.Permissions
		d.MustChangePassword = a.MustChangePassword
	})
	if err != nil {
		s.log(e).Error("update user: sessions", "user_id", a.ID, "err", err)
	}
	return err
}

// DeleteUser deletes a user: not oneself, not the last admin.
func (s *Service) DeleteUser(ctx context.Context, e Env, id int64) error {
	if err := s.require(ctx, e, PermUsersManage, "delete users", audit.UserDeleted, id); err != nil {
		return err
	}
	if e.Principal.UserID == id {
		return tenant.Errorf(tenant.EConflict, "you cannot delete your own account")
	}
	var a authpg.Account
	err := inTx(ctx, e, func(tx pgx.Tx) error {
		if err := authpg.LockAdmins(ctx, tx, id); err != nil {
			return err
		}
		var err error
		if a, err = authpg.ByID(ctx, tx, id, false); err != nil {
			return err
		}
		if isAdmin(a) {
			n, err := authpg.OtherAdmins(ctx, tx, id)
			if err != nil {
				return err
			}
			if n == 0 {
				return errLastAdmin
			}
		}
		return authpg.Delete(ctx, tx, id)
	})
	if err != nil {
		return internal("delete user", err)
	}
	s.record(ctx, e, nil, audit.Entry{Action: audit.UserDeleted, Entity: "user", EntityID: idString(id),
		Outcome: audit.Success, Details: map[string]any{"username": a.Username}})
	if _, err := s.sessions.RevokeUser(ctx, e.Tenant.ID, id, ""); err != nil {
		s.log(e).Error("delete user: end sessions", "user_id", id, "err", err)
		return err
	}
	return nil
}

// Unlock clears a user's lockout.
func (s *Service) Unlock(ctx context.Context, e Env, id int64) (User, error) {
	if err := s.require(ctx, e, PermUsersManage, "unlock users", audit.AccountUnlock, id); err != nil {
		return User{}, err
	}
	a, err := authpg.Unlock(ctx, e.DB, id)
	if err != nil {
		return User{}, internal("unlock", err)
	}
	s.record(ctx, e, nil, audit.Entry{Action: audit.AccountUnlock, Entity: "user", EntityID: idString(id),
		Outcome: audit.Success, Details: map[string]any{"username": a.Username}})
	return toUser(a), nil
}

// ListSessions lists every live session of the tenant for an admin, the
// caller's own otherwise; the current one is marked.
func (s *Service) ListSessions(ctx context.Context, e Env) ([]SessionInfo, error) {
	p := e.Principal
	if p == nil {
		return nil, ErrNoSession
	}
	uid := p.UserID
	if p.Can(PermUsersManage) && !p.MustChangePassword {
		uid = 0
	}
	ss, err := s.sessions.List(ctx, e.Tenant.ID, uid)
	if err != nil {
		return nil, err
	}
	for i := range ss {
		ss[i].Current = ss[i].ID == p.Session
	}
	return ss, nil
}

// errNoSuchSession hides whether a handle exists when it is not the
// caller's to revoke.
var errNoSuchSession = tenant.Errorf(tenant.ENotFound, "no such session")

// RevokeSession ends a session by its handle: one's own, or any with
// users.manage.
func (s *Service) RevokeSession(ctx context.Context, e Env, handle string) error {
	p := e.Principal
	if p == nil {
		return ErrNoSession
	}
	info, err := s.sessions.Get(ctx, e.Tenant.ID, handle)
	if errors.Is(err, ErrNoSession) {
		return errNoSuchSession
	}
	if err != nil {
		return err
	}
	if info.UserID != p.UserID && (!p.Can(PermUsersManage) || p.MustChangePassword) {
		return errNoSuchSession
	}
	if err := s.sessions.Revoke(ctx, e.Tenant.ID, handle); errors.Is(err, ErrNoSession) {
		return errNoSuchSession
	} else if err != nil {
		return err
	}
	s.record(ctx, e, nil, audit.Entry{Action: audit.SessionRevoked, Entity: "session", EntityID: handle,
		Outcome: audit.Success, Details: map[string]any{"user_id": info.UserID, "username": info.Username}})
	return nil
}

// CheckImportedUser applies the API's rules for a new user's username,
// email and full name to a row another system stored (platform/importer):
// the values trimmed, or per-field messages. The password is not checked
// here: an imported hash is kept, an imported plaintext is hashed and the
// user must change it at first login.
func CheckImportedUser(username, email, fullName string) (string, string, string, map[string]string) {
	fields := map[string]string{}
	var msg string
	if username, msg = normUsername(username); msg != "" {
		fields["username"] = msg
	}
	if email, msg = normEmail(email); msg != "" {
		fields["email"] = msg
	}
	if fullName, msg = checkFullName(fullName); msg != "" {
		fields["full_name"] = msg
	}
	return username, email, fullName, fields
}

// HashResetToken is how a reset token is stored (its SHA-256): for
// imported tokens of another system.
func HashResetToken(tok string) []byte { return hashToken(tok) }
