// Package provision is the tenant lifecycle: create (resumable, step by
// step), suspend, resume, delete and purge, and migrations of templates
// and of the fleet. The CLI and the operator API both call it, so they
// behave the same.
package provision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	_ "time/tzdata" // time zones must validate on minimal images too

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/platform/schedule"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
)

// Config tunes the service; zero values take the defaults.
type Config struct {
	BaseDomain     string // tenants live at <slug>.<BaseDomain>; default localhost
	TemplatePrefix string // template databases are <prefix><kind>; default platform_template_
	AppConnLimit   int    // CONNECTION LIMIT of each tenant's login role; default 32
	BcryptCost     int    // for the first admin's password; default auth.DefaultCost
	DefaultServer  string // database server for new tenants; default "default"
	Logger         *slog.Logger
	// Observer is told of the provisioning runs and tenant migrations this
	// Service does (metrics); nil: none.
	Observer Observer
}

// Observer learns of each tenant creation (resumed ones too; not the
// refused ones: EInvalid, EConflict) and each tenant database migrated (up,
// down or force; templates are not tenants); err nil for a success.
type Observer interface {
	ObserveProvision(d time.Duration, err error)
	ObserveMigration(err error)
}

// WithObserver returns a copy of s that tells o of its runs: for a process
// that makes its metrics after the Service (serve).
func (s *Service) WithObserver(o Observer) *Service {
	c := *s
	c.cfg.Observer = o
	return &c
}

// Service runs the tenant lifecycle.
type Service struct {
	cat     *catalog.DB
	servers map[string]*pgadmin.Server
	vault   *secrets.Store
	tmpl    *secrets.Template
	cfg     Config
	log     *slog.Logger

	// hook, when set (by tests), runs before and after each step's action;
	// an error from it aborts the run there, like a crash.
	hook func(step string, after bool) error
}

// New returns a service. servers maps db_servers names to admin handles.
func New(cat *catalog.DB, servers map[string]*pgadmin.Server, vault *secrets.Store, tmpl *secrets.Template, cfg Config) *Service {
	if cfg.BaseDomain == "" {
		cfg.BaseDomain = "localhost"
	}
	if cfg.TemplatePrefix == "" {
		cfg.TemplatePrefix = "platform_template_"
	}
	if cfg.AppConnLimit == 0 {
		cfg.AppConnLimit = 32
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = auth.DefaultCost
	}
	if cfg.DefaultServer == "" {
		cfg.DefaultServer = "default"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cat: cat, servers: servers, vault: vault, tmpl: tmpl, cfg: cfg, log: cfg.Logger}
}

// Steps of tenant creation, in order. Each is recorded in the catalog when
// done; a re-run skips recorded steps, except adminUser, which runs again
// on every run that has not activated the tenant: its password is shown
// only once, by the run that set it.
const (
	stepCatalog   = "catalog"
	stepSecrets   = "secrets"
	stepRoles     = "roles"
	stepDatabase  = "database"
	stepAccess    = "access"
	stepSchema    = "schema"
	stepAdminUser = "admin_user"
	stepActivate  = "activate"
)

// Steps lists the steps in order (for tests and docs).
var Steps = []string{stepCatalog, stepSecrets, stepRoles, stepDatabase, stepAccess, stepSchema, stepAdminUser, stepActivate}

// CreateRequest asks for a new tenant.
type CreateRequest struct {
	Slug     string
	Kind     string
	Name     string
	Domains  []string
	TimeZone string
}

// Created is the result of Create. AdminPassword is shown this once.
type Created struct {
	Tenant        *tenant.Tenant
	Hosts         []string
	AdminUsername string
	AdminPassword string
	Resumed       bool
	Duration      time.Duration
	StepDurations map[string]time.Duration // steps this run did
}

