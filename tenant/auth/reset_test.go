package auth_test

import (
	"crypto/sha256"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
)

var linkRE = regexp.MustCompile(`https://\S+/reset-password\?token=(\S+)`)

func TestRequestResetMailsALinkOnlyToKnownUsers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, tenant.Restaurant)
	u, p := f.user(t, "hana", "staff")
	if _, err := f.svc.CreateUser(f.ctx, f.env(f.admin), auth.NewUser{Username: "nomail", Password: strongPassword}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nobody", "nomail"} {
		if err := f.svc.RequestReset(f.ctx, f.env(nil), name); err != nil {
			t.Errorf("reset for %s: %v, want nil", name, err)
		}
	}
	if err := f.svc.RequestReset(f.ctx, f.env(nil), "HANA"); err != nil {
		t.Fatal(err)
	}
	f.svc.Close() // the background sends are done
	mails := f.mail.all()
	if len(mails) != 1 {
		t.Fatalf("%d mails, want 1 (to hana only)", len(mails))
	}
	// It arrived over SMTP, from the tenant's name.
	m := platformtest.WaitMail(t, platformtest.MailpitURL(t), u.Email, 10*time.Second)
	if mails[0].To != u.Email || m.FromName != f.tn.Name || !strings.Contains(m.Subject, f.tn.Name) || m.ToName != u.FullName {
		t.Errorf("mail to %q <%s> from %q subject %q", m.ToName, mails[0].To, m.FromName, m.Subject)
	}
	match := linkRE.FindStringSubmatch(m.Text)
	if match == nil || !strings.HasPrefix(match[0], f.env(nil).BaseURL+"/reset-password?token=") {
		t.Fatalf("no reset link in %q", m.Text)
	}
	tok, err := url.QueryUnescape(match[1])
	if err != nil || len(tok) != 43 {
		t.Fatalf("token %q (%d characters, want 43: 256 bits base64url)", tok, len(tok))
	}
	// Only the SHA-256 is stored.
	sum := sha256.Sum256([]byte(tok))
	var n int
	if err := f.tn.App.QueryRow(f.ctx, `SELECT count(*) FROM password_reset_tokens WHERE user_id = $1 AND token_hash = $2`, u.ID, sum[:]).Scan(&n); err != nil || n != 1 {
		t.Fatalf("stored hash rows %d, %v", n, err)
	}
	var leaked bool
	if err := f.tn.App.QueryRow(f.ctx, `SELECT EXISTS (SELECT 1 FROM audit_log WHERE details::text LIKE '%' || $1 || '%')`, tok).Scan(&leaked); err != nil || leaked {
		t.Errorf("token in the audit log: %v, %v", leaked, err)
	}

	// Lock the account, then reset: the password changes, sessions end,
	// the counter clears, the lock stays.
	if _, err := f.tn.App.Exec(f.ctx, `UPDATE users SET failed_attempts = 5, locked = true, locked_at = now(), must_change_password = true WHERE id = $1`, u.ID); err != nil {
		t.Fatal(err)
	}
	err = f.svc.ConfirmReset(f.ctx, f.env(nil), tok, "hana1234567890")
	wantField(t, err, "new_password", "weak password with the token")
	const next = "lichen Harbor 55 sways gently"
	if err := f.svc.ConfirmReset(f.ctx, f.env(nil), tok, next); err != nil {
		t.Fatalf("the token survives a refused password: %v", err)
	}
	if _, err := f.store.Get(f.ctx, f.tn.ID, p.Session); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("session after reset: %v, want ended", err)
	}
	failed, locked, _, _ := f.dbUser(t, u.ID)
	if failed != 0 || !locked {
		t.Errorf("after reset: failed_attempts %d, locked %v; want 0, still locked", failed, locked)
	}
	if _, err := f.svc.Login(f.ctx, f.env(nil), "hana", next); tenant.ErrorCode(err) != tenant.EAccountLocked {
		t.Errorf("login of a locked user after reset: %v, want locked", err)
	}
	if _, err := f.svc.Unlock(f.ctx, f.env(f.admin), u.ID); err != nil {
		t.Fatal(err)
	}
	if res := f.login(t, "hana", next); res.User.MustChangePassword {
		t.Error("must_change_password survived the reset")
	}
	err = f.svc.ConfirmReset(f.ctx, f.env(nil), tok, "another Lichen harbor 56 sway")
	wantField(t, err, "token", "second use")
	if f.auditCount(t, "password.reset", "success", u.ID) != 1 || f.auditCount(t, "password.reset_requested", "success", u.ID) != 1 {
		t.Error("reset not audited")
	}
}

