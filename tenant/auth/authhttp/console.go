package authhttp

import (
	"time"

	"github.com/gofiber/fiber/v2"
)

// SessionCookie is the session cookie, as the API's login sets it and the
// web console (tenant/console), which logs in through the same service
// and sessions: host-only (no Domain, so never sent to another
// tenant's subdomain), HttpOnly, SameSite=Lax, Secure when secure (the
// request came over TLS: httpx.IsTLS). An expires in the past clears it.
func SessionCookie(value string, expires time.Time, secure bool) *fiber.Cookie {
	return &fiber.Cookie{
		Name: CookieName, Value: value, Path: "/", Expires: expires,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: secure,
	}
}

// ClearedSessionCookie expires the session cookie in the browser.
func ClearedSessionCookie(secure bool) *fiber.Cookie {
	return SessionCookie("", time.Unix(0, 0).UTC(), secure)
}
