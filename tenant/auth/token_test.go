package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	tokKey    = []byte("jwt-secret-of-tenant-a-0123456789abcdef")
	tokTenant = "7b0c6f1e-0000-4000-8000-00000000000a"
	tokSID    = "hK3v2ZJt1Yy0uQ4mX9cQm7d0y8a4ZrBf5Lw2Ns6TqE0"
)

// b64 is the JWT segment encoding.
func b64(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// segments splits a token into its three parts.
func segments(t *testing.T, tok string) (h, p, s string) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	return parts[0], parts[1], parts[2]
}

// signHS signs header.payload with HMAC-SHA256 as jwt does, so the tests
// can forge tokens that differ from ours in one claim only.
func signHS(t *testing.T, key []byte, header, payload string) string {
	t.Helper()
	sig, err := jwt.SigningMethodHS256.Sign(header+"."+payload, key)
	if err != nil {
		t.Fatal(err)
	}
	return header + "." + payload + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestTokenRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tok, err := IssueToken(tokKey, tokTenant, tokSID, now.Add(8*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseToken(tokKey, tokTenant, tok, now)
	if err != nil || got != tokSID {
		t.Fatalf("ParseToken = %q, %v; want the session id", got, err)
	}
	// Valid until just before exp (whole seconds), refused after.
	if _, err := ParseToken(tokKey, tokTenant, tok, now.Add(8*time.Hour-time.Second)); err != nil {
		t.Errorf("a second before expiry: %v", err)
	}
	if _, err := ParseToken(tokKey, tokTenant, tok, now.Add(8*time.Hour+time.Second)); !errors.Is(err, ErrNoSession) {
		t.Errorf("a second after expiry: %v, want ErrNoSession", err)
	}
	// The claims are the documented ones.
	_, p, _ := segments(t, tok)
	raw, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"tid", "sid", "iat", "exp"} {
		if _, ok := claims[k]; !ok {
			t.Errorf("claim %s missing: %s", k, raw)
		}
	}
	if len(claims) != 4 {
		t.Errorf("claims %s: want exactly tid, sid, iat, exp", raw)
	}
}

func TestIssueTokenRefusesEmptyInputs(t *testing.T) {
	t.Parallel()
	exp := time.Now().Add(time.Hour)
	for _, c := range []struct {
		name                string
		key                 []byte
		tenantID, sessionID string
	}{
		{"no key", nil, tokTenant, tokSID},
		{"no tenant", tokKey, "", tokSID},
		{"no session", tokKey, tokTenant, ""},
	} {
		if tok, err := IssueToken(c.key, c.tenantID, c.sessionID, exp); err == nil {
			t.Errorf("%s: IssueToken = %q, want an error", c.name, tok)
		}
	}
}

func TestParseTokenRefuses(t *testing.T) {
	t.Parallel()
	now := time.Now()
	exp := now.Add(time.Hour)
	good, err := IssueToken(tokKey, tokTenant, tokSID, exp)
	if err != nil {
		t.Fatal(err)
	}
	h, p, s := segments(t, good)
	hsHeader := b64(map[string]string{"alg": "HS256", "typ": "JWT"})
	claims := func(mod func(map[string]any)) string {
		c := map[string]any{"tid": tokTenant, "sid": tokSID, "iat": now.Unix(), "exp": exp.Unix()}
		mod(c)
		return b64(c)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rs256, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"tid": tokTenant, "sid": tokSID, "exp": exp.Unix(),
	}).SignedString(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	hs512, err := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{
		"tid": tokTenant, "sid": tokSID, "exp": exp.Unix(),
	}).SignedString(tokKey)
	if err != nil {
		t.Fatal(err)
	}
	otherTenant, err := IssueToken(tokKey, "7b0c6f1e-0000-4000-8000-00000000000b", tokSID, exp)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := IssueToken([]byte("jwt-secret-of-tenant-b-0123456789abcdef"), tokTenant, tokSID, exp)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := IssueToken(tokKey, tokTenant, tokSID, now.Add(-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	// The signature's first character changed (it carries 6 bits of data).
	sigFlipped := "A" + s[1:]
	if s[0] == 'A' {
		sigFlipped = "B" + s[1:]
	}
	// Non-canonical base64 of the same signature: padding bits set.
	sigBytes, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	canon := base64.RawURLEncoding.EncodeToString(sigBytes)
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	lastIdx := strings.IndexByte(alphabet, canon[len(canon)-1])
	nonCanon := canon[:len(canon)-1] + string(alphabet[lastIdx|1]) // 43 chars: the 2 low bits are padding

	cases := []struct {
		name, token string
	}{
		{"empty", ""},
		{"garbage", "not a token"},
		{"two parts", h + "." + p},
		{"four parts", good + ".x"},
		{"empty parts", ".."},
		{"tampered payload (other session)", h + "." + claims(func(c map[string]any) { c["sid"] = "someone-else" }) + "." + s},
		{"tampered payload (later exp)", h + "." + claims(func(c map[string]any) { c["exp"] = exp.Add(24 * time.Hour).Unix() }) + "." + s},
		{"tampered signature", h + "." + p + "." + sigFlipped},
		{"signature missing", h + "." + p + "."},
		{"non-canonical signature encoding", h + "." + p + "." + nonCanon},
		{"CR in the signature", h + "." + p + "." + s[:10] + "\r" + s[10:]},
		{"LF in the signature", h + "." + p + "." + s[:10] + "\n" + s[10:]},
		{"space after the token", good + " "},
		{"padded signature", h + "." + p + "." + base64.URLEncoding.EncodeToString(sigBytes)},
		{"alg none", b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + p + "."},
		{"alg none with signature", b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + p + "." + s},
		{"alg None", b64(map[string]string{"alg": "None"}) + "." + p + "."},
		{"alg missing", b64(map[string]string{"typ": "JWT"}) + "." + p + "." + s},
		{"RS256", rs256},
		{"HS512 with the right key", hs512},
		{"other tenant's tid", otherTenant},
		{"other key", otherKey},
		{"expired", expired},
		{"no exp", signHS(t, tokKey, hsHeader, claims(func(c map[string]any) { delete(c, "exp") }))},
		{"exp not a number", signHS(t, tokKey, hsHeader, claims(func(c map[string]any) { c["exp"] = "tomorrow" }))},
		{"no sid", signHS(t, tokKey, hsHeader, claims(func(c map[string]any) { delete(c, "sid") }))},
		{"tid missing", signHS(t, tokKey, hsHeader, claims(func(c map[string]any) { delete(c, "tid") }))},
		{"tid of another type", signHS(t, tokKey, hsHeader, claims(func(c map[string]any) { c["tid"] = []string{tokTenant} }))},
		{"payload not JSON", signHS(t, tokKey, hsHeader, base64.RawURLEncoding.EncodeToString([]byte("{tid:")))},
		{"too long", signHS(t, tokKey, hsHeader, claims(func(c map[string]any) { c["x"] = strings.Repeat("a", 4096) }))},
	}
	// The forging helper is right: the same claims signed by it verify.
	if _, err := ParseToken(tokKey, tokTenant, signHS(t, tokKey, hsHeader, claims(func(map[string]any) {})), now); err != nil {
		t.Fatalf("a token forged with the right key must verify (the cases below rely on it): %v", err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sid, err := ParseToken(tokKey, tokTenant, c.token, now)
			if !errors.Is(err, ErrNoSession) || sid != "" {
				t.Fatalf("ParseToken = %q, %v; want ErrNoSession", sid, err)
			}
			if err != ErrNoSession {
				t.Fatalf("error %q is not exactly ErrNoSession: it may tell why", err)
			}
		})
	}
	// And the good one with a wrong expectation of key or tenant.
	if _, err := ParseToken(nil, tokTenant, good, now); !errors.Is(err, ErrNoSession) {
		t.Errorf("no key: %v", err)
	}
	if _, err := ParseToken(tokKey, "", good, now); !errors.Is(err, ErrNoSession) {
		t.Errorf("no tenant: %v", err)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	key := []byte("csrf-secret-0123456789abcdef0123456")
	const handle = "5f2b9c1d0e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c"
	tok := CSRFToken(key, tokTenant, handle)
	// base64url(HMAC-SHA256) unpadded: 43 characters.
	if len(tok) != 43 || strings.ContainsAny(tok, "+/=") {
		t.Fatalf("CSRFToken = %q: want 43 base64url characters", tok)
	}
	if tok != CSRFToken(key, tokTenant, handle) {
		t.Fatal("CSRFToken is not deterministic")
	}
	if !CheckCSRF(key, tokTenant, handle, tok) {
		t.Fatal("CheckCSRF refused the session's own token")
	}
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for _, c := range []struct {
		name                    string
		key                     []byte
		tenantID, handle, token string
	}{
		{"other session", key, tokTenant, handle[1:] + "0", tok},
		{"other tenant", key, tokTenant[:len(tokTenant)-1] + "b", handle, tok},
		{"other key", []byte("csrf-secret-of-someone-else-000000"), tokTenant, handle, tok},
		{"empty token", key, tokTenant, handle, ""},
		{"truncated", key, tokTenant, handle, tok[:42]},
		{"padded", key, tokTenant, handle, base64.URLEncoding.EncodeToString(raw)},
		{"std alphabet", key, tokTenant, handle, strings.NewReplacer("-", "+", "_", "/").Replace(tok) + "x"},
		{"garbage", key, tokTenant, handle, "<script>"},
		{"no key", nil, tokTenant, handle, CSRFToken(nil, tokTenant, handle)},
		{"no handle", key, tokTenant, "", CSRFToken(key, tokTenant, "")},
	} {
		if CheckCSRF(c.key, c.tenantID, c.handle, c.token) {
			t.Errorf("%s: CheckCSRF accepted %q", c.name, c.token)
		}
	}
	if CSRFToken(nil, tokTenant, handle) != "" {
		t.Error("CSRFToken without a key must be empty")
	}
}

// FuzzParseToken: any input, no panic; the only token ever accepted is
// the one issued (the HMAC and strict decoding leave no other encoding),
// and then it yields its session id.
func FuzzParseToken(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	good, err := IssueToken(tokKey, tokTenant, tokSID, now.Add(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	h := strings.SplitN(good, ".", 2)[0]
	f.Add(good)
	f.Add("")
	f.Add("..")
	f.Add(h + ".e30.")
	f.Add(b64(map[string]string{"alg": "none"}) + "." + strings.Split(good, ".")[1] + ".")
	f.Add(good + "=")
	f.Add(good[:len(good)-5] + "\r\n" + good[len(good)-5:])
	f.Add(strings.ReplaceAll(good, ".", ".."))
	f.Fuzz(func(t *testing.T, tok string) {
		sid, err := ParseToken(tokKey, tokTenant, tok, now)
		if err != nil {
			if err != ErrNoSession || sid != "" {
				t.Fatalf("refusal = %q, %v; want exactly ErrNoSession", sid, err)
			}
			return
		}
		if tok != good || sid != tokSID {
			t.Fatalf("accepted %q (sid %q): only the issued token may verify", tok, sid)
		}
	})
}

func BenchmarkParseToken(b *testing.B) {
	now := time.Now()
	tok, err := IssueToken(tokKey, tokTenant, tokSID, now.Add(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseToken(tokKey, tokTenant, tok, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckCSRF(b *testing.B) {
	key := []byte("csrf-secret-0123456789abcdef0123456")
	tok := CSRFToken(key, tokTenant, "handle")
	b.ReportAllocs()
	for b.Loop() {
		if !CheckCSRF(key, tokTenant, "handle", tok) {
			b.Fatal("refused")
		}
	}
}
