package tlsserve

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/httpx"
)

// RedirectConfig configures Redirect.
type RedirectConfig struct {
	Proxies httpx.Proxies // whose X-Forwarded-Proto/-Host count
	// Known says whether host (normalised) is a tenant's: only those are
	// redirected, so the Location never names a host an attacker chose.
	Known func(host string) bool
	// PublicPort is the HTTPS port clients reach (443 is left out of the
	// Location); behind a NAT mapping 443 to the listener's 8443 it is 443.
	PublicPort int
	// Challenge answers /.well-known/acme-challenge/ on plain HTTP
	// (Manager.HTTPHandler); nil: no ACME.
	Challenge http.Handler
}

const challengePrefix = "/.well-known/acme-challenge/"

// Redirect is the router's Before when HTTPS is on: a request that did not
// come over TLS (directly, or per a trusted proxy) to a known host is
// answered 308 to https://<host>[:port]<path?query>, a method- and
// body-preserving redirect. ACME http-01 challenges of known hosts are
// answered instead; unknown hosts go on to the router's tenant_not_found.
func Redirect(cfg RedirectConfig) fiber.Handler {
	port := ""
	if cfg.PublicPort != 0 && cfg.PublicPort != 443 {
		port = ":" + strconv.Itoa(cfg.PublicPort)
	}
	var challenge fiber.Handler
	if cfg.Challenge != nil {
		// The adaptor makes fasthttp's RequestCtx the request's context;
		// autocert derives a timeout from it, whose goroutine reads the
		// server's done channel while Shutdown clears it (a data race in
		// fasthttp). Without its cancellation, nothing watches it.
		h := cfg.Challenge
		challenge = adaptor.HTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r.WithContext(context.WithoutCancel(r.Context())))
		}))
	}
	return func(c *fiber.Ctx) error {
		if httpx.IsTLS(c, cfg.Proxies) {
			return c.Next()
		}
		raw, err := httpx.Host(c, cfg.Proxies)
		if err != nil {
			return err
		}
		host := tenant.NormalizeHost(raw)
		if host == "" || !cfg.Known(host) {
			return c.Next()
		}
		if challenge != nil && strings.HasPrefix(c.Path(), challengePrefix) {
			return challenge(c)
		}
		// The path and query as received, never the absolute-form target's
		// scheme and host.
		uri := c.Request().URI().RequestURI()
		c.Set(fiber.HeaderLocation, "https://"+host+port+string(uri))
		return c.SendStatus(fiber.StatusPermanentRedirect)
	}
}
