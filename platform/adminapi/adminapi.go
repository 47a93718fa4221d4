// Package adminapi is the operator HTTP API, served on its own listener
// (never through a tenant host) behind a bearer operator token. It calls
// the same provisioning service as the CLI, so both behave alike; that
// service records every operator action in the catalog's operator audit,
// with the actor this API puts on the request's context.
package adminapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/platform/backup"
	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/importer"
	"github.com/tenancy/platform/platform/opjob"
	"github.com/tenancy/platform/platform/provision"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/httpx"
)

// Config wires the API.
type Config struct {
	Service        *provision.Service
	Rotator        *provision.Rotator // nil: secret rotation answers unavailable
	Catalog        *catalog.DB
	Token          string // PLATFORM_OPERATOR_TOKEN; empty disables /v1
	Health, Ready  fiber.Handler
	TrustedProxies []string
	Proxies        httpx.Proxies // the same, parsed: for client addresses in the audit
	Logger         *slog.Logger
	Limits         httpx.Limits    // read/idle timeouts; zero: the defaults
	FailedAuth     *httpx.Failures // failed-token counts per address; nil: 20 a minute
	// Backups serves the backup routes; nil (PLATFORM_BACKUP_URL unset):
	// they answer unavailable. Jobs runs their long operations.
	Backups  Backups
	Jobs     *opjob.Runner
	Sessions backup.SessionEnder // a restore ends the tenant's sessions; nil: they are not ended
	// Metrics serves GET /metrics (Prometheus); nil: not served. It does
	// its own authentication, if any: not the operator token.
	Metrics fiber.Handler
	// Importer runs POST /v1/tenants/{slug}/imports as Jobs; nil:
	// unavailable.
	Importer *importer.Service
	// MaxUpload bounds an uploaded SQLite file (PLATFORM_IMPORT_MAX_UPLOAD);
	// zero: DefaultMaxUpload. Uploads are streamed to a temporary file in
	// UploadDir ("": the system's).
	MaxUpload int64
	UploadDir string
	// MaxUploads is how many uploads one replica holds at a time (being
	// received or waiting for their job); zero: 2. UploadDir must have
	// room for MaxUploads × MaxUpload.
	MaxUploads int
}

// Ops is the operator API's operations: its JSON handlers and the
// operator console (platform/opconsole) call the same methods, so both
// authenticate, refuse, start jobs and audit alike.
type Ops struct {
	cfg     Config
	token   [32]byte
	fails   *httpx.Failures
	uploads chan struct{} // a slot per upload held (Config.MaxUploads)
	dirOnce sync.Once     // spoolDir
	dir     string
	dirErr  error
}

// New returns the operator API's Fiber app (httpx.NewApp: its middleware
// runs first: request id, request logger, panic recovery, access log).
func New(cfg Config) *fiber.App { return NewApp(NewOps(cfg)) }

// NewOps applies cfg's defaults and returns its operations, for NewApp
// and the operator console: give both the same Ops, so they share the
// failed-authentication counts.
func NewOps(cfg Config) *Ops {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.FailedAuth == nil {
		cfg.FailedAuth = httpx.NewFailures(authFailuresPerMinute, time.Minute, 0)
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = DefaultMaxUpload
	}
	if cfg.MaxUploads <= 0 {
		cfg.MaxUploads = 2
	}
	if v := reflect.ValueOf(cfg.Backups); v.Kind() == reflect.Pointer && v.IsNil() {
		cfg.Backups = nil // a nil *backup.Service: backups are off
	}
	return &Ops{cfg: cfg, token: sha256.Sum256([]byte(cfg.Token)), fails: cfg.FailedAuth, uploads: make(chan struct{}, cfg.MaxUploads)}
}