func TestIssuedResetTokenExpiresAndIsSingleUse(t *testing.T) {
	t.Parallel()
	f := newFixture(t, tenant.Institution)
	u, staff := f.user(t, "ivan", "teacher")
	_, _, err := f.svc.IssueReset(f.ctx, f.env(staff), u.ID)
	wantCode(t, err, tenant.EForbidden, "issue by a teacher")
	_, _, err = f.svc.IssueReset(f.ctx, f.env(f.admin), 1<<40)
	wantCode(t, err, tenant.ENotFound, "issue for nobody")

	issuedAt := f.clock.Now()
	tok, exp, err := f.svc.IssueReset(f.ctx, f.env(f.admin), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := exp.Sub(issuedAt); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("expires in %v, want 60 min", d)
	}
	// 61 minutes later (the service's clock): expired.
	f.clock.Advance(61 * time.Minute)
	err = f.svc.ConfirmReset(f.ctx, f.env(nil), tok, "fjord Pebble 31 wanders far")
	wantField(t, err, "token", "expired token")
	f.clock.Advance(-61 * time.Minute)

	// A new token voids the older one.
	tok2, _, err := f.svc.IssueReset(f.ctx, f.env(f.admin), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	err = f.svc.ConfirmReset(f.ctx, f.env(nil), tok, "fjord Pebble 31 wanders far")
	wantField(t, err, "token", "voided token")
	// Expiry as stored in the database counts.
	if _, err := f.tn.App.Exec(f.ctx, `UPDATE password_reset_tokens SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 second' WHERE user_id = $1 AND used_at IS NULL`, u.ID); err != nil {
		t.Fatal(err)
	}
	err = f.svc.ConfirmReset(f.ctx, f.env(nil), tok2, "fjord Pebble 31 wanders far")
	wantField(t, err, "token", "token expired in the database")

	// Two confirmations at once: one wins.
	tok3, _, err := f.svc.IssueReset(f.ctx, f.env(f.admin), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			errs[i] = f.svc.ConfirmReset(f.ctx, f.env(nil), tok3, "fjord Pebble 31 wanders far "+platformtest.Rand(4))
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if tenant.ErrorFields(err)["token"] == "" {
			t.Errorf("concurrent confirm: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of 4 concurrent confirmations succeeded, want 1", ok)
	}
	err = f.svc.ConfirmReset(f.ctx, f.env(nil), "", strongPassword)
	wantField(t, err, "token", "empty token")
}

// Wrong current passwords count toward the lockout like failed logins: the
// 5th locks and ends every session, the current one too.
func TestWrongCurrentPasswordsLock(t *testing.T) {
	t.Parallel()
	f := newFixture(t, tenant.Institution)
	u, p := f.user(t, "tess", "prefect")
	for i := 1; i <= 4; i++ {
		wantField(t, f.svc.ChangePassword(f.ctx, f.env(p), "guess "+itoa(int64(i)), "fjord Pebble 31 wanders far"), "current_password", "wrong current")
	}
	wantCode(t, f.svc.ChangePassword(f.ctx, f.env(p), "guess 5", "fjord Pebble 31 wanders far"), tenant.EAccountLocked, "5th wrong current")
	if _, err := f.store.Get(f.ctx, f.tn.ID, p.Session); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("current session after the lock: %v, want ended", err)
	}
	if _, locked, _, _ := f.dbUser(t, u.ID); !locked {
		t.Error("not locked")
	}
	// An inactive user's token is refused, and none is issued for it.
	tok, _, err := f.svc.IssueReset(f.ctx, f.env(f.admin), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.UpdateUser(f.ctx, f.env(f.admin), u.ID, auth.UserPatch{Active: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	wantField(t, f.svc.ConfirmReset(f.ctx, f.env(nil), tok, "fjord Pebble 31 wanders far"), "token", "token of an inactive user")
	_, _, err = f.svc.IssueReset(f.ctx, f.env(f.admin), u.ID)
	wantCode(t, err, tenant.EConflict, "issue for an inactive user")
}
