package provision

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/audit"
)

// SessionEnder ends every session of a tenant (tenant/auth/session.Store).
type SessionEnder interface {
	RevokeTenant(ctx context.Context, tenantID string) (int, error)
}

// sessionSecrets are the secrets that sign or bind sessions, tokens and
// CSRF tokens: rotating one ends every session of the tenant.
var sessionSecrets = []string{"csrf_secret", "jwt_secret", "session_secret"}

// DefaultRotationDays is the age at which `platform serve` rotates a
// secret when the tenant's settings say nothing (secret_rotation_days).
const DefaultRotationDays = 90

// SettingRotationDays is the tenants.settings key of the rotation age in
// days; 0 disables automatic rotation.
const SettingRotationDays = "secret_rotation_days"

// Rotator rotates tenants' secrets: by hand (Rotate, from the CLI and the
// operator API alike) and when they are due (RotateDue, from serve).
//
// A rotation, under the tenant's catalog lock:
//
//  1. reads the Vault entry (version V) and finishes a rotation an earlier
//     run left pending;
//  2. marks the names pending (custom metadata, with V), then writes
//     version V+1 with check-and-set V: a concurrent writer makes it fail
//     with a conflict, having changed nothing;
//  3. for db_password: V+1 keeps the old password as db_password_previous,
//     ALTER ROLE sets the new one (a SCRAM verifier), then V+2 drops the
//     old one; pools try both meanwhile, so no connection fails;
//  4. bumps the catalog's secrets_version: every replica drops its cached
//     secrets (and keeps its pools);
//  5. for csrf/jwt/session secrets: ends every session of the tenant;
//  6. records rotated_at.<name>, clears pending, and writes a
//     secrets.rotated row in the tenant's audit log and the operator audit.
//
// A run that crashed anywhere after 2 is finished by the next rotation of
// the tenant, which repeats 3 to 6 (each is idempotent).
type Rotator struct {
	svc      *Service
	sessions SessionEnder
	now      func() time.Time
	// hook, when set (tests), runs after each step; an error aborts the
	// rotation there, like a crash.
	hook func(step string) error
	// checks counts finished RotateDue calls, for tests and metrics.
	checks atomic.Int64
}

// Checks returns how many RotateDue calls have finished (run or skipped).
func (r *Rotator) Checks() int64 { return r.checks.Load() }

// Steps of a rotation, for the test hook.
const (
	rotPending = "rotate:pending"
	rotVault   = "rotate:vault"
	rotRole    = "rotate:role"
	rotBump    = "rotate:bump"
	rotEnd     = "rotate:sessions"
)

// Rotator returns the service's rotator. sessions may be nil: rotations
// that would end sessions are then refused before anything changes.
func (s *Service) Rotator(sessions SessionEnder) *Rotator {
	return &Rotator{svc: s, sessions: sessions, now: time.Now}
}

// Rotation is the result of one rotation.
type Rotation struct {
	Slug          string   `json:"slug"`
	Rotated       []string `json:"rotated"`
	VaultVersion  int      `json:"vault_version"`
	SessionsEnded int      `json:"sessions_ended"`
	// Resumed names what an earlier, interrupted rotation had changed and
	// this run finished.
	Resumed []string `json:"resumed,omitempty"`
}

// Rotate gives the named secrets (all when only is empty) new values.
func (r *Rotator) Rotate(ctx context.Context, slug string, only []string) (res *Rotation, err error) {
	defer func() { err = r.recordOperator(ctx, slug, only, res, err) }()
	names, err := r.names(only)
	if err != nil {
		return nil, err
	}
	if err := r.checkSessions(names); err != nil {
		return nil, err
	}
	if err := tenant.ValidateSlug(slug); err != nil {
		return nil, err
	}
	err = r.svc.withSlugLock(ctx, slug, func() error {
		res, err = r.rotate(ctx, slug, func(*tenant.Tenant, *secrets.Versioned) []string { return names })
		return err
	})
	return res, err
}

func (r *Rotator) recordOperator(ctx context.Context, slug string, only []string, res *Rotation, err error) error {
	details := map[string]any{}
	if res != nil {
		details["rotated"] = res.Rotated
		details["vault_version"] = res.VaultVersion
		details["sessions_ended"] = res.SessionsEnded
		if len(res.Resumed) > 0 {
			details["resumed"] = res.Resumed
		}
	} else if len(only) > 0 {
		var clean []string
		for _, n := range only {
			if t := auditText(n); t != "" {
				clean = append(clean, t)
			}
		}
		details["only"] = clean
	}
	return r.svc.record(ctx, "secrets.rotate", auditSlug(slug), details, err)
}