// NewApp returns the operator API's Fiber app over a's operations.
func NewApp(a *Ops) *fiber.App {
	cfg := a.cfg
	limits := cfg.Limits
	if a.ImportsEnabled() {
		limits.Uploads = &httpx.Uploads{Match: IsUpload, Max: cfg.MaxUpload}
	}
	app := httpx.NewApp(cfg.Logger, cfg.Proxies, limits)
	app.Use(httpx.SecurityHeaders(func(c *fiber.Ctx) bool { return httpx.IsTLS(c, cfg.Proxies) }))
	app.Get("/healthz", cfg.Health)
	app.Get("/readyz", cfg.Ready)
	if cfg.Metrics != nil {
		app.Get("/metrics", cfg.Metrics)
	}
	v1 := app.Group("/v1", a.auth)
	v1.Post("/tenants", a.create)
	v1.Get("/tenants", a.list)
	v1.Get("/tenants/:slug", a.show)
	v1.Post("/tenants/:slug/suspend", a.suspend)
	v1.Post("/tenants/:slug/resume", a.resume)
	v1.Delete("/tenants/:slug", a.delete)
	v1.Post("/tenants/:slug/migrate", a.migrate)
	v1.Post("/tenants/:slug/secrets/rotate", a.rotate)
	v1.Get("/migrations", a.migrations)
	v1.Post("/migrations", a.migrateFleet)
	v1.Post("/tenants/:slug/backups", a.backupRun)
	v1.Get("/tenants/:slug/backups", a.backupList)
	v1.Get("/backups/:id", a.backupShow)
	v1.Post("/backups/:id/verify", a.backupVerify)
	v1.Post("/backups/:id/restore", a.backupRestore)
	v1.Get("/jobs/:id", a.job)
	v1.Post("/tenants/:slug/imports", a.importRun)
	return app
}

const actorKey = "operator"

// authFailuresPerMinute failed tokens from one address are answered 401;
// after them, 429 until the minute is over.
const authFailuresPerMinute = 20

// auth checks the bearer token (Authenticate) and puts the operator
// actor on the user context.
func (a *Ops) auth(c *fiber.Ctx) error {
	if a.cfg.Token == "" {
		return tenant.Errorf(tenant.EUnavailable, "the operator API is disabled: set PLATFORM_OPERATOR_TOKEN")
	}
	ip := strings.Clone(httpx.ClientIP(c, a.cfg.Proxies))
	given, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	if !ok {
		given = "" // never equal: the token is at least 32 characters
	}
	actor, err := a.Authenticate(c.UserContext(), ip, given, "api")
	if wait, limited := RetryAfter(err); limited {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	}
	if err != nil {
		return err
	}
	c.Locals(actorKey, actor.Name)
	c.SetUserContext(tenant.WithActor(c.UserContext(), actor))
	return c.Next()
}

// rateLimited is the refusal of an address past the failures limit, with
// how long it still waits.
type rateLimited struct {
	err  *tenant.Error
	wait time.Duration
}

func (e *rateLimited) Error() string { return e.err.Error() }
func (e *rateLimited) Unwrap() error { return e.err }

// RetryAfter is how long an address refused by Authenticate for too many
// failures waits; false for any other error.
func RetryAfter(err error) (time.Duration, bool) {
	var rl *rateLimited
	if errors.As(err, &rl) {
		return rl.wait, true
	}
	return 0, false
}

// Enabled reports whether an operator token is configured.
func (a *Ops) Enabled() bool { return a.cfg.Token != "" }

// Fingerprint tells operators apart without the token: the first four
// bytes of its SHA-256, in hex. Actors are "<source>:<fingerprint>".
func (a *Ops) Fingerprint() string { return hex.EncodeToString(a.token[:4]) }

