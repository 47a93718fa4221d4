package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/tenancy/platform/platform/adminapi"
	"github.com/tenancy/platform/platform/backup"
	"github.com/tenancy/platform/platform/importer"
	"github.com/tenancy/platform/platform/opconsole"
	"github.com/tenancy/platform/platform/opjob"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/platform/provision"
	"github.com/tenancy/platform/platform/schedule"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/auth/session"
	"github.com/tenancy/platform/tenant/httpx"
	"github.com/tenancy/platform/tenant/metrics"
	"github.com/tenancy/platform/tenant/pool"
	"github.com/tenancy/platform/tenant/resolve"
	"github.com/tenancy/platform/tenant/router"
	"github.com/tenancy/platform/tenant/secretcache"
	"github.com/tenancy/platform/tenant/tlsserve"
)

// serveConfig is what `platform serve` needs beyond the control plane.
type serveConfig struct {
	HTTPAddr, AdminAddr string
	RedisURL            string
	OperatorToken       string
	TrustedProxies      []string
	Proxies             httpx.Proxies
	Budget              int // 0: each server's connection_budget from the catalog
	TenantMaxConns      int32
	MaxPools            int
	PoolIdle            time.Duration
	SecretsTTL          time.Duration
	BudgetWait          time.Duration
	ConnectTimeout      time.Duration // one tenant connection's dial and authentication
	ReadTimeout         time.Duration // both listeners; 0: the shared settings' default
	MaxUpload           int64         // an import's uploaded SQLite file; 0: adminapi.DefaultMaxUpload
	UploadDir           string        // where uploads are spooled; "": the system's temporary directory
	Metrics             metricsConfig
	TLS                 tlsConfig // tls.go
	// Warnings are logged loudly at start: settings that work but should not
	// be used as they are in production.
	Warnings []string
}

// minOperatorToken is the shortest operator token accepted: 32 characters
// of `openssl rand -hex 16` are 128 bits; a short token can be guessed.
const minOperatorToken = 32

