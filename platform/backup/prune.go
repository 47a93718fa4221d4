package backup

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tenancy/platform/platform/backup/storage"
	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/tenant"
)

// FailedKeep is how long a failed row stays in the catalog (for the
// operator to see) before retention removes it.
const FailedKeep = 7 * 24 * time.Hour

// Prune actions.
const (
	PruneKeep    = "keep"    // a completed or verified backup the policy keeps
	PruneExpire  = "expire"  // a completed or verified backup beyond the policy: objects deleted, row expired
	PruneAbandon = "abandon" // a running row past StaleAfter: partial objects deleted, row failed
	PruneClean   = "clean"   // a failed row past FailedKeep: partial objects and row deleted
)

// PruneItem is what Prune did (or, with dryRun, would do) to one backup.
type PruneItem struct {
	BackupID  string    `json:"backup_id"`
	Tenant    string    `json:"tenant"`
	Status    string    `json:"status"`
	StartedAt time.Time `json:"started_at"`
	Action    string    `json:"action"`
	Why       string    `json:"why,omitempty"` // which rule keeps it, for PruneKeep
	Error     string    `json:"error,omitempty"`
}

// PruneReport is the outcome of Prune.
type PruneReport struct {
	DryRun  bool        `json:"dry_run"`
	Tenants int         `json:"tenants"`
	Items   []PruneItem `json:"items"`
	Errors  int         `json:"errors"`
	// PartialsRemoved counts the leftovers of interrupted uploads removed
	// (.partial files, incomplete multipart uploads older than StaleAfter).
	PartialsRemoved int `json:"partials_removed"`
}

// Count returns how many items have action.
func (r *PruneReport) Count(action string) int {
	n := 0
	for _, it := range r.Items {
		if it.Action == action && it.Error == "" {
			n++
		}
	}
	return n
}

// Prune applies the retention policy of the tenant with slug ("" for every
// tenant that has backups): completed and verified backups beyond it are
// deleted from the store(s), manifest first, and marked expired; stale
// running rows have their partial objects deleted and are marked failed;
// failed rows older than FailedKeep are deleted with any partial objects.
// The newest verified and the newest completed backup of a tenant are
// never deleted. With dryRun nothing changes and the report says what
// would. A backup whose objects cannot be deleted (its store is not this
// Service's, or answers an error) is left as it was and counted in Errors;
// the rest go on.
func (s *Service) Prune(ctx context.Context, slug string, dryRun bool) (PruneReport, error) {
	return s.prune(ctx, slug, dryRun, time.Now())
}

func (s *Service) prune(ctx context.Context, slug string, dryRun bool, now time.Time) (PruneReport, error) {
	rep := PruneReport{DryRun: dryRun, Items: []PruneItem{}}
	if s.store == nil && !dryRun {
		return rep, tenant.Errorf(tenant.EInvalid, "backup prune needs the backup store (PLATFORM_BACKUP_URL)")
	}
	bs, err := s.cat.Backups(ctx, slug)
	if err != nil {
		return rep, err
	}
	var ts []*tenant.Tenant
	if slug != "" {
		t, err := s.cat.TenantBySlug(ctx, slug)
		if err != nil {
			return rep, err
		}
		ts = []*tenant.Tenant{t}
	} else if ts, err = s.cat.ListTenants(ctx, catalog.TenantFilter{}); err != nil {
		return rep, err
	}
	byTenant := map[string][]*Backup{}
	for _, b := range bs {
		byTenant[b.TenantID] = append(byTenant[b.TenantID], b)
	}
	for _, t := range ts {
		if len(byTenant[t.ID]) == 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		rep.Tenants++
		items := s.pruneTenant(ctx, t, byTenant[t.ID], dryRun, now)
		for _, it := range items {
			if it.Error != "" {
				rep.Errors++
			}
		}
		rep.Items = append(rep.Items, items...)
		if !dryRun {
			n, err := s.sweepPartial(ctx, t)
			rep.PartialsRemoved += n
			if err != nil {
				rep.Errors++
			}
		}
	}
	if !dryRun {
		s.log.Info("backup prune", "tenant", slug, "tenants", rep.Tenants, "expired", rep.Count(PruneExpire),
			"abandoned", rep.Count(PruneAbandon), "cleaned", rep.Count(PruneClean), "kept", rep.Count(PruneKeep),
			"partials_removed", rep.PartialsRemoved, "errors", rep.Errors)
	}
	return rep, nil
}

func (s *Service) pruneTenant(ctx context.Context, t *tenant.Tenant, bs []*Backup, dryRun bool, now time.Time) []PruneItem {
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil || t.TimeZone == "" {
		loc = time.UTC
	}
	keep := Keep(bs, t.BackupRetention(), loc, now)
	var items []PruneItem
	for _, b := range bs {
		it := PruneItem{BackupID: b.ID, Tenant: t.Slug, Status: b.Status, StartedAt: b.StartedAt}
		switch {
		case b.Status == catalog.BackupCompleted || b.Status == catalog.BackupVerified:
			if why, ok := keep[b.ID]; ok {
				it.Action, it.Why = PruneKeep, why
				items = append(items, it)
				continue
			}
			it.Action = PruneExpire
		case b.Status == catalog.BackupRunning && now.Sub(b.StartedAt) > s.cfg.StaleAfter:
			it.Action = PruneAbandon
		case b.Status == catalog.BackupFailed && now.Sub(b.StartedAt) > FailedKeep:
			it.Action = PruneClean
		default:
			continue // running, recently failed, expired: nothing to do
		}
		if !dryRun {
			if err := s.pruneOne(ctx, b, it.Action); err != nil {
				it.Error = shortError(err)
				s.log.Error("backup prune", "tenant", t.Slug, "backup_id", b.ID, "action", it.Action, "err", err)
			}
		}
		items = append(items, it)
	}
	return items
}