// Authenticate checks a given operator token in constant time (hashes of
// equal length, so not even the token's length leaks) and returns the
// operator actor of source ("api", "console") at address ip. Failures are
// aggregated per client address: at most one audit row a minute, carrying
// the number of failures it stands for (flushed with the address's next
// row), and ERateLimited (see RetryAfter) past the limit, before the
// token is even looked at; a wrong token is EUnauthorized. The API and the
// console share the counts.
func (a *Ops) Authenticate(ctx context.Context, ip, given, source string) (tenant.Actor, error) {
	if a.cfg.Token == "" {
		return tenant.Actor{}, tenant.Errorf(tenant.EUnavailable, "the operator API is disabled: set PLATFORM_OPERATOR_TOKEN")
	}
	if wait := a.fails.Blocked(ip); wait > 0 {
		a.authFailed(ctx, ip, source)
		return tenant.Actor{}, &rateLimited{err: tenant.Errorf(httpx.ERateLimited, "too many failed authentications from this address; try again later"), wait: wait}
	}
	sum := sha256.Sum256([]byte(given))
	if given == "" || subtle.ConstantTimeCompare(sum[:], a.token[:]) != 1 {
		a.authFailed(ctx, ip, source)
		return tenant.Actor{}, tenant.Errorf(httpx.EUnauthorized, "missing or wrong operator token")
	}
	return tenant.Actor{Name: source + ":" + a.Fingerprint(), Source: source, IP: ip}, nil
}

// authFailed counts a failed authentication and writes the audit row when
// one is due.
func (a *Ops) authFailed(ctx context.Context, ip, source string) {
	n, others := a.fails.Fail(ip)
	if n == 0 {
		return
	}
	details := map[string]any{"failures": n}
	if others > 0 {
		details["failures_other_addresses"] = others
	}
	a.record(ctx, tenant.Actor{Name: source + ":anonymous", Source: source, IP: ip}, "auth", "", details,
		tenant.Errorf(httpx.EUnauthorized, "unauthorized"))
}

// record writes an operator audit row of what the service does not record
// itself (failed authentications, refusals and ends of jobs) for actor;
// the given error is returned. A failed write is logged.
func (a *Ops) record(ctx context.Context, actor tenant.Actor, action, slug string, details map[string]any, err error) error {
	if details == nil {
		details = map[string]any{}
	}
	if actor.IP != "" {
		details["ip"] = actor.IP
	}
	aerr := a.cfg.Catalog.RecordOperatorAction(context.WithoutCancel(ctx), catalog.OperatorAction{
		Actor: actor.Name, Source: actor.Source, Action: action, Tenant: slug, Failed: err != nil, Details: details})
	if aerr != nil {
		a.cfg.Logger.ErrorContext(ctx, "operator audit write failed", "action", action, "err", aerr)
	}
	return err
}

// actorOf is the operator actor of ctx (set by auth or the console).
func actorOf(ctx context.Context) tenant.Actor {
	if a, ok := tenant.ActorFrom(ctx); ok {
		return a
	}
	return tenant.Actor{Name: "api:anonymous", Source: "api"}
}

// decode reads a JSON body strictly: unknown fields are mistakes.
// Its errors describe the problem in a few words of our own and never
// quote the body (the decoder's texts do: names, characters); a control
// character in any string is refused too, escaped (\u0000) or not.
func decode(c *fiber.Ctx, v any) error { return decodeJSON(c.Body(), v) }

func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return tenant.Errorf(tenant.EInvalid, "request body: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return tenant.Errorf(tenant.EInvalid, "request body: one JSON value expected")
	}
	if field, bad := controlChars(reflect.ValueOf(v), "body"); bad {
		return tenant.Errorf(tenant.EInvalid, "request body: %s contains a control character", field)
	}
	return nil
}

// jsonProblem describes a decoding error without any byte of the input.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return "a JSON object expected"
		}
		return fmt.Sprintf("field %q has the wrong type", safeName(typ.Field))
	}
	if name, ok := strings.CutPrefix(err.Error(), `json: unknown field `); ok {
		if u, err := strconv.Unquote(name); err == nil {
			name = u
		}
		return fmt.Sprintf("unknown field %q", safeName(name))
	}
	return "invalid JSON"
}

// safeName keeps at most 40 letters, digits, '_', '-' and '.' of a field
// name taken from the input.
func safeName(s string) string {
	b := make([]byte, 0, min(len(s), 40))
	for i := 0; i < len(s) && len(b) < 40; i++ {
		if c := s[i]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' {
			b = append(b, c)
		}
	}
	return string(b)
}