func loadServeConfig(getenv func(string) string, args []string) (serveConfig, error) {
	c := serveConfig{
		HTTPAddr: getenv("PLATFORM_HTTP_ADDR"), AdminAddr: getenv("PLATFORM_ADMIN_ADDR"),
		RedisURL: getenv("REDIS_URL"), OperatorToken: getenv("PLATFORM_OPERATOR_TOKEN"),
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = ":8080"
	}
	if c.AdminAddr == "" {
		c.AdminAddr = "127.0.0.1:8081"
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&c.HTTPAddr, "http-addr", c.HTTPAddr, "tenant listener (PLATFORM_HTTP_ADDR)")
	fs.StringVar(&c.AdminAddr, "admin-addr", c.AdminAddr, "operator listener (PLATFORM_ADMIN_ADDR)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return c, err
	}
	if len(pos) > 0 {
		return c, usagef("serve: unexpected argument %q", pos[0])
	}
	if c.RedisURL == "" {
		return c, tenant.Errorf(tenant.EInvalid, "REDIS_URL is not set")
	}
	// Unset disables the operator API; set, it must be long enough not to be
	// guessed. The token itself is never part of the message.
	if n := len(c.OperatorToken); n > 0 && n < minOperatorToken {
		return c, tenant.Errorf(tenant.EInvalid, "PLATFORM_OPERATOR_TOKEN is too short (%d characters): at least %d are required (e.g. openssl rand -hex 32)", n, minOperatorToken)
	}
	if !isLoopback(c.AdminAddr) && getenv("PLATFORM_ADMIN_TLS_CERT_FILE") == "" {
		c.Warnings = append(c.Warnings, "PLATFORM_ADMIN_ADDR "+c.AdminAddr+" is not a loopback address and the operator API is served without TLS: "+
			"the operator token crosses the network in clear text; set PLATFORM_ADMIN_TLS_CERT_FILE and PLATFORM_ADMIN_TLS_KEY_FILE, or listen on 127.0.0.1 behind a TLS proxy")
	}
	if p := getenv("PLATFORM_TRUSTED_PROXIES"); p != "" {
		for _, s := range strings.Split(p, ",") {
			c.TrustedProxies = append(c.TrustedProxies, strings.TrimSpace(s))
		}
	}
	proxies, err := httpx.ParseProxies(c.TrustedProxies)
	if err != nil {
		return c, tenant.Errorf(tenant.EInvalid, "PLATFORM_TRUSTED_PROXIES: %v", err)
	}
	c.Proxies = proxies
	if c.Metrics, err = loadMetricsConfig(getenv); err != nil {
		return c, err
	}
	var tlsWarnings []string
	if c.TLS, tlsWarnings, err = loadTLSConfig(getenv, c.TrustedProxies); err != nil {
		return c, err
	}
	c.Warnings = append(c.Warnings, tlsWarnings...)
	if c.TLS.terminates() && c.TLS.HTTPSAddr == c.HTTPAddr {
		return c, tenant.Errorf(tenant.EInvalid, "PLATFORM_HTTPS_ADDR and PLATFORM_HTTP_ADDR are both %s", c.HTTPAddr)
	}
	if v := getenv("PLATFORM_DB_CONN_BUDGET"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, tenant.Errorf(tenant.EInvalid, "PLATFORM_DB_CONN_BUDGET must be a positive number")
		}
		c.Budget = n
	}
	if v := getenv("PLATFORM_MAX_POOLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, tenant.Errorf(tenant.EInvalid, "PLATFORM_MAX_POOLS must be a positive number")
		}
		c.MaxPools = n
	}
	if v := getenv("PLATFORM_IMPORT_MAX_UPLOAD_MIB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1<<16 {
			return c, tenant.Errorf(tenant.EInvalid, "PLATFORM_IMPORT_MAX_UPLOAD_MIB must be between 1 and 65536 (MiB)")
		}
		c.MaxUpload = int64(n) << 20
	}
	if c.UploadDir = getenv("PLATFORM_IMPORT_UPLOAD_DIR"); c.UploadDir != "" {
		if fi, err := os.Stat(c.UploadDir); err != nil || !fi.IsDir() {
			return c, tenant.Errorf(tenant.EInvalid, "PLATFORM_IMPORT_UPLOAD_DIR %q is not a directory", c.UploadDir)
		}
	}
	if v := getenv("PLATFORM_TENANT_MAX_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return c, tenant.Errorf(tenant.EInvalid, "PLATFORM_TENANT_MAX_CONNS must be between 1 and 100")
		}
		c.TenantMaxConns = int32(n)
	}
	durs := []struct {
		env string
		dst *time.Duration
	}{{"PLATFORM_POOL_IDLE_TIMEOUT", &c.PoolIdle}, {"PLATFORM_SECRETS_TTL", &c.SecretsTTL}, {"PLATFORM_DB_BUDGET_WAIT", &c.BudgetWait},
		{"PLATFORM_DB_CONNECT_TIMEOUT", &c.ConnectTimeout},
		{"PLATFORM_HTTP_READ_TIMEOUT", &c.ReadTimeout}}
	for _, d := range durs {
		if v := getenv(d.env); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x <= 0 {
				return c, tenant.Errorf(tenant.EInvalid, "%s must be a duration such as 5m", d.env)
			}
			*d.dst = x
		}
	}
	return c, nil
}

// isLoopback says whether a listen address reaches this machine only: an
// empty host (":8081") is every interface, and a name other than
// localhost may resolve to anything.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// server is a running `platform serve`: the tenant router and the
// operator API over one control plane.
type server struct {
	*app
	cfg      serveConfig
	log      *slog.Logger
	redis    *redis.Client
	vault    *secrets.Store
	resolver *resolve.Resolver
	secrets  *secretcache.Cache
	pools    *pool.Manager
	rotator  *provision.Rotator
	sessions *session.Store
	auth     *auth.Service
	backups  *backup.Service     // nil: PLATFORM_BACKUP_URL is not set
	sched    *schedule.Scheduler // nil: likewise
	jobs     *opjob.Runner       // the operator API's backup jobs; nil: likewise
	tenant   *fiber.App
	admin    *fiber.App
	metrics  *metrics.Metrics
	runs     *metrics.Runs     // what this process runs (metrics.go observe)
	tlsm     *tlsserve.Manager // PLATFORM_TLS acme or files; nil otherwise
	httpsLn  net.Listener      // its listener, set before serve
	adminTLS *tls.Config       // PLATFORM_ADMIN_TLS_CERT_FILE; nil: plain HTTP
	tlsFiles certFiles         // loaded at start, watched by startTLS
}