// names checks a caller's list against the template; empty means all.
func (r *Rotator) names(only []string) ([]string, error) {
	valid := r.svc.tmpl.Names()
	if len(only) == 0 {
		return valid, nil
	}
	var out, bad []string
	for _, n := range only {
		n = strings.TrimSpace(n)
		switch {
		case slices.Contains(valid, n):
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		default:
			bad = append(bad, strconv.Quote(tenant.SanitizeText(n)))
		}
	}
	if len(bad) > 0 {
		return nil, tenant.Errorf(tenant.EInvalid, "unknown secret %s: valid names are %s", strings.Join(bad, ", "), strings.Join(valid, ", "))
	}
	slices.Sort(out)
	return out, nil
}

func endsSessions(names []string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return slices.Contains(sessionSecrets, n) })
}

func (r *Rotator) checkSessions(names []string) error {
	if r.sessions == nil && endsSessions(names) {
		return tenant.Errorf(tenant.EUnavailable, "rotating %s ends every session of the tenant, which needs Redis: set REDIS_URL (nothing was changed)",
			strings.Join(slices.DeleteFunc(slices.Clone(names), func(n string) bool { return !slices.Contains(sessionSecrets, n) }), ", "))
	}
	return nil
}

func (r *Rotator) step(name string) error {
	if r.hook == nil {
		return nil
	}
	return r.hook(name)
}

// rotate runs under the slug lock. pick chooses the names to rotate once
// the current state is known (the due ones, for RotateDue); none: nothing
// happens beyond finishing a pending rotation.
func (r *Rotator) rotate(ctx context.Context, slug string, pick func(*tenant.Tenant, *secrets.Versioned) []string) (*Rotation, error) {
	s := r.svc
	t, err := s.cat.TenantBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	if t.Status != tenant.StatusActive && t.Status != tenant.StatusSuspended {
		return nil, tenant.Errorf(tenant.EConflict, "tenant %q is %s: only an active or suspended tenant's secrets are rotated", slug, t.Status)
	}
	srv, err := s.server(t.DBServer)
	if err != nil {
		return nil, err
	}
	cur, err := s.vault.Read(ctx, slug)
	if err != nil {
		return nil, err
	}
	res := &Rotation{Slug: slug}
	if len(cur.Pending) > 0 {
		if cur, err = r.finishPending(ctx, srv, t, cur, res); err != nil {
			return nil, fmt.Errorf("finish the interrupted rotation of %s: %w", slug, err)
		}
	}
	names := pick(t, cur)
	if len(names) == 0 {
		res.VaultVersion = cur.Version
		return res, nil
	}
	if err := r.checkSessions(names); err != nil {
		return nil, err
	}
	fresh, err := s.tmpl.GenerateSome(names)
	if err != nil {
		return nil, err
	}
	next := secrets.With(cur.Values, fresh)
	if slices.Contains(names, "db_password") {
		next[secrets.PreviousPassword] = cur.Values["db_password"]
	}
	// Pending first: a crash after the write below leaves a mark that the
	// next run finds.
	if err := s.vault.SetMeta(ctx, slug, map[string]string{
		secrets.MetaPending: strings.Join(names, ","), secrets.MetaPendingFrom: strconv.Itoa(cur.Version)}); err != nil {
		return nil, err
	}
	if err := r.step(rotPending); err != nil {
		return nil, err
	}
	v, err := s.vault.Write(ctx, slug, next, cur.Version)
	if errors.Is(err, secrets.ErrConflict) {
		// Nothing was written: forget the mark (best effort; a mark left
		// would only be found unwritten and dropped by the next run).
		_ = s.vault.SetMeta(context.WithoutCancel(ctx), slug, map[string]string{secrets.MetaPending: "", secrets.MetaPendingFrom: ""})
		return nil, tenant.Errorf(tenant.EConflict, "the secrets of %q changed while they were being rotated (another rotation?): nothing was rotated; run it again", slug)
	}
	if err != nil {
		return nil, err
	}
	if err := r.step(rotVault); err != nil {
		return nil, err
	}
	done := &secrets.Versioned{Values: next, Version: v, Pending: names, PendingFrom: cur.Version}
	if _, err := r.complete(ctx, srv, t, done, res); err != nil {
		return nil, err
	}
	res.Rotated = names
	return res, nil
}

