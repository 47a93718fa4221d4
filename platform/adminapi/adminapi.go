// Package adminapi is the operator HTTP API, served on its own listener
// (never through a tenant host) behind a bearer operator token. It calls
// the same provisioning service as the CLI, so both behave alike, and
// records every action in the catalog's operator audit.
package adminapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/provision"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/httperr"
	"github.com/tenancy/platform/tenant/router"
)

// Config wires the API.
type Config struct {
	Service        *provision.Service
	Catalog        *catalog.DB
	Token          string // PLATFORM_OPERATOR_TOKEN; empty disables /v1
	Health, Ready  fiber.Handler
	TrustedProxies []string
	Proxies        router.Proxies // the same, parsed: for client addresses in the audit
	Logger         *slog.Logger
}

type api struct {
	cfg   Config
	token [32]byte
}

// New returns the operator API's Fiber app.
func New(cfg Config) *fiber.App {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &api{cfg: cfg, token: sha256.Sum256([]byte(cfg.Token))}
	app := fiber.New(router.Settings(cfg.Logger, cfg.TrustedProxies))
	app.Get("/healthz", cfg.Health)
	app.Get("/readyz", cfg.Ready)
	v1 := app.Group("/v1", a.auth)
	v1.Post("/tenants", a.create)
	v1.Get("/tenants", a.list)
	v1.Get("/tenants/:slug", a.show)
	v1.Post("/tenants/:slug/suspend", a.suspend)
	v1.Post("/tenants/:slug/resume", a.resume)
	v1.Delete("/tenants/:slug", a.delete)
	v1.Post("/tenants/:slug/migrate", a.migrate)
	v1.Get("/migrations", a.migrations)
	return app
}

const actorKey = "operator"

// auth checks the bearer token in constant time (hashes of equal length,
// so not even the token's length leaks).
func (a *api) auth(c *fiber.Ctx) error {
	if a.cfg.Token == "" {
		return tenant.Errorf(tenant.EUnavailable, "the operator API is disabled: set PLATFORM_OPERATOR_TOKEN")
	}
	given, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	sum := sha256.Sum256([]byte(given))
	if !ok || subtle.ConstantTimeCompare(sum[:], a.token[:]) != 1 {
		a.audit(c, "auth", "", nil, tenant.Errorf(httperr.EUnauthorized, "unauthorized"))
		return tenant.Errorf(httperr.EUnauthorized, "missing or wrong operator token")
	}
	// Operators are told apart by a fingerprint of their token, never the token.
	c.Locals(actorKey, "api:"+hex.EncodeToString(a.token[:4]))
	return c.Next()
}

// audit records an operator action; the action's own error is returned.
func (a *api) audit(c *fiber.Ctx, action, slug string, details map[string]any, err error) error {
	actor, _ := c.Locals(actorKey).(string)
	if actor == "" {
		actor = "api:anonymous"
	}
	if details == nil {
		details = map[string]any{}
	}
	details["ip"] = router.ClientIP(c, a.cfg.Proxies)
	aerr := a.cfg.Catalog.RecordOperatorAction(context.WithoutCancel(c.UserContext()), catalog.OperatorAction{
		Actor: actor, Source: "api", Action: action, Tenant: slug, Failed: err != nil, Details: details})
	if aerr != nil {
		a.cfg.Logger.ErrorContext(c.UserContext(), "operator audit write failed", "action", action, "err", aerr)
	}
	return err
}

// decode reads a JSON body strictly: unknown fields are mistakes.
func decode(c *fiber.Ctx, v any) error {
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return tenant.Errorf(tenant.EInvalid, "request body: %v", err)
	}
	if dec.More() {
		return tenant.Errorf(tenant.EInvalid, "request body: one JSON object expected")
	}
	return nil
}

type createBody struct {
	Slug     string   `json:"slug"`
	Kind     string   `json:"kind"`
	Name     string   `json:"name"`
	Domains  []string `json:"domains"`
	TimeZone string   `json:"time_zone"`
}

func (a *api) create(c *fiber.Ctx) error {
	var b createBody
	if err := decode(c, &b); err != nil {
		return a.audit(c, "tenant.create", "", nil, err)
	}
	res, err := a.cfg.Service.Create(c.UserContext(), provision.CreateRequest{Slug: b.Slug, Kind: b.Kind, Name: b.Name, Domains: b.Domains, TimeZone: b.TimeZone})
	details := map[string]any{"kind": b.Kind, "domains": b.Domains}
	if res != nil {
		details["resumed"] = res.Resumed
	}
	if err := a.audit(c, "tenant.create", b.Slug, details, err); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(CreatedView(res))
}