func (s *Service) validate(req *CreateRequest) (tenant.Kind, error) {
	req.Slug = strings.TrimSpace(req.Slug)
	if err := tenant.ValidateSlug(req.Slug); err != nil {
		return "", err
	}
	kind, err := tenant.ParseKind(req.Kind)
	if err != nil {
		return "", err
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" {
		return "", tenant.Errorf(tenant.EInvalid, "--name is required (1 to 200 characters)")
	}
	if err := tenant.ValidateText("name", req.Name, 200); err != nil {
		return "", err
	}
	if req.TimeZone == "" {
		req.TimeZone = "UTC"
	}
	if err := tenant.ValidateText("time zone", req.TimeZone, 64); err != nil {
		return "", err
	}
	if _, err := time.LoadLocation(req.TimeZone); err != nil || req.TimeZone == "Local" {
		return "", tenant.Errorf(tenant.EInvalid, "unknown time zone %q (use an IANA name such as America/Santiago)", req.TimeZone)
	}
	if len(req.Domains) > tenant.MaxDomains {
		return "", tenant.Errorf(tenant.EInvalid, "too many domains: a tenant has at most %d custom domains", tenant.MaxDomains)
	}
	seen := map[string]bool{}
	var domains []string
	for _, d := range req.Domains {
		n, err := tenant.ValidateDomain(d)
		if err != nil {
			return "", err
		}
		if n == s.cfg.BaseDomain || strings.HasSuffix(n, "."+s.cfg.BaseDomain) {
			return "", tenant.Errorf(tenant.EInvalid, "domain %q is under the platform's base domain %q: tenants get <slug>.%s already", d, s.cfg.BaseDomain, s.cfg.BaseDomain)
		}
		if !seen[n] {
			seen[n] = true
			domains = append(domains, n)
		}
	}
	req.Domains = domains
	return kind, nil
}

// Hosts returns every host name a tenant answers on.
func (s *Service) Hosts(t *tenant.Tenant) []string {
	return append([]string{t.Slug + "." + s.cfg.BaseDomain}, t.Hosts...)
}