// newServer wires everything; ctx bounds the resolver's listener.
func newServer(ctx context.Context, getenv func(string) string, args []string, log *slog.Logger) (*server, error) {
	cfg, err := loadServeConfig(getenv, args)
	if err != nil {
		return nil, err
	}
	files, err := loadCertFiles(cfg.TLS, log) // before any connection: bad files refuse at once
	if err != nil {
		return nil, err
	}
	a, err := openApp(ctx, getenv)
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	s := &server{app: a, cfg: cfg, log: log, vault: a.vault, tlsFiles: files}
	ok := false
	defer func() {
		if !ok {
			s.close()
		}
	}()
	// The process's one registry: served on the admin listener only.
	reg, m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	deps, err := metrics.NewDeps(reg)
	if err != nil {
		return nil, err
	}
	if err := s.observe(ctx, reg); err != nil {
		return nil, err
	}
	a.cat.SetLogger(log)
	if a.vaultLogin != nil {
		go a.approle.KeepLoggedIn(ctx, a.vaultClient, a.vaultLogin, log)
	}
	ropts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, tenant.Errorf(tenant.EInvalid, "REDIS_URL is not a valid redis:// URL")
	}
	// Calls end at their context's deadline (session.Options.Timeout), not
	// after go-redis's retries: a Redis down answers 503 promptly.
	ropts.ContextTimeoutEnabled = true
	s.redis = redis.NewClient(ropts)
	s.redis.AddHook(deps.RedisHook())

	s.secrets = secretcache.New(deps.Secrets(a.vault), secretcache.Config{TTL: cfg.SecretsTTL, Logger: log})
	// The base domain is the catalog's: refuse to serve under another one.
	if _, err := a.cat.EnsureBaseDomain(ctx, a.baseDomain); err != nil {
		return nil, err
	}
	// Before the resolver, whose OnPatch tells the scheduler of changed
	// tenants (a new backup_schedule applies at once, not at the next reload).
	if err := s.startSchedule(ctx, getenv); err != nil {
		return nil, err
	}
	// Callbacks at construction; Start (below, once the pools exist) runs them.
	s.resolver = resolve.New(a.cat, resolve.Options{Logger: log, OnChange: func(old *tenant.Tenant) {
		s.pools.Evict(old.ID)
		s.secrets.Invalidate(old.Slug)
	}, OnSecretsChange: func(old *tenant.Tenant) { s.secrets.Invalidate(old.Slug) }, // rotated: the pool stays
		NoticeLag: s.runs.NoticeLag, OnServerChange: s.serverChanged, OnPatch: func(string) {
			if s.sched != nil {
				s.sched.Reload()
			}
		}})
	budgets := map[string]int{}
	servers, err := a.cat.DBServers(ctx)
	if err != nil {
		return nil, err
	}
	for _, srv := range servers {
		budgets[srv.Name] = srv.ConnectionBudget
		if cfg.Budget > 0 {
			budgets[srv.Name] = cfg.Budget
		}
	}
	s.pools = pool.New(pool.Config{MaxConnsPerTenant: cfg.TenantMaxConns, IdleTimeout: cfg.PoolIdle, MaxPools: cfg.MaxPools,
		Budget: cfg.Budget, Budgets: budgets, BudgetWait: cfg.BudgetWait, ConnectTimeout: cfg.ConnectTimeout, Logger: log,
		OnAuthFailure: func(t *tenant.Tenant) { s.secrets.Invalidate(t.Slug) }}, s.target)
	if err := s.resolver.Start(ctx); err != nil {
		return nil, err
	}
	// Read at scrape time: nothing on the request path.
	if err := errors.Join(reg.Register(metrics.NewPoolCollector(s.pools.Stats)),
		reg.Register(metrics.NewResolverCollector(s.resolver.Stats)),
		reg.Register(metrics.NewSecretsCollector(s.secrets.Stats))); err != nil {
		return nil, err
	}
	// A budget changed between the read above and the resolver's first load
	// made no callback.
	for _, srv := range servers {
		if now, ok := s.resolver.Server(srv.Name); ok && cfg.Budget == 0 && now.ConnectionBudget != srv.ConnectionBudget {
			s.pools.SetBudget(srv.Name, now.ConnectionBudget)
		}
	}

	// ReadTimeout bounds a request's headers and body from its first byte: a
	// client trickling them is cut off, on both listeners.
	if err := s.startRotation(ctx, getenv); err != nil {
		return nil, err
	}
	identity, err := s.identity(getenv)
	if err != nil {
		return nil, err
	}
	limits := httpx.Limits{ReadTimeout: cfg.ReadTimeout}
	before, err := s.startTLS(ctx, reg)
	if err != nil {
		return nil, err
	}
	s.tenant = router.New(router.Config{Resolver: s.resolver, Pools: s.pools, Health: healthz, Ready: s.readyz(false),
		TrustedProxies: cfg.TrustedProxies, Logger: log, Limits: limits, Routes: identity, Metrics: m,
		HSTSMaxAge: cfg.TLS.HSTSMaxAge, Before: before})
	acfg := adminapi.Config{Service: a.svc, Rotator: s.rotator, Catalog: a.cat, Token: cfg.OperatorToken,
		Health: healthz, Ready: s.readyz(true), TrustedProxies: cfg.TrustedProxies, Proxies: cfg.Proxies, Logger: log, Limits: limits,
		Metrics: metricsHandler(reg, cfg.Metrics.Token),
		Importer: importer.New(importer.Config{Catalog: a.cat, Servers: map[string]*pgadmin.Server{"default": a.admin},
			BcryptCost: a.bcryptCost, Logger: log}),
		MaxUpload: cfg.MaxUpload, UploadDir: cfg.UploadDir}
	// Operator jobs run the backups and the console's fleet migration.
	host, err := os.Hostname()
	if err != nil {
		host = "serve"
	}
	s.jobs = opjob.New(opjob.Config{Catalog: a.cat, Replica: fmt.Sprintf("%s-%d-%d", host, os.Getpid(), time.Now().UnixNano()), Logger: log})
	acfg.Jobs = s.jobs
	if s.backups != nil { // a nil *backup.Service in the interface would not be nil
		acfg.Backups = s.backups
		// Its own client timeout: a restore's last step may wait on Redis longer than a request.
		acfg.Sessions = session.New(s.redis, session.Options{Timeout: 10 * time.Second})
	}
	// One Ops for the API and the console: failed tokens count together.
	ops := adminapi.NewOps(acfg)
	// Uploads a killed server left behind hold legacy databases.
	if n, err := adminapi.SweepUploads(cfg.UploadDir); err != nil {
		log.Warn("import uploads: could not sweep what stopped servers left", "err", err)
	} else if n > 0 {
		log.Info("import uploads: removed what stopped servers left", "directories", n)
	}
	s.admin = adminapi.NewApp(ops)
	if _, err := opconsole.Mount(s.admin, opconsole.Config{Ops: ops}); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// serverChanged applies a db_servers change to the running pools: a new