// controlChars finds a string holding a control character (or a line or
// paragraph separator) anywhere in v; field names it by its JSON names.
func controlChars(v reflect.Value, field string) (string, bool) {
	switch v.Kind() {
	case reflect.String:
		return field, strings.ContainsFunc(v.String(), func(r rune) bool {
			return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
		})
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return controlChars(v.Elem(), field)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if f, bad := controlChars(v.Index(i), field); bad {
				return f, true
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if f, bad := controlChars(it.Key(), field); bad {
				return f, true
			}
			if f, bad := controlChars(it.Value(), field); bad {
				return f, true
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			sf := v.Type().Field(i)
			if !sf.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if name == "" {
				name = sf.Name
			}
			if f, bad := controlChars(v.Field(i), name); bad {
				return f, true
			}
		}
	}
	return "", false
}

type createBody struct {
	Slug     string   `json:"slug"`
	Kind     string   `json:"kind"`
	Name     string   `json:"name"`
	Domains  []string `json:"domains"`
	TimeZone string   `json:"time_zone"`
}

// opCtx is the context of an operation: the request's, carrying the
// operator actor that the service records in the operator audit. auth sets
// the actor on the user context; the Locals fallback keeps the API's audit
// attributed if it does not.
func (a *Ops) opCtx(c *fiber.Ctx) context.Context {
	ctx := c.UserContext()
	if _, ok := tenant.ActorFrom(ctx); ok {
		return ctx
	}
	name, _ := c.Locals(actorKey).(string)
	if name == "" {
		name = "api:anonymous"
	}
	return tenant.WithActor(ctx, tenant.Actor{Name: name, Source: "api", IP: strings.Clone(httpx.ClientIP(c, a.cfg.Proxies))})
}

func (a *Ops) create(c *fiber.Ctx) error {
	var b createBody
	if err := decode(c, &b); err != nil {
		return err
	}
	res, err := a.cfg.Service.Create(a.opCtx(c), provision.CreateRequest{Slug: b.Slug, Kind: b.Kind, Name: b.Name, Domains: b.Domains, TimeZone: b.TimeZone})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(CreatedView(res))
}

func (a *Ops) list(c *fiber.Ctx) error {
	var f catalog.TenantFilter
	if s := c.Query("status"); s != "" {
		switch st := tenant.Status(s); st {
		case tenant.StatusProvisioning, tenant.StatusActive, tenant.StatusSuspended, tenant.StatusMaintenance, tenant.StatusDeleted:
			f.Statuses = []tenant.Status{st}
		default:
			return tenant.Errorf(tenant.EInvalid, "unknown status %q", s)
		}
	}
	if k := c.Query("kind"); k != "" {
		kind, err := tenant.ParseKind(k)
		if err != nil {
			return err
		}
		f.Kind = kind
	}
	ts, err := a.cfg.Service.List(c.UserContext(), f)
	if err != nil {
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

func (a *Ops) show(c *fiber.Ctx) error {
	t, err := a.cfg.Service.Get(c.UserContext(), slug(c))
	if err != nil {
		return err
	}
	v := TenantView(a.cfg.Service, t)
	if v.Secrets, err = SecretAges(c.UserContext(), a.cfg.Service, t); err != nil {
		return err
	}
	return c.JSON(v)
}

type rotateBody struct {
	Only []string `json:"only"`
}

// rotate rotates a tenant's secrets (all, or those in "only"); the body
// may be empty.
func (a *Ops) rotate(c *fiber.Ctx) error {
	var b rotateBody
	if len(bytes.TrimSpace(c.Body())) > 0 {
		if err := decode(c, &b); err != nil {
			return err
		}
	}
	if a.cfg.Rotator == nil {
		return tenant.Errorf(tenant.EUnavailable, "secret rotation is not configured on this server")
	}
	res, err := a.cfg.Rotator.Rotate(a.opCtx(c), slug(c), b.Only)
	if err != nil {
		return err
	}
	return c.JSON(res)
}

func (a *Ops) setStatus(c *fiber.Ctx, op func(context.Context, string) error) error {
	s := slug(c)
	if err := op(a.opCtx(c), s); err != nil {
		return err
	}
	t, err := a.cfg.Service.Get(c.UserContext(), s)
	if err != nil {
		return err
	}
	return c.JSON(TenantView(a.cfg.Service, t))
}

func (a *Ops) suspend(c *fiber.Ctx) error { return a.setStatus(c, a.cfg.Service.Suspend) }

func (a *Ops) resume(c *fiber.Ctx) error { return a.setStatus(c, a.cfg.Service.Resume) }

func (a *Ops) delete(c *fiber.Ctx) error {
	s := slug(c)
	purge := false
	switch c.Query("purge") {
	case "", "false":
	case "true":
		purge = true
	default:
		return tenant.Errorf(tenant.EInvalid, "purge must be true or false")
	}
	op, result := a.cfg.Service.Delete, "deleted"
	if purge {
		op, result = a.cfg.Service.Purge, "purged"
	}
	if err := op(a.opCtx(c), s); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"slug": s, "result": result})
}

// Migrate migrates one tenant for the operator of ctx (the service
// audits it); a database that failed is an EMigrationFailed error beside
// the results.
func (a *Ops) Migrate(ctx context.Context, s string) ([]provision.MigrationResult, error) {
	rs, err := a.cfg.Service.MigrateUp(ctx, provision.MigrateOptions{Tenant: s})
	if err != nil {
		return nil, err
	}
	return rs, migrationFailed(rs)
}

// migrationFailed is the error of results with a failed database.
func migrationFailed(rs []provision.MigrationResult) error {
	var err error
	for _, r := range rs {
		if r.Err != nil {
			err = tenant.Errorf(httpx.EMigrationFailed, "%s", ErrorText(r.Err))
		}
	}
	return err
}

func (a *Ops) migrate(c *fiber.Ctx) error {
	rs, err := a.Migrate(a.opCtx(c), slug(c))
	if tenant.ErrorCode(err) == httpx.EMigrationFailed {
		return c.Status(httpx.Status(httpx.EMigrationFailed)).JSON(fiber.Map{
			"error":   fiber.Map{"code": httpx.EMigrationFailed, "message": tenant.ErrorMessage(err)},
			"results": MigrationViews(rs)})
	}
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"results": MigrationViews(rs)})
}