func (a *api) list(c *fiber.Ctx) error {
	var f catalog.TenantFilter
	if s := c.Query("status"); s != "" {
		switch st := tenant.Status(s); st {
		case tenant.StatusProvisioning, tenant.StatusActive, tenant.StatusSuspended, tenant.StatusMaintenance, tenant.StatusDeleted:
			f.Statuses = []tenant.Status{st}
		default:
			return a.audit(c, "tenant.list", "", nil, tenant.Errorf(tenant.EInvalid, "unknown status %q", s))
		}
	}
	if k := c.Query("kind"); k != "" {
		kind, err := tenant.ParseKind(k)
		if err != nil {
			return a.audit(c, "tenant.list", "", nil, err)
		}
		f.Kind = kind
	}
	ts, err := a.cfg.Service.List(c.UserContext(), f)
	if err := a.audit(c, "tenant.list", "", nil, err); err != nil {
		return err
	}
	out := make([]Tenant, len(ts))
	for i, t := range ts {
		out[i] = TenantView(a.cfg.Service, t)
	}
	return c.JSON(fiber.Map{"tenants": out})
}

// slug copies the path parameter: Fiber's strings die with the request.
func slug(c *fiber.Ctx) string { return strings.Clone(c.Params("slug")) }

func (a *api) show(c *fiber.Ctx) error {
	t, err := a.cfg.Service.Get(c.UserContext(), slug(c))
	if err := a.audit(c, "tenant.show", slug(c), nil, err); err != nil {
		return err
	}
	return c.JSON(TenantView(a.cfg.Service, t))
}

func (a *api) setStatus(c *fiber.Ctx, action string, op func(context.Context, string) error) error {
	s := slug(c)
	if err := a.audit(c, action, s, nil, op(c.UserContext(), s)); err != nil {
		return err
	}
	t, err := a.cfg.Service.Get(c.UserContext(), s)
	if err != nil {
		return err
	}
	return c.JSON(TenantView(a.cfg.Service, t))
}

func (a *api) suspend(c *fiber.Ctx) error {
	return a.setStatus(c, "tenant.suspend", a.cfg.Service.Suspend)
}

func (a *api) resume(c *fiber.Ctx) error {
	return a.setStatus(c, "tenant.resume", a.cfg.Service.Resume)
}

func (a *api) delete(c *fiber.Ctx) error {
	s := slug(c)
	purge := false
	switch c.Query("purge") {
	case "", "false":
	case "true":
		purge = true
	default:
		return a.audit(c, "tenant.delete", s, nil, tenant.Errorf(tenant.EInvalid, "purge must be true or false"))
	}
	op, action, result := a.cfg.Service.Delete, "tenant.delete", "deleted"
	if purge {
		op, action, result = a.cfg.Service.Purge, "tenant.purge", "purged"
	}
	if err := a.audit(c, action, s, nil, op(c.UserContext(), s)); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"slug": s, "result": result})
}

func (a *api) migrate(c *fiber.Ctx) error {
	s := slug(c)
	rs, err := a.cfg.Service.MigrateUp(c.UserContext(), provision.MigrateOptions{Tenant: s})
	if err == nil {
		for _, r := range rs {
			if r.Err != nil {
				err = tenant.Errorf(httperr.EMigrationFailed, "%s", ErrorText(r.Err))
			}
		}
	}
	if err := a.audit(c, "migrate.up", s, map[string]any{"tenant": s}, err); err != nil && rs == nil {
		return err
	} else if err != nil {
		return c.Status(httperr.Status(httperr.EMigrationFailed)).JSON(fiber.Map{
			"error":   fiber.Map{"code": httperr.EMigrationFailed, "message": tenant.ErrorMessage(err)},
			"results": MigrationViews(rs)})
	}
	return c.JSON(fiber.Map{"results": MigrationViews(rs)})
}

func (a *api) migrations(c *fiber.Ctx) error {
	rs, err := a.cfg.Service.MigrationStatus(c.UserContext(), strings.Clone(c.Query("tenant")))
	if err := a.audit(c, "migrate.status", "", nil, err); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"results": MigrationViews(rs)})
}
