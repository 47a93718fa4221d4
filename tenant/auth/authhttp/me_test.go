package authhttp_test

import (
	"testing"

	"github.com/tenancy/platform/tenant"
)

// PATCH /api/me sets the user's language (allowed while a password change
// is due) and answers as GET /api/me; bad bodies are refused by field.
func TestUpdateMeLanguage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	tn := h.tenant(t, tenant.Restaurant)
	c := h.clientOf(t, tn)
	c.login(tn.AdminUsername, tn.AdminPassword).want(t, 200, "") // the password must still change
	r := c.do("PATCH", "/api/me", map[string]string{"language": "en"}).want(t, 200, "")
	if u, _ := r.body["user"].(map[string]any); u["language"] != "en" {
		t.Fatalf("PATCH /api/me answered %s", r.raw)
	}
	if u, _ := c.do("GET", "/api/me", nil).want(t, 200, "").body["user"].(map[string]any); u["language"] != "en" {
		t.Errorf("GET /api/me user %v", u)
	}
	for _, tc := range []struct {
		body  any
		field string
	}{
		{map[string]string{"language": "fr"}, "language"},
		{map[string]any{"language": 1}, "language"},
		{map[string]any{}, "language"},
		{map[string]string{"language": "es", "username": "x"}, "username"},
	} {
		r := c.do("PATCH", "/api/me", tc.body).want(t, 422, tenant.EValidation)
		if _, ok := r.fields[tc.field]; !ok {
			t.Errorf("%v: fields %v, want %s", tc.body, r.fields, tc.field)
		}
	}
	c.do("PATCH", "/api/me", "language=es", "Content-Type", "application/x-www-form-urlencoded").want(t, 400, tenant.EInvalid)
	c.do("PATCH", "/api/me", map[string]string{"language": ""}).want(t, 200, "")
	anon := h.clientOf(t, tn)
	anon.do("PATCH", "/api/me", map[string]string{"language": "en"}).want(t, 401, tenant.EUnauthenticated)
}
