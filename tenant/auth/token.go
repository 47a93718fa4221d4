package auth

// Bearer tokens and CSRF tokens. A token is only a signed pointer to a
// Redis session (the secret session id): the session decides whether it
// still lives, so revocation is immediate and a token carries no roles.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// maxTokenLen bounds the work an attacker can make ParseToken do: ours
// are about 200 bytes.
const maxTokenLen = 2048

type tokenClaims struct {
	TenantID string `json:"tid"`
	Session  string `json:"sid"`
	jwt.RegisteredClaims
}

// IssueToken returns an HS256 JWT: claims tid (tenant id), sid (secret
// session id), iat, exp; key = []byte(tenant secret "jwt_secret").
func IssueToken(key []byte, tenantID, secret string, expires time.Time) (string, error) {
	switch {
	case len(key) == 0:
		return "", errors.New("issue token: empty signing key")
	case tenantID == "" || secret == "":
		return "", errors.New("issue token: tenant id and session are required")
	}
	c := tokenClaims{
		TenantID: tenantID,
		Session:  secret,
		RegisteredClaims: jwt.RegisteredClaims{
			IssuedAt:  jwt.NewNumericDate(time.Now()),
			ExpiresAt: jwt.NewNumericDate(expires),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
	if err != nil {
		return "", errors.New("issue token: signing failed")
	}
	return s, nil
}

// ParseToken verifies signature (HS256 only: alg none, RS*, other algs
// refused), exp (with now), tid == tenantID; returns sid. Every failure is
// ErrNoSession: why a token was refused is never told to the client.
func ParseToken(key []byte, tenantID, token string, now time.Time) (secret string, err error) {
	secret, _, err = parseToken(key, tenantID, token, now)
	return secret, err
}

func parseToken(key []byte, tenantID, token string, now time.Time) (secret string, exp time.Time, err error) {
	if len(key) == 0 || tenantID == "" || token == "" || len(token) > maxTokenLen || !tokenChars(token) {
		return "", time.Time{}, ErrNoSession
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithExpirationRequired(),
		// One encoding per token: no padded or non-canonical variants.
		jwt.WithStrictDecoding(),
	)
	var c tokenClaims
	t, err := p.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		// WithValidMethods checked the alg header; this also pins the type.
		if t.Method != jwt.SigningMethodHS256 {
			return nil, errors.New("unexpected signing method")
		}
		return key, nil
	})
	if err != nil || !t.Valid || c.TenantID != tenantID || c.Session == "" || c.ExpiresAt == nil {
		return "", time.Time{}, ErrNoSession
	}
	return c.Session, c.ExpiresAt.Time, nil
}

// TokenCache remembers the tokens it verified until they expire, so that
// a client's every request does not pay the signature and the JSON of its
// claims again (a tenth of an authenticated request's CPU). It is keyed by
// the tenant, the signing key and the token itself: a rotated jwt_secret
// misses, and a token is only ever a pointer to a session, which
// Sessions.Check still asks Redis about on every request, so revocation
// stays immediate. Bounded by Max entries (expired ones are dropped
// first, then everything). Safe for concurrent use.
type TokenCache struct {
	Max int // default 10000

	mu sync.Mutex
	m  map[tokenKey]tokenEntry
}

type tokenKey struct{ tenantID, key, token string }

type tokenEntry struct {
	secret string
	exp    time.Time
}

// Parse is ParseToken through the cache.
func (c *TokenCache) Parse(key []byte, tenantID, token string, now time.Time) (string, error) {
	k := tokenKey{tenantID, string(key), token}
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && now.Before(e.exp) {
		return e.secret, nil
	}
	secret, exp, err := parseToken(key, tenantID, token, now)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	max := c.Max
	if max <= 0 {
		max = 10000
	}
	if c.m == nil {
		c.m = map[tokenKey]tokenEntry{}
	}
	if len(c.m) >= max {
		for k, e := range c.m {
			if !now.Before(e.exp) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= max {
			clear(c.m)
		}
	}
	c.m[k] = tokenEntry{secret, exp}
	return secret, nil
}

// tokenChars: only base64url and the dots. Go's base64 decoder skips CR
// and LF even in strict mode, which would give the signature more than
// one spelling.
func tokenChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// CSRFToken derives the CSRF token bound to a session:
// base64url(HMAC-SHA256(key=csrf_secret, "csrf|"+tenantID+"|"+handle)),
// unpadded. "" without a key, which CheckCSRF never accepts.
func CSRFToken(key []byte, tenantID, handle string) string {
	if len(key) == 0 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(csrfMAC(key, tenantID, handle))
}

// CheckCSRF reports whether token is the CSRF token of the session handle
// (compared in constant time).
func CheckCSRF(key []byte, tenantID, handle, token string) bool {
	if len(key) == 0 || tenantID == "" || handle == "" {
		return false
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil {
		return false
	}
	return hmac.Equal(got, csrfMAC(key, tenantID, handle))
}

func csrfMAC(key []byte, tenantID, handle string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("csrf|" + tenantID + "|" + handle))
	return m.Sum(nil)
}