// address closes the server's pools (the next request opens them on the
// new one), a new connection_budget resizes the budget, unless
// PLATFORM_DB_CONN_BUDGET overrides every server's.
func (s *server) serverChanged(old, updated tenant.DBServer) {
	name := updated.Name
	if name == "" { // removed: no tenant can be on it any more
		s.log.Info("database server removed", "server", old.Name)
		s.pools.EvictServer(old.Name)
		return
	}
	msg := "database server changed"
	if old.Name == "" {
		msg = "database server added"
	}
	s.log.Info(msg, "server", name, "host", updated.Host, "port", updated.Port, "connection_budget", updated.ConnectionBudget)
	if old.Name != "" && (old.Host != updated.Host || old.Port != updated.Port) {
		s.pools.EvictServer(name)
	}
	if s.cfg.Budget == 0 && old.ConnectionBudget != updated.ConnectionBudget {
		s.pools.SetBudget(name, updated.ConnectionBudget)
	}
}

// target says how to reach a tenant's database: its server from the
// catalog, its login role, and the password from the secrets cache.
func (s *server) target(ctx context.Context, t *tenant.Tenant) (pool.Target, error) {
	srv, ok := s.resolver.Server(t.DBServer)
	if !ok {
		return pool.Target{}, tenant.Errorf(tenant.EUnavailable, "database server %q is unknown", t.DBServer)
	}
	sec, err := s.secrets.Get(ctx, t.Slug)
	if err != nil {
		return pool.Target{}, err
	}
	return pool.Target{Server: srv.Name, Host: srv.Host, Port: srv.Port, Database: t.Database,
		User: tenant.AppRole(t.Slug), Password: sec["db_password"], PreviousPassword: sec[secrets.PreviousPassword]}, nil
}

func healthz(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) }

// degradedImpact says, for each dependency whose loss leaves the replica
// serving, what stops working without it.
var degradedImpact = map[string]string{
	"vault": "tenants whose secrets are cached keep working; a tenant not seen recently answers 503",
	"redis": "logins and authenticated requests answer 503 (sessions and rate limits live in Redis); /api/tenant is served",
}

// degradedCheckTimeout bounds the checks of dependencies whose loss only
// degrades the replica.
const degradedCheckTimeout = 500 * time.Millisecond

