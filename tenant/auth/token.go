package auth

// Bearer tokens and CSRF tokens. A token is only a signed pointer to a
// Redis session (the secret session id): the session decides whether it
// still lives, so revocation is immediate and a token carries no roles.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
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
	if len(key) == 0 || tenantID == "" || token == "" || len(token) > maxTokenLen || !tokenChars(token) {
		return "", ErrNoSession
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
	if err != nil || !t.Valid || c.TenantID != tenantID || c.Session == "" {
		return "", ErrNoSession
	}
	return c.Session, nil
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