// finishPending handles a rotation an earlier run marked pending: if its
// version was written, everything after the write is done again; if not,
// the mark is dropped. It returns the entry as it is now.
func (r *Rotator) finishPending(ctx context.Context, srv *pgadmin.Server, t *tenant.Tenant, cur *secrets.Versioned, res *Rotation) (*secrets.Versioned, error) {
	log := tenant.Logger(ctx, r.svc.log)
	if cur.Version <= cur.PendingFrom {
		log.WarnContext(ctx, "dropping the mark of a rotation that never wrote its secrets", "tenant", t.Slug, "names", cur.Pending)
		if err := r.svc.vault.SetMeta(ctx, t.Slug, map[string]string{secrets.MetaPending: "", secrets.MetaPendingFrom: ""}); err != nil {
			return nil, err
		}
		cur.Pending, cur.PendingFrom = nil, 0
		return cur, nil
	}
	log.WarnContext(ctx, "finishing an interrupted secret rotation", "tenant", t.Slug, "names", cur.Pending)
	names := cur.Pending
	if _, err := r.complete(ctx, srv, t, cur, res); err != nil {
		return nil, err
	}
	res.Resumed = names
	return r.svc.vault.Read(ctx, t.Slug)
}

// complete does everything that follows the write of a rotated version
// (steps 3 to 6 of Rotator); each step may run again after a crash.
func (r *Rotator) complete(ctx context.Context, srv *pgadmin.Server, t *tenant.Tenant, cur *secrets.Versioned, res *Rotation) (*Rotation, error) {
	s := r.svc
	names := cur.Pending
	version := cur.Version
	if slices.Contains(names, "db_password") {
		if err := srv.SetPassword(ctx, tenant.AppRole(t.Slug), cur.Values["db_password"]); err != nil {
			return nil, fmt.Errorf("set the login role's password: %w", err)
		}
		if err := r.step(rotRole); err != nil {
			return nil, err
		}
		if _, ok := cur.Values[secrets.PreviousPassword]; ok {
			clean := secrets.With(cur.Values, nil)
			delete(clean, secrets.PreviousPassword)
			v, err := s.vault.Write(ctx, t.Slug, clean, version)
			if err != nil {
				if errors.Is(err, secrets.ErrConflict) {
					return nil, tenant.Errorf(tenant.EConflict, "the secrets of %q changed during the rotation: run it again to finish", t.Slug)
				}
				return nil, err
			}
			version = v
		}
	}
	if _, err := s.cat.BumpSecrets(ctx, t.ID); err != nil {
		return nil, err
	}
	if err := r.step(rotBump); err != nil {
		return nil, err
	}
	ended := 0
	if endsSessions(names) {
		if r.sessions == nil {
			return nil, r.checkSessions(names)
		}
		n, err := r.sessions.RevokeTenant(ctx, t.ID)
		if err != nil {
			return nil, fmt.Errorf("end the sessions of %s: %w", t.Slug, err)
		}
		ended = n
		if err := r.step(rotEnd); err != nil {
			return nil, err
		}
	}
	meta := secrets.RotatedMeta(names, r.now())
	meta[secrets.MetaPending], meta[secrets.MetaPendingFrom] = "", ""
	if err := s.vault.SetMeta(ctx, t.Slug, meta); err != nil {
		return nil, err
	}
	res.VaultVersion = version
	res.SessionsEnded += ended
	if err := r.tenantAudit(ctx, srv, t, names, version, ended); err != nil {
		// The rotation happened; losing its row must not hide that.
		tenant.Logger(ctx, s.log).ErrorContext(ctx, "tenant audit write failed", "tenant", t.Slug, "action", audit.SecretsRotated, "err", err)
	}
	return res, nil
}

// tenantAudit writes secrets.rotated in the tenant's own audit log, as its
// owner role: names only, never a value.
func (r *Rotator) tenantAudit(ctx context.Context, srv *pgadmin.Server, t *tenant.Tenant, names []string, version, ended int) error {
	a, ok := tenant.ActorFrom(ctx)
	if !ok {
		a = tenant.Actor{Name: "unknown", Source: "cli"}
	}
	return srv.In(context.WithoutCancel(ctx), t.Database, tenant.OwnerRole(t.Slug), func(c *pgx.Conn) error {
		return audit.Record(ctx, c, audit.Entry{
			Actor: audit.OperatorActor(a.Source, a.Name), Action: audit.SecretsRotated, Entity: "tenant", EntityID: t.ID,
			IP: a.IP, Details: map[string]any{"rotated": names, "vault_version": version, "logged_out": ended}})
	})
}

// RotationDays is a tenant's automatic rotation age in days (0: never).
func RotationDays(t *tenant.Tenant) int {
	switch v := t.Settings[SettingRotationDays].(type) {
	case float64:
		if v >= 0 && v <= math.MaxInt32 && v == math.Trunc(v) {
			return int(v)
		}
	case int:
		if v >= 0 {
			return v
		}
	case nil:
		return DefaultRotationDays
	}
	return DefaultRotationDays // an unusable value is not "never"
}