// Create provisions a tenant, or finishes one that an earlier run left in
// provisioning. It never touches a tenant in any other status. Runs for
// one slug are serialised (a per-slug lock in the catalog): a second run
// waits, then finds the tenant done, so no run prints a password that
// another run replaced.
func (s *Service) Create(ctx context.Context, req CreateRequest) (res *Created, err error) {
	start := time.Now()
	kind, err := s.validate(&req)
	if err != nil {
		return nil, s.record(ctx, "tenant.create", auditSlug(req.Slug), map[string]any{"kind": auditText(req.Kind)}, err)
	}
	defer func() {
		details := map[string]any{"kind": string(kind), "domains": req.Domains}
		if res != nil {
			details["resumed"] = res.Resumed
		}
		err = s.record(ctx, "tenant.create", req.Slug, details, err)
	}()
	err = s.withSlugLock(ctx, req.Slug, func() error {
		res, err = s.create(ctx, req, kind, start)
		return err
	})
	// Refusals (a slug or domain taken, a bad request) are the caller's,
	// not failed runs: an alert on failures must not fire on them.
	if code := tenant.ErrorCode(err); s.cfg.Observer != nil && code != tenant.EConflict && code != tenant.EInvalid {
		s.cfg.Observer.ObserveProvision(time.Since(start), err)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (s *Service) create(ctx context.Context, req CreateRequest, kind tenant.Kind, start time.Time) (*Created, error) {
	srv, err := s.server(s.cfg.DefaultServer)
	if err != nil {
		return nil, err
	}
	// Check every dependency before the first write, so that an
	// unreachable one changes nothing.
	if err := s.vault.Ping(ctx); err != nil {
		return nil, err
	}
	dbServer, err := s.cat.EnsureDBServer(ctx, s.cfg.DefaultServer, srv.Host(), int(srv.Port()))
	if err != nil {
		return nil, err
	}
	// The stored address is what routers connect to; the admin URL is where
	// the database would be made. They must agree, or a tenant would live
	// on one server and be looked for on another. Servers change only by
	// `platform db-server set`, never as a side effect of a create.
	if dbServer.Host != srv.Host() || dbServer.Port != int(srv.Port()) {
		return nil, tenant.Errorf(tenant.EConflict, "database server %q is registered at %s:%d but PLATFORM_DB_ADMIN_URL points at %s:%d: fix the URL, or move the server with `platform db-server set %s --host … --port …`",
			dbServer.Name, dbServer.Host, dbServer.Port, srv.Host(), srv.Port(), dbServer.Name)
	}

	res := &Created{AdminUsername: auth.AdminUsername, StepDurations: map[string]time.Duration{}}
	t, err := s.cat.TenantBySlug(ctx, req.Slug)
	switch {
	case tenant.ErrorCode(err) == tenant.ENotFound:
		// A fresh creation adopts nothing: whatever already has this
		// tenant's names belongs to someone else (another catalog on the
		// same server, or a purge that failed half-way).
		if err := s.checkNamesFree(ctx, srv, req.Slug); err != nil {
			return nil, err
		}
		began := time.Now()
		t = &tenant.Tenant{Slug: req.Slug, Kind: kind, Name: req.Name, Database: tenant.DatabaseName(req.Slug),
			TimeZone: req.TimeZone, Hosts: req.Domains, DBServer: dbServer.Name}
		if err := s.hookRun(stepCatalog, false); err != nil {
			return nil, err
		}
		if err := s.cat.CreateTenant(ctx, t, dbServer.ID); err != nil {
			return nil, err
		}
		if err := s.hookRun(stepCatalog, true); err != nil {
			return nil, err
		}
		if err := s.cat.RecordStep(ctx, t.ID, stepCatalog); err != nil {
			return nil, err
		}
		res.StepDurations[stepCatalog] = time.Since(began)
	case err != nil:
		return nil, err
	case t.Status != tenant.StatusProvisioning:
		return nil, tenant.Errorf(tenant.EConflict, "tenant %q already exists (%s)", req.Slug, t.Status)
	case t.Kind != kind:
		return nil, tenant.Errorf(tenant.EConflict, "tenant %q is being provisioned as a %s, not a %s", req.Slug, t.Kind, kind)
	default:
		res.Resumed = true
		if len(req.Domains) > 0 {
			if err := checkDomainCap(t.Hosts, req.Domains); err != nil {
				return nil, err
			}
			if err := s.cat.AddDomains(ctx, t.ID, req.Domains); err != nil {
				return nil, err
			}
		}
		if t, err = s.cat.TenantBySlug(ctx, req.Slug); err != nil {
			return nil, err
		}
	}
	if t.DBServer != s.cfg.DefaultServer {
		if srv, err = s.server(t.DBServer); err != nil {
			return nil, err
		}
	}
	if res.Resumed {
		// An earlier run with an older binary may have made the login role
		// under its legacy name: rename it before any step uses the name.
		if err := s.upgradeRoles(ctx, srv, t); err != nil {
			return nil, err
		}
	}

	done, err := s.cat.DoneSteps(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	// bcrypt takes ~200 ms at cost 12: hash the admin's password on the
	// other core while the database is cloned.
	adminPassword := s.prepareAdminPassword()
	run := func(step string, fn func() error) error {
		if _, ok := done[step]; ok && step != stepAdminUser {
			return nil
		}
		if err := s.hookRun(step, false); err != nil {
			return err
		}
		began := time.Now()
		defer func() { res.StepDurations[step] = time.Since(began) }()
		if err := fn(); err != nil {
			return fmt.Errorf("provision %s: step %s: %w", t.Slug, step, err)
		}
		if err := s.hookRun(step, true); err != nil {
			return err
		}
		return s.cat.RecordStep(ctx, t.ID, step)
	}

	var values map[string]string
	owner, app := tenant.OwnerRole(t.Slug), tenant.AppRole(t.Slug)
	steps := []struct {
		name string
		fn   func() error
	}{
		{stepSecrets, func() (err error) { values, err = s.ensureSecrets(ctx, t.Slug); return err }},
		{stepRoles, func() error {
			if values == nil {
				var err error
				if values, err = s.vault.Get(ctx, t.Slug); err != nil {
					return err
				}
			}
			if err := s.hardenServer(ctx, srv); err != nil {
				return err
			}
			if err := srv.EnsureRole(ctx, owner); err != nil {
				return err
			}
			return srv.EnsureLoginRole(ctx, app, values["db_password"], s.cfg.AppConnLimit, tenant.LoginGroup)
		}},
		{stepDatabase, func() error { return s.cloneTemplate(ctx, srv, t.Kind, t.Database, owner) }},
		{stepAccess, func() error { return s.handOver(ctx, srv, t) }},
		{stepSchema, func() error { _, err := s.migrateTenant(ctx, srv, t); return err }},
		{stepAdminUser, func() (err error) {
			res.AdminPassword, err = s.setAdminPassword(ctx, srv, t, adminPassword)
			return err
		}},
		{stepActivate, func() error { return s.cat.Activate(ctx, t.ID, stepActivate) }},
	}
	for _, st := range steps {
		if err := run(st.name, st.fn); err != nil {
			return nil, err
		}
	}
	if t, err = s.cat.TenantBySlug(ctx, t.Slug); err != nil {
		return nil, err
	}
	res.Tenant = t
	res.Hosts = s.Hosts(t)
	res.Duration = time.Since(start)
	s.log.InfoContext(ctx, "tenant provisioned", "tenant", t.Slug, "kind", t.Kind, "resumed", res.Resumed, "ms", res.Duration.Milliseconds())
	return res, nil
}

// checkNamesFree refuses a slug whose database, roles or Vault secrets
// exist although the catalog has no such tenant.
func (s *Service) checkNamesFree(ctx context.Context, srv *pgadmin.Server, slug string) error {
	db := tenant.DatabaseName(slug)
	if ok, err := srv.DatabaseExists(ctx, db); err != nil || ok {
		if err != nil {
			return err
		}
		return tenant.Errorf(tenant.EConflict, "database %s already exists on the database server but no tenant %q is in this catalog: drop it by hand or choose another slug", db, slug)
	}
	for _, r := range []string{tenant.OwnerRole(slug), tenant.AppRole(slug)} {
		if ok, err := srv.RoleExists(ctx, r); err != nil || ok {
			if err != nil {
				return err
			}
			if base, ok := strings.CutSuffix(slug, "-app"); ok && r == tenant.LegacyAppRole(base) {
				if _, err := s.cat.TenantBySlug(ctx, base); err == nil {
					return tenant.Errorf(tenant.EConflict, "role %s is tenant %q's login role under its old name: run `platform migrate up --tenant %s` first, which renames it", r, base, base)
				}
			}
			return tenant.Errorf(tenant.EConflict, "role %s already exists on the database server but no tenant %q is in this catalog: drop it by hand or choose another slug", r, slug)
		}
	}
	_, err := s.vault.Get(ctx, slug)
	switch tenant.ErrorCode(err) {
	case tenant.ENotFound:
		return nil
	case "":
		return tenant.Errorf(tenant.EConflict, "Vault already holds secrets for %q but no such tenant is in this catalog: delete them by hand or choose another slug", slug)
	}
	return err
}

func (s *Service) hookRun(step string, after bool) error {
	if s.hook == nil {
		return nil
	}
	return s.hook(step, after)
}

func (s *Service) server(name string) (*pgadmin.Server, error) {
	srv, ok := s.servers[name]
	if !ok {
		return nil, tenant.Errorf(tenant.EUnavailable, "no admin connection configured for database server %q", name)
	}
	return srv, nil
}

// ensureSecrets writes fresh secrets with check-and-set 0. If Vault refuses
// because an earlier run of this provisioning wrote them, it adopts those:
// the role may already carry that password.
func (s *Service) ensureSecrets(ctx context.Context, slug string) (map[string]string, error) {
	values, err := s.tmpl.Generate()
	if err != nil {
		return nil, err
	}
	err = s.vault.Create(ctx, slug, values)
	if errors.Is(err, secrets.ErrExists) {
		if values, err = s.vault.Get(ctx, slug); err != nil {
			return nil, err
		}
		if err := s.tmpl.Check(values); err != nil {
			return nil, tenant.Errorf(tenant.EConflict, "Vault already holds incomplete secrets for %q (%v): purge the tenant and create it again", slug, err)
		}
		s.log.InfoContext(ctx, "adopted existing tenant secrets", "tenant", slug)
		return values, nil
	}
	return values, err
}

// handOver gives the tenant's objects to its owner role, strips what the
// template role had, and lets only the tenant's two roles connect.
func (s *Service) handOver(ctx context.Context, srv *pgadmin.Server, t *tenant.Tenant) error {
	owner, app := tenant.OwnerRole(t.Slug), tenant.AppRole(t.Slug)
	if err := srv.RestrictConnect(ctx, t.Database, owner, app); err != nil {
		return err
	}
	return srv.HandOver(ctx, t.Database, s.templateOwner(), owner)
}

// prepareAdminPassword starts drawing and hashing a one-time password in
// the background and returns a function that waits for the result.
func (s *Service) prepareAdminPassword() func() (pw, hash string, err error) {
	type result struct{ pw, hash string }
	ch := make(chan result, 1)
	errc := make(chan error, 1)
	go func() {
		pw, err := auth.OneTimePassword()
		if err == nil {
			var hash string
			if hash, err = auth.HashPassword(pw, s.cfg.BcryptCost); err == nil {
				ch <- result{pw, hash}
				return
			}
		}
		errc <- err
	}()
	return func() (string, string, error) {
		select {
		case r := <-ch:
			return r.pw, r.hash, nil
		case err := <-errc:
			return "", "", err
		}
	}
}

// setAdminPassword gives the tenant's first administrator a new one-time
// password (from prepareAdminPassword), unlocks it and returns the password.
func (s *Service) setAdminPassword(ctx context.Context, srv *pgadmin.Server, t *tenant.Tenant, next func() (string, string, error)) (string, error) {
	pw, hash, err := next()
	if err != nil {
		return "", err
	}
	err = srv.In(ctx, t.Database, tenant.OwnerRole(t.Slug), func(c *pgx.Conn) error {
		return auth.EnsureAdmin(ctx, c, auth.AdminUsername, "Administrator", hash, auth.AdminRole(t.Kind))
	})
	if err != nil {
		return "", err
	}
	return pw, nil
}

// ResetAdmin sets a new one-time password for the tenant's first
// administrator (unlocked, to be changed at next login) and returns it:
// the way back when the password from creation was lost.
// It holds the slug's lock, so two resets (or a reset and a resumed
// creation) cannot both print a password: the later one wins, printed last.
func (s *Service) ResetAdmin(ctx context.Context, slug string) (pw string, err error) {
	defer func() { err = s.record(ctx, "tenant.reset_admin", auditSlug(slug), nil, err) }()
	err = s.withSlugLock(ctx, slug, func() error {
		t, err := s.cat.TenantBySlug(ctx, slug)
		if err != nil {
			return err
		}
		if t.Status == tenant.StatusDeleted || t.Status == tenant.StatusProvisioning {
			return tenant.Errorf(tenant.EConflict, "tenant %q is %s", slug, t.Status)
		}
		srv, err := s.server(t.DBServer)
		if err != nil {
			return err
		}
		pw, err = s.setAdminPassword(ctx, srv, t, s.prepareAdminPassword())
		return err
	})
	if err != nil {
		return "", err
	}
	return pw, nil
}

// hardenServer makes sure tenant roles can reach no database of the server
// but their own: PUBLIC loses CONNECT on the maintenance databases and on
// the catalog when it lives on this server, the catalog's own role keeping
// it by an explicit grant. (Each tenant database grants CONNECT to its own
// two roles only; templates to nobody.) It also creates the group role of
// tenant login roles.
func (s *Service) hardenServer(ctx context.Context, srv *pgadmin.Server) error {
	if err := srv.EnsureRole(ctx, tenant.LoginGroup); err != nil {
		return err
	}
	type db struct {
		name  string
		roles []string // who keeps CONNECT
	}
	dbs := []db{{name: "postgres"}, {name: "template1"}}
	cc := s.cat.Pool().Config().ConnConfig
	same := cc.Host == srv.Host() && cc.Port == srv.Port()
	if !same { // another name for the same server ("localhost", a DNS alias)?
		var err error
		if same, err = srv.Serves(ctx, cc); err != nil {
			return err
		}
	}
	if same {
		dbs = append(dbs, db{name: cc.Database, roles: []string{cc.User}})
	}
	for _, d := range dbs {
		open, err := srv.PublicCanConnect(ctx, d.name)
		if err != nil {
			return err
		}
		if !open { // closed already, or missing: the next one may still be open
			continue
		}
		if err := srv.RestrictConnect(ctx, d.name, d.roles...); err != nil {
			return err
		}
	}
	return nil
}

// Suspend refuses the tenant's requests at the router; data is kept.
func (s *Service) Suspend(ctx context.Context, slug string) error {
	err := s.cat.SetStatus(ctx, slug, tenant.StatusSuspended, tenant.StatusActive)
	return s.record(ctx, "tenant.suspend", auditSlug(slug), nil, err)
}

// Resume lets a suspended tenant serve again.
func (s *Service) Resume(ctx context.Context, slug string) error {
	err := s.cat.SetStatus(ctx, slug, tenant.StatusActive, tenant.StatusSuspended)
	return s.record(ctx, "tenant.resume", auditSlug(slug), nil, err)
}

// settingChecks are the checks of settings whose syntax tenant/ does not
// know: a backup or drill schedule must parse as the scheduler parses it, whoever
// sets it (CLI or API), or the tenant would silently go unbacked-up.
var settingChecks = map[string]func(string) error{
	tenant.SettingBackupSchedule: schedule.ValidateSpec,
	tenant.SettingVerifySchedule: schedule.ValidateSpec,
}

// UpdateSettings sets and unsets per-tenant settings (tenant.ApplySettings
// checks them) and returns them all; recorded as tenant.settings with the
// keys changed.
func (s *Service) UpdateSettings(ctx context.Context, slug string, set map[string]string, unset []string) (map[string]any, error) {
	out, err := s.cat.UpdateSettings(ctx, slug, func(cur map[string]any) (map[string]any, error) {
		return tenant.ApplySettingsChecked(cur, set, unset, settingChecks)
	})
	details := map[string]any{"set": set, "unset": unset}
	if err := s.record(ctx, "tenant.settings", auditSlug(slug), details, err); err != nil {
		return nil, err
	}
	return out, nil
}

// Get returns a tenant by slug.
func (s *Service) Get(ctx context.Context, slug string) (*tenant.Tenant, error) {
	return s.cat.TenantBySlug(ctx, slug)
}

// List returns tenants.
func (s *Service) List(ctx context.Context, f catalog.TenantFilter) ([]*tenant.Tenant, error) {
	return s.cat.ListTenants(ctx, f)
}

// Steps of a soft delete, for the test hook.
const (
	deleteStatus = "delete:status"
	deleteLogin  = "delete:login"
)

// Delete soft-deletes a tenant: it becomes unknown to the router and its
// login role can no longer connect; database and secrets are kept. Every
// part runs on every call, so a run that failed after the status change
// (the role still logging in, sessions still open) is finished by running
// it again.
func (s *Service) Delete(ctx context.Context, slug string) (err error) {
	defer func() { err = s.record(ctx, "tenant.delete", auditSlug(slug), nil, err) }()
	return s.withSlugLock(ctx, slug, func() error {
		t, err := s.cat.TenantBySlug(ctx, slug)
		if err != nil {
			return err
		}
		srv, err := s.server(t.DBServer)
		if err != nil {
			return err
		}
		if t.Status != tenant.StatusDeleted {
			if err := s.cat.SetStatus(ctx, slug, tenant.StatusDeleted, t.Status); err != nil {
				return err
			}
		}
		if err := s.hookRun(deleteStatus, true); err != nil {
			return err
		}
		if err := s.upgradeRoles(ctx, srv, t); err != nil {
			return err
		}
		app := tenant.AppRole(slug)
		if err := srv.SetLogin(ctx, app, false); err != nil {
			return fmt.Errorf("delete %s: disable login: %w", slug, err)
		}
		if err := s.hookRun(deleteLogin, true); err != nil {
			return err
		}
		if err := srv.TerminateConnections(ctx, t.Database, app); err != nil {
			return fmt.Errorf("delete %s: end sessions: %w", slug, err)
		}
		return nil
	})
}

// Purge removes everything of a tenant, half-made ones included: database,
// roles, Vault secrets and catalog rows. Each part may already be gone; the
// catalog row goes last so that a failed purge can be run again.
func (s *Service) Purge(ctx context.Context, slug string) (err error) {
	defer func() { err = s.record(ctx, "tenant.purge", auditSlug(slug), nil, err) }()
	return s.withSlugLock(ctx, slug, func() error { return s.purge(ctx, slug) })
}

func (s *Service) purge(ctx context.Context, slug string) error {
	t, err := s.cat.TenantBySlug(ctx, slug)
	if err != nil {
		return err
	}
	srv, err := s.server(t.DBServer)
	if err != nil {
		return err
	}
	if err := s.vault.Ping(ctx); err != nil {
		return err
	}
	if t.Status != tenant.StatusDeleted && t.Status != tenant.StatusProvisioning {
		// Make the router forget it before the database disappears.
		if err := s.cat.SetStatus(ctx, slug, tenant.StatusDeleted, t.Status); err != nil {
			return err
		}
	}
	// A login role under its legacy name is renamed first, so that the
	// drop below finds it (and never drops another tenant's owner role).
	if err := s.upgradeRoles(ctx, srv, t); err != nil {
		return err
	}
	if err := srv.DropDatabase(ctx, t.Database); err != nil {
		return fmt.Errorf("purge %s: drop database: %w", slug, err)
	}
	// A restore keeps the database it replaced (<db>_pre_restore_<ts>), and
	// one killed half-way may leave its new one: both belong to the
	// tenant's owner role, which owns nothing of any other tenant.
	others, err := srv.DatabasesOwnedBy(ctx, tenant.OwnerRole(slug))
	if err != nil {
		return fmt.Errorf("purge %s: list its databases: %w", slug, err)
	}
	for _, db := range others {
		if err := srv.DropDatabase(ctx, db); err != nil {
			return fmt.Errorf("purge %s: drop database %s: %w", slug, db, err)
		}
	}
	for _, role := range []string{tenant.AppRole(slug), tenant.OwnerRole(slug)} {
		if err := srv.DropRole(ctx, role); err != nil {
			return fmt.Errorf("purge %s: drop role %s: %w", slug, role, err)
		}
	}
	if err := s.vault.Delete(ctx, slug); err != nil {
		return err
	}
	return s.cat.DeleteTenant(ctx, t.ID)
}

// Env renders the tenant's env file; secrets are redacted unless reveal.
// A reveal is recorded in the operator audit.
func (s *Service) Env(ctx context.Context, slug string, reveal bool) (b []byte, err error) {
	if reveal {
		defer func() { err = s.record(ctx, "tenant.env.reveal", auditSlug(slug), nil, err) }()
	}
	t, err := s.cat.TenantBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	srv, err := s.server(t.DBServer)
	if err != nil {
		return nil, err
	}
	values, err := s.vault.Get(ctx, slug)
	if err != nil {
		return nil, err
	}
	// Names are validated on the way in; one stored before that may still
	// hold a line break, which would inject a line into the file.
	return s.tmpl.RenderEnv(secrets.EnvData{
		Slug: t.Slug, Kind: string(t.Kind), Name: tenant.SanitizeText(t.Name), Host: s.Hosts(t)[0], Database: t.Database,
		AppRole: tenant.AppRole(t.Slug), DBHost: srv.Host(), DBPort: int(srv.Port()),
	}, values, reveal)
}