// readyz checks the catalog, Redis and Vault. Only the catalog down is
// 503: Vault or Redis alone down is "degraded" with 200 and says what it
// affects; taking every replica out of rotation would turn a partial
// failure into an outage.
func (s *server) readyz(detail bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		checks := s.dependencyChecks()
		results := map[string]string{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for name, check := range checks {
			wg.Go(func() {
				ctx := ctx
				if _, ok := degradedImpact[name]; ok {
					// Their clients retry a refused dial for seconds; a probe
					// that slow would fail its own timeout and take the
					// replica out of rotation after all.
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, degradedCheckTimeout)
					defer cancel()
				}
				res := "ok"
				if err := check(ctx); err != nil {
					res = "unreachable"
				}
				mu.Lock()
				results[name] = res
				mu.Unlock()
			})
		}
		wg.Wait()
		status, code := "ok", fiber.StatusOK
		impact := map[string]string{}
		for name, what := range degradedImpact {
			if results[name] != "ok" {
				status, impact[name] = "degraded", what
			}
		}
		if results["catalog"] != "ok" {
			status, code = "unavailable", fiber.StatusServiceUnavailable
		}
		body := fiber.Map{"status": status, "checks": results}
		if len(impact) > 0 {
			body["impact"] = impact
		}
		if detail {
			body["tenants"] = s.resolver.Stats()
			body["pools"] = s.pools.Stats()
			body["secrets"] = s.secrets.Stats()
		}
		return c.Status(code).JSON(body)
	}
}

// serve runs both listeners until ctx ends, then shuts down gracefully:
// in-flight requests finish, pools close.
func (s *server) serve(ctx context.Context, tenantLn, adminLn net.Listener) error {
	errc := make(chan error, 3)
	if s.adminTLS != nil {
		adminLn = tls.NewListener(adminLn, s.adminTLS)
	}
	go func() { errc <- s.tenant.Listener(tenantLn) }()
	go func() { errc <- s.admin.Listener(adminLn) }()
	attrs := []any{"http", tenantLn.Addr().String(), "admin", adminLn.Addr().String(), "tls", s.cfg.TLS.Mode}
	if s.httpsLn != nil { // the same app: its Shutdown closes this listener too
		go func() { errc <- s.tenant.Listener(s.httpsLn) }()
		attrs = append(attrs, "https", s.httpsLn.Addr().String())
	}
	s.log.Info("platform serving", attrs...)
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	s.log.Info("shutting down")
	for _, a := range []*fiber.App{s.tenant, s.admin} {
		if e := a.ShutdownWithTimeout(20 * time.Second); e != nil && err == nil {
			err = e
		}
	}
	if s.sched != nil {
		s.sched.Stop() // running jobs are cancelled and their claims released
	}
	if s.jobs != nil {
		s.jobs.Close() // operator jobs are cancelled and record that they were interrupted
	}
	s.close()
	return err
}

func (s *server) close() {
	if s.sched != nil {
		s.sched.Stop() // a start that failed after the scheduler began
	}
	if s.auth != nil {
		s.auth.Close() // reset mails still being sent
	}
	if s.pools != nil {
		s.pools.Close()
	}
	if s.redis != nil {
		s.redis.Close()
	}
	s.app.Close()
}

// redisLogger routes go-redis's own messages (dial failures and the like)
// into the server's log instead of plain text on stderr.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "), "component", "redis")
}

func serveCmd(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	log, logs, err := newServeLogger(getenv, stderr)
	if err != nil {
		return err
	}
	defer logs.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := newServer(ctx, getenv, args, log)
	if err != nil {
		return err
	}
	tl, err := net.Listen("tcp", s.cfg.HTTPAddr)
	if err != nil {
		s.close()
		return tenant.Errorf(tenant.EUnavailable, "listen on %s: %v", s.cfg.HTTPAddr, errors.Unwrap(err))
	}
	al, err := net.Listen("tcp", s.cfg.AdminAddr)
	if err != nil {
		tl.Close()
		s.close()
		return tenant.Errorf(tenant.EUnavailable, "listen on %s: %v", s.cfg.AdminAddr, errors.Unwrap(err))
	}
	if s.tlsm != nil {
		hl, err := net.Listen("tcp", s.cfg.TLS.HTTPSAddr)
		if err != nil {
			tl.Close()
			al.Close()
			s.close()
			return tenant.Errorf(tenant.EUnavailable, "listen on %s: %v", s.cfg.TLS.HTTPSAddr, errors.Unwrap(err))
		}
		s.httpsLn = s.httpsListener(hl)
	}
	// go-redis has one logger for the whole process (SetLogger is safe for
	// concurrent use): set here, once the process's one server is sure to
	// run, not in newServer, which tests call many times in one process.
	redis.SetLogger(redisLogger{log})
	if err := startPprof(ctx, getenv("PLATFORM_PPROF_ADDR"), log); err != nil {
		tl.Close()
		al.Close()
		if s.httpsLn != nil {
			s.httpsLn.Close()
		}
		s.close()
		return tenant.Errorf(tenant.EUnavailable, "PLATFORM_PPROF_ADDR: %v", err)
	}
	return s.serve(ctx, tl, al)
}
