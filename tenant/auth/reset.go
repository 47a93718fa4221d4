package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/audit"
	"github.com/tenancy/platform/tenant/auth/authpg"
)

// mailTimeout bounds the background send of one reset mail.
const mailTimeout = 30 * time.Second

// newResetToken returns a token of 256 random bits (base64url) and the
// SHA-256 that is all the database keeps of it.
func newResetToken() (string, []byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	return tok, hashToken(tok), nil
}

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// issue stores a new token for a (voiding its older unused ones).
func (s *Service) issue(ctx context.Context, e Env, a authpg.Account) (string, time.Time, error) {
	tok, hash, err := newResetToken()
	if err != nil {
		return "", time.Time{}, internal("reset token", err)
	}
	now := s.cfg.Now()
	exp := now.Add(s.cfg.ResetTTL)
	if err := authpg.InsertResetToken(ctx, e.DB, a.ID, hash, now, exp); err != nil {
		return "", time.Time{}, internal("reset token", err)
	}
	return tok, exp, nil
}

// RequestReset mails a reset link to the user's address. It answers nil
// whether or not the user exists, is active or has an address, and sends
// in the background, so that neither the answer nor its time tells.
func (s *Service) RequestReset(ctx context.Context, e Env, username string) error {
	username = strings.TrimSpace(username)
	if username == "" {
		return tenant.Invalid(map[string]string{"username": "is required"})
	}
	a, err := lookup(ctx, e.DB, username)
	if err != nil && !errors.Is(err, authpg.ErrNoUser) {
		return internal("request reset", err)
	}
	reason := ""
	switch {
	case err != nil:
		reason = "unknown_user"
	case !a.Active:
		reason = "inactive"
	case a.Email == "":
		reason = "no_email"
	}
	if reason != "" {
		entry := audit.Entry{Action: audit.ResetRequested, Actor: username, Outcome: audit.Failure,
			Details: map[string]any{"reason": reason}}
		if err == nil {
			entry.UserID, entry.Actor = actor(a)
			entry.Entity, entry.EntityID = "user", idString(a.ID)
		}
		s.record(ctx, e, nil, entry)
		return nil
	}
	tok, exp, err := s.issue(ctx, e, a)
	if err != nil {
		return err
	}
	uid, name := actor(a)
	s.record(ctx, e, nil, audit.Entry{UserID: uid, Actor: name, Action: audit.ResetRequested, Entity: "user",
		EntityID: idString(a.ID), Outcome: audit.Success, Details: map[string]any{"expires_at": exp}})
	tenantName := e.Tenant.Name
	link := strings.TrimRight(e.BaseURL, "/") + "/reset-password?token=" + url.QueryEscape(tok)
	m := Mail{
		To: a.Email, ToName: a.FullName, FromName: tenantName,
		Subject: "Reset your password for " + tenantName,
		Text: fmt.Sprintf("Hello %s,\n\nsomeone (we hope you) asked to reset the password of the account %q at %s.\n"+
			"Open this link within %s to choose a new password:\n\n%s\n\n"+
			"The link works once. If you did not ask for it, ignore this mail: your password stays as it is.\n",
			displayName(a), a.Username, tenantName, s.cfg.ResetTTL.Round(time.Minute), link),
	}
	log := s.log(e)
	s.mails.Add(1)
	go func() {
		defer s.mails.Done()
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), mailTimeout)
		defer cancel()
		if err := s.mailer.Send(mctx, m); err != nil {
			log.Error("reset mail not sent", "user_id", a.ID, "err", err)
		}
	}()
	return nil
}

func displayName(a authpg.Account) string {
	if a.FullName != "" {
		return a.FullName
	}
	return a.Username
}

// IssueReset makes a reset token for a user, for an admin to hand over
// (shown once; only its hash is stored).
func (s *Service) IssueReset(ctx context.Context, e Env, userID int64) (string, time.Time, error) {
	if err := s.require(ctx, e, PermUsersManage, "reset passwords", audit.ResetIssued, userID); err != nil {
		return "", time.Time{}, err
	}
	a, err := authpg.ByID(ctx, e.DB, userID, false)
	if err != nil {
		return "", time.Time{}, internal("issue reset", err)
	}
	if !a.Active {
		return "", time.Time{}, tenant.Errorf(tenant.EConflict, "the user is inactive: activate it first")
	}
	tok, exp, err := s.issue(ctx, e, a)
	if err != nil {
		return "", time.Time{}, err
	}
	s.record(ctx, e, nil, audit.Entry{Action: audit.ResetIssued, Entity: "user", EntityID: idString(a.ID),
		Outcome: audit.Success, Details: map[string]any{"username": a.Username, "expires_at": exp}})
	return tok, exp, nil
}

// ConfirmReset sets a new password with a reset token: the token is used
// up only when the password is accepted. It ends every session of the
// user, clears must_change_password and the failure counter, and leaves a
// lock in place (only an admin unlocks). It does not log in.
func (s *Service) ConfirmReset(ctx context.Context, e Env, token, newPassword string) error {
	token = strings.TrimSpace(token)
	if token == "" {
		return tenant.Invalid(map[string]string{"token": "is required"})
	}
	var a authpg.Account
	err := inTx(ctx, e, func(tx pgx.Tx) error {
		id, err := authpg.ConsumeResetToken(ctx, tx, hashToken(token), s.cfg.Now())
		if err != nil {
			return err
		}
		if a, err = authpg.ByID(ctx, tx, id, true); err != nil {
			return err
		}
		if !a.Active {
			return authpg.ErrBadToken
		}
		if err := CheckPasswordPolicy("new_password", newPassword, a.Username, a.FullName, a.Email); err != nil {
			return err // rolls the token back: still usable
		}
		hash, err := HashPassword(newPassword, s.cfg.BcryptCost)
		if err != nil {
			return err
		}
		return authpg.SetPassword(ctx, tx, a.ID, hash, false, s.cfg.Now())
	})
	if errors.Is(err, authpg.ErrBadToken) {
		s.record(ctx, e, nil, audit.Entry{Action: audit.PasswordReset, Actor: "", Outcome: audit.Failure,
			Details: map[string]any{"reason": "bad_token"}})
		return err
	}
	if err != nil {
		return internal("confirm reset", err)
	}
	ended, err := s.sessions.RevokeUser(ctx, e.Tenant.ID, a.ID, "")
	uid, name := actor(a)
	s.record(ctx, e, nil, audit.Entry{UserID: uid, Actor: name, Action: audit.PasswordReset, Entity: "user",
		EntityID: idString(a.ID), Outcome: audit.Success, Details: map[string]any{"logins_ended": ended}})
	if err != nil {
		s.log(e).Error("reset: end sessions", "user_id", a.ID, "err", err)
		return err
	}
	return nil
}