// StartFleetMigration migrates the templates and every tenant
// (provision's MigrateUp with All, audited by the service) as an operator
// job of kind migrate (tenant "": the fleet): its result is the
// databases' MigrationViews; a database that failed fails the job with
// EMigrationFailed, the results still recorded. EUnavailable when this
// server runs no jobs.
func (a *Ops) StartFleetMigration(ctx context.Context) (*catalog.OperatorJob, error) {
	if a.cfg.Jobs == nil {
		return nil, tenant.Errorf(tenant.EUnavailable, "operator jobs are not configured on this server")
	}
	return a.cfg.Jobs.Start(ctx, catalog.JobMigrate, "", "", actorOf(ctx).Name, func(ctx context.Context) (any, error) {
		rs, err := a.cfg.Service.MigrateUp(ctx, provision.MigrateOptions{All: true})
		if err != nil {
			return nil, err
		}
		return fiber.Map{"results": MigrationViews(rs)}, migrationFailed(rs)
	})
}

// migrateFleet: POST /v1/migrations, the fleet migration as a job (202).
func (a *Ops) migrateFleet(c *fiber.Ctx) error {
	if err := emptyBody(c); err != nil {
		return err
	}
	j, err := a.StartFleetMigration(a.opCtx(c))
	if err != nil {
		return err
	}
	return accepted(c, j)
}

// MigrationStatus is each database's migration state (one tenant's, or
// with slug "" the templates' and the fleet's).
func (a *Ops) MigrationStatus(ctx context.Context, s string) ([]provision.MigrationResult, error) {
	return a.cfg.Service.MigrationStatus(ctx, s)
}

func (a *Ops) migrations(c *fiber.Ctx) error {
	rs, err := a.MigrationStatus(c.UserContext(), strings.Clone(c.Query("tenant")))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"results": MigrationViews(rs)})
}