// sweepPartial removes what killed uploads of t's backups left in the
// stores: no catalog row points at them once their run is abandoned.
func (s *Service) sweepPartial(ctx context.Context, t *tenant.Tenant) (int, error) {
	total := 0
	for _, st := range s.stores() {
		sw, ok := st.(storage.Sweeper)
		if !ok {
			continue
		}
		n, err := sw.SweepPartial(ctx, t.ID+"/", s.cfg.StaleAfter)
		total += n
		if err != nil {
			s.log.Error("backup prune: sweep partial uploads", "tenant", t.Slug, "store", st.String(), "err", err)
			return total, err
		}
	}
	return total, nil
}

// pruneOne deletes b's objects, manifest first (so that a half-done
// deletion leaves no artifact that counts as a backup), then records it.
func (s *Service) pruneOne(ctx context.Context, b *Backup, action string) error {
	stores, err := s.storesOf(b)
	if err != nil {
		return err
	}
	for _, st := range stores {
		for _, k := range []string{ManifestKey(b.TenantID, b.ID), DataKey(b.TenantID, b.ID)} {
			if err := st.Delete(ctx, k); err != nil {
				return fmt.Errorf("delete %s from %s: %w", k, st, err)
			}
		}
	}
	switch action {
	case PruneExpire:
		return s.cat.ExpireBackup(ctx, b.ID)
	case PruneAbandon:
		return s.cat.FailBackup(ctx, b.ID, fmt.Sprintf("abandoned: still running after %s (its process most likely died)", s.cfg.StaleAfter))
	default:
		return s.cat.DeleteFailedBackup(ctx, b.ID)
	}
}

// storesOf returns the stores holding b: those its locations name, which
// must be this Service's; a row with no location (failed, running) may
// have left partial objects in any configured store.
func (s *Service) storesOf(b *Backup) ([]storage.Store, error) {
	if b.Location == "" && b.CopyLocation == "" {
		return s.stores(), nil
	}
	var out []storage.Store
	for _, loc := range []string{b.Location, b.CopyLocation} {
		if loc == "" {
			continue
		}
		var found storage.Store
		for _, st := range s.stores() {
			if strings.HasPrefix(loc, strings.TrimSuffix(st.String(), "/")+"/") {
				found = st
			}
		}
		if found == nil {
			return nil, tenant.Errorf(tenant.EUnavailable, "backup %s is in %s, which is not a configured store: left as it is", b.ID, storeOf(loc))
		}
		out = append(out, found)
	}
	return out, nil
}

// storeOf is a location without its key (tenant-id/backup-id/data).
func storeOf(loc string) string {
	parts := strings.Split(loc, "/")
	if len(parts) > 3 {
		return strings.Join(parts[:len(parts)-3], "/")
	}
	return loc
}

// Keep returns the completed and verified backups among bs that the
// policy keeps, by id, with the rule that keeps each: the newest backup of
// each of the last r.Daily calendar days, r.Weekly ISO weeks and r.Monthly
// months in loc (the current one included), the newest verified and the
// newest completed backup whatever their age, and any backup started
// after now (a clock ahead of ours).
func Keep(bs []*Backup, r tenant.Retention, loc *time.Location, now time.Time) map[string]string {
	var done []*Backup
	for _, b := range bs {
		if b.Status == catalog.BackupCompleted || b.Status == catalog.BackupVerified {
			done = append(done, b)
		}
	}
	sort.SliceStable(done, func(i, j int) bool { return done[i].StartedAt.After(done[j].StartedAt) })
	keep := map[string]string{}
	add := func(b *Backup, why string) {
		if _, ok := keep[b.ID]; !ok {
			keep[b.ID] = why
		}
	}
	var newestVerified, newestCompleted bool
	for _, b := range done {
		if b.Status == catalog.BackupVerified && !newestVerified {
			newestVerified = true
			add(b, "newest verified")
		}
		if b.Status == catalog.BackupCompleted && !newestCompleted {
			newestCompleted = true
			add(b, "newest completed")
		}
		if b.StartedAt.After(now) {
			add(b, "started in the future")
		}
	}
	today := civil(now.In(loc))
	rules := []struct {
		why    string
		n      int
		bucket func(t time.Time) int // periods before now's: 0 is the current one
	}{
		{"daily", r.Daily, func(t time.Time) int { return int(today.Sub(civil(t)).Hours()) / 24 }},
		{"weekly", r.Weekly, func(t time.Time) int { return int(monday(today).Sub(monday(civil(t))).Hours()) / 24 / 7 }},
		{"monthly", r.Monthly, func(t time.Time) int {
			return (today.Year()*12 + int(today.Month())) - (t.Year()*12 + int(t.Month()))
		}},
	}
	for _, rule := range rules {
		seen := map[int]bool{}
		for _, b := range done { // newest first: the first of a bucket is its newest
			k := rule.bucket(b.StartedAt.In(loc))
			if k < 0 || k >= rule.n || seen[k] {
				continue
			}
			seen[k] = true
			add(b, rule.why)
		}
	}
	return keep
}

// civil is t's calendar date as midnight UTC, so that days are 24 h apart
// whatever the zone's DST.
func civil(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// monday is the Monday starting the ISO week of the civil date d.
func monday(d time.Time) time.Time {
	wd := (int(d.Weekday()) + 6) % 7 // Monday 0 … Sunday 6
	return d.AddDate(0, 0, -wd)
}
