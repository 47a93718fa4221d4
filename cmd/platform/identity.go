package main

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/apidoc"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/auth/authhttp"
	"github.com/tenancy/platform/tenant/auth/session"
	"github.com/tenancy/platform/tenant/console"
	"github.com/tenancy/platform/tenant/institution"
	"github.com/tenancy/platform/tenant/mail"
	"github.com/tenancy/platform/tenant/resource/resourcehttp"
	"github.com/tenancy/platform/tenant/restaurant"
	"github.com/tenancy/platform/tenant/router"
)

// identityConfig is what tenant identity needs from the environment.
type identityConfig struct {
	SMTPURL      string // PLATFORM_SMTP_URL; empty: reset mail is not sent (logged)
	SMTPFrom     string // PLATFORM_SMTP_FROM; default no-reply@<base domain>
	LoginLimit   auth.Limit
	DefaultLimit auth.Limit
}

func loadIdentityConfig(getenv func(string) string, baseDomain string) (identityConfig, error) {
	c := identityConfig{SMTPURL: getenv("PLATFORM_SMTP_URL"), SMTPFrom: getenv("PLATFORM_SMTP_FROM")}
	if c.SMTPFrom == "" {
		c.SMTPFrom = "no-reply@" + baseDomain
	}
	var err error
	if c.LoginLimit, err = parseLimit("PLATFORM_RATE_LIMIT_LOGIN", getenv("PLATFORM_RATE_LIMIT_LOGIN"), false); err != nil {
		return c, err
	}
	if c.DefaultLimit, err = parseLimit("PLATFORM_RATE_LIMIT_DEFAULT", getenv("PLATFORM_RATE_LIMIT_DEFAULT"), true); err != nil {
		return c, err
	}
	return c, nil
}

// parseLimit reads "N/PERIOD" (e.g. 20/60s, 300/1m); empty is the
// handler's default; "off" turns a limit off where that is allowed (the
// login limit stays: it is what makes guessing passwords slow).
func parseLimit(name, v string, offOK bool) (auth.Limit, error) {
	if v == "" {
		return auth.Limit{}, nil
	}
	if v == "off" && offOK {
		return auth.Limit{Rate: -1, Period: time.Minute}, nil
	}
	n, p, ok := strings.Cut(v, "/")
	rate, err := strconv.Atoi(n)
	period, perr := time.ParseDuration(p)
	if !ok || err != nil || perr != nil || rate < 1 || period < time.Second {
		hint := ""
		if offOK {
			hint = ", or off"
		}
		return auth.Limit{}, tenant.Errorf(tenant.EInvalid, "%s must be REQUESTS/PERIOD such as 20/60s%s", name, hint)
	}
	return auth.Limit{Rate: rate, Period: period}, nil
}

// identity wires sessions, the identity service and its HTTP API: the
// routes the router serves inside the tenant context.
func (s *server) identity(getenv func(string) string) (func(fiber.Router), error) {
	ic, err := loadIdentityConfig(getenv, s.baseDomain)
	if err != nil {
		return nil, err
	}
	var mailer auth.Mailer
	if ic.SMTPURL != "" {
		m, err := mail.New(mail.Config{URL: ic.SMTPURL, From: ic.SMTPFrom, Timeout: 10 * time.Second, Logger: s.log})
		if err != nil {
			return nil, err
		}
		mailer = m
	} else {
		s.log.Warn("PLATFORM_SMTP_URL is not set: password reset mail is not sent")
		mailer = noMail{}
	}
	s.sessions = session.New(s.redis, session.Options{Timeout: 2 * time.Second, Refused: s.metrics.RateLimited})
	svc, err := auth.NewService(auth.Config{BcryptCost: s.bcryptCost, AllowWeakCost: s.weakBcrypt, Logger: s.log}, s.sessions, mailer)
	if err != nil {
		return nil, err
	}
	s.auth = svc
	// The domain APIs, each on tenants of its kind, behind the identity
	// API's authentication (authenticate: set when the routes are built,
	// before any request). The console's domain screens write through it;
	// their audit rows name the console's user (console.Principal).
	var authenticate fiber.Handler
	api := resourcehttp.New(resourcehttp.Config{Pools: s.pools, Tenant: router.FromContext,
		Authenticate: func(c *fiber.Ctx) error { return authenticate(c) },
		Principal: func(c *fiber.Ctx) *auth.Principal {
			if p := authhttp.Principal(c); p != nil {
				return p
			}
			return console.Principal(c)
		},
		Require: authhttp.Require, Proxies: s.cfg.Proxies, Logger: s.log})
	// The tenant web console (HTML pages beside the API, never under /api).
	con, err := console.New(console.Config{Service: svc, Sessions: s.sessions, Secrets: s.secrets, Pools: s.pools,
		Proxies: s.cfg.Proxies, Tenant: router.FromContext, LoginLimit: ic.LoginLimit, DefaultLimit: ic.DefaultLimit,
		Logger: s.log, API: api})
	if err != nil {
		return nil, err
	}
	return func(r fiber.Router) {
		ah := authhttp.Routes(r, authhttp.Config{Service: svc, Sessions: s.sessions, Secrets: s.secrets, Pools: s.pools,
			Proxies: s.cfg.Proxies, Tenant: router.FromContext, SameTenant: s.sameTenant,
			LoginLimit: ic.LoginLimit, DefaultLimit: ic.DefaultLimit, Logger: s.log})
		authenticate = ah.Authenticate()
		restaurant.Mount(api, r)
		institution.Mount(api, r)
		// GET /api/openapi.json: the document of the tenant's kind, built
		// from the routes above on its first request.
		apidoc.Mount(api, r)
		// /, /login, /password…, /logout, /lang, /static/… (console.Routes).
		con.Routes(r)
	}, nil
}

// noMail stands in when no SMTP server is configured: a reset request is
// still answered 202 (as for an unknown user), and the failure is logged.
type noMail struct{}

func (noMail) Send(context.Context, auth.Mail) error {
	return tenant.Errorf(tenant.EUnavailable, "no SMTP server is configured (PLATFORM_SMTP_URL)")
}

// sameTenant says whether a CORS origin (scheme://host[:port]) is one of
// t's own hosts: its subdomain or a custom domain, as the resolver maps them.
func (s *server) sameTenant(origin string, t *tenant.Tenant) bool {
	_, host, ok := strings.Cut(origin, "://")
	if !ok || host == "" {
		return false
	}
	o := s.resolver.Lookup(tenant.NormalizeHost(host))
	return o != nil && o.ID == t.ID
}
