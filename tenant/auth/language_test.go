package auth_test

import (
	"testing"

	"github.com/tenancy/platform/tenant"
)

// A user's language is stored in its row and copied into every one of its
// sessions, the ones open before the change included, and into the next.
func TestSetLanguage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, tenant.Institution)
	u, p := f.user(t, "lucia", "teacher")
	other := f.login(t, "lucia", strongPassword) // a second browser
	if p.Language != "" || u.Language != "" {
		t.Fatalf("a new user has language %q / %q", p.Language, u.Language)
	}
	for _, bad := range []string{"fr", "ES", "es-CL", " en"} {
		wantField(t, f.svc.SetLanguage(f.ctx, f.env(p), bad), "language", bad)
	}
	if err := f.svc.SetLanguage(f.ctx, f.env(p), "en"); err != nil {
		t.Fatal(err)
	}
	me, err := f.svc.Me(f.ctx, f.env(p))
	if err != nil || me.Language != "en" {
		t.Fatalf("Me after SetLanguage: %+v, %v", me, err)
	}
	if got := f.principal(t, other).Language; got != "en" {
		t.Errorf("the other session's language %q, want en", got)
	}
	if got := f.principal(t, f.login(t, "lucia", strongPassword)).Language; got != "en" {
		t.Errorf("a new session's language %q, want en", got)
	}
	// Other users keep theirs.
	if got := f.admin.Language; got != "" {
		t.Errorf("admin's language %q", got)
	}
	if err := f.svc.SetLanguage(f.ctx, f.env(p), ""); err != nil {
		t.Fatal(err)
	}
	if me, err := f.svc.Me(f.ctx, f.env(p)); err != nil || me.Language != "" || f.principal(t, other).Language != "" {
		t.Errorf("cleared: %+v, %v, session %q", me, err, f.principal(t, other).Language)
	}
	if err := f.svc.SetLanguage(f.ctx, f.env(nil), "es"); tenant.ErrorCode(err) != tenant.EUnauthenticated {
		t.Errorf("anonymous SetLanguage: %v", err)
	}
}