// SecretAge is one secret's age, as `tenant show` reports it.
type SecretAge struct {
	Name      string    `json:"name"`
	RotatedAt time.Time `json:"rotated_at"`
	AgeDays   int       `json:"age_days"`
	DueAt     time.Time `json:"due_at,omitzero"` // zero: automatic rotation is off
	Pending   bool      `json:"pending,omitempty"`
}

// SecretAges reports every secret's last rotation, never a value.
func (s *Service) SecretAges(ctx context.Context, slug string) ([]SecretAge, error) {
	t, err := s.cat.TenantBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	cur, err := s.vault.Read(ctx, slug)
	if err != nil {
		return nil, err
	}
	return ages(s.tmpl.Names(), t, cur, time.Now()), nil
}

func ages(names []string, t *tenant.Tenant, cur *secrets.Versioned, now time.Time) []SecretAge {
	days := RotationDays(t)
	out := make([]SecretAge, 0, len(names))
	for _, n := range names {
		at := cur.RotatedAt(n)
		a := SecretAge{Name: n, RotatedAt: at.UTC(), AgeDays: int(now.Sub(at) / (24 * time.Hour)), Pending: slices.Contains(cur.Pending, n)}
		if days > 0 {
			a.DueAt = at.Add(time.Duration(days) * 24 * time.Hour).UTC()
		}
		out = append(out, a)
	}
	return out
}

// due returns the names whose age reached the tenant's rotation days.
func due(names []string, t *tenant.Tenant, cur *secrets.Versioned, now time.Time) []string {
	var out []string
	for _, a := range ages(names, t, cur, now) {
		if !a.DueAt.IsZero() && !now.Before(a.DueAt) {
			out = append(out, a.Name)
		}
	}
	return out
}

// rotationCheckLock is held by the replica running RotateDue: the others
// skip their check instead of reading every tenant's Vault entry too.
const rotationCheckLock = "rotation:check"

// RotateDue rotates, for every active or suspended tenant, the secrets
// whose age reached its secret_rotation_days, and finishes rotations left
// pending. One replica checks at a time (the others skip: ran is false);
// each tenant's due secrets are read again under the tenant's lock, so a
// secret is rotated once however many replicas check. A tenant that fails
// is logged and counted, and does not stop the others.
func (r *Rotator) RotateDue(ctx context.Context) (out []*Rotation, ran bool, err error) {
	defer r.checks.Add(1)
	ctx = tenant.WithActor(ctx, tenant.Actor{Name: "rotation", Source: "scheduler"})
	log := tenant.Logger(ctx, r.svc.log)
	var failed []string
	ran, err = r.svc.cat.TryLock(ctx, rotationCheckLock, func() error {
		ts, err := r.svc.cat.ListTenants(ctx, catalog.TenantFilter{Statuses: []tenant.Status{tenant.StatusActive, tenant.StatusSuspended}})
		if err != nil {
			return err
		}
		for _, t := range ts {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if RotationDays(t) == 0 {
				continue
			}
			res, err := r.rotateDue(ctx, t)
			if err != nil {
				failed = append(failed, t.Slug)
				log.ErrorContext(ctx, "automatic secret rotation failed", "tenant", t.Slug, "err", err)
				continue
			}
			if res != nil && (len(res.Rotated) > 0 || len(res.Resumed) > 0) {
				log.InfoContext(ctx, "secrets rotated", "tenant", t.Slug, "rotated", res.Rotated, "resumed", res.Resumed,
					"vault_version", res.VaultVersion, "sessions_ended", res.SessionsEnded)
				out = append(out, res)
			}
		}
		return nil
	})
	if err == nil && len(failed) > 0 {
		err = fmt.Errorf("automatic rotation failed for %d tenants: %s", len(failed), strings.Join(failed, ", "))
	}
	return out, ran, err
}

// rotateDue rotates one tenant's due secrets; nil when none were due. The
// cheap look comes first, without the lock; the lock's holder reads again.
func (r *Rotator) rotateDue(ctx context.Context, t *tenant.Tenant) (res *Rotation, err error) {
	names := r.svc.tmpl.Names()
	cur, err := r.svc.vault.Read(ctx, t.Slug)
	if err != nil {
		return nil, err
	}
	if len(cur.Pending) == 0 && len(due(names, t, cur, r.now())) == 0 {
		return nil, nil
	}
	var picked []string
	err = r.svc.withSlugLock(ctx, t.Slug, func() error {
		res, err = r.rotate(ctx, t.Slug, func(t *tenant.Tenant, cur *secrets.Versioned) []string {
			if RotationDays(t) == 0 {
				return nil
			}
			picked = due(names, t, cur, r.now())
			return picked
		})
		return err
	})
	if err != nil || len(picked) > 0 || (res != nil && len(res.Resumed) > 0) {
		err = r.recordOperator(ctx, t.Slug, picked, res, err)
	}
	return res, err
}
