package backup

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/tenant"
)

// Actions of PrunePreRestore on a kept previous database.
const (
	PreRestoreKeep = "keep"
	PreRestoreDrop = "drop"
)

// PreRestoreItem is one kept previous database (<db>_pre_restore_<ts>).
type PreRestoreItem struct {
	Tenant   string    `json:"tenant"`
	Database string    `json:"database"`
	KeptAt   time.Time `json:"kept_at"` // the restore's time, from the name (UTC)
	Action   string    `json:"action"`  // keep or drop (done, or to do in a dry run)
	Error    string    `json:"error,omitempty"`
}

// PreRestoreReport is what PrunePreRestore did (or would do).
type PreRestoreReport struct {
	KeepDays int              `json:"keep_days"` // 0: kept forever
	DryRun   bool             `json:"dry_run"`
	Items    []PreRestoreItem `json:"items"`
	Errors   int              `json:"errors"`
}

// Dropped counts the items dropped (or to drop, in a dry run).
func (r *PreRestoreReport) Dropped() int {
	n := 0
	for _, it := range r.Items {
		if it.Action == PreRestoreDrop && it.Error == "" {
			n++
		}
	}
	return n
}

// PrunePreRestore drops the previous databases restores kept for slug's
// tenant (every tenant when slug is ""), once older than
// Config.RestoreKeepDays at now (UTC; zero: the current time); with
// RestoreKeepDays 0 every one is kept. A dry run changes nothing. A
// database counts only if the tenant's owner role owns it and its name is
// exactly the one a restore of that tenant gives (rsName of the tenant's
// database, "_pre_restore_" and a valid timestamp): never the live
// database, never another tenant's. The previous database of a restore
// still recorded as in progress is kept (a re-run decides with it), and
// the drops run under the tenant's lock, so never during its restore.
// One tenant's failure is reported in its items and counted in Errors;
// the others go on.
func (s *Service) PrunePreRestore(ctx context.Context, slug string, dryRun bool, now time.Time) (*PreRestoreReport, error) {
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC()
	rep := &PreRestoreReport{KeepDays: s.cfg.RestoreKeepDays, DryRun: dryRun, Items: []PreRestoreItem{}}
	var ts []*tenant.Tenant
	if slug != "" {
		t, err := s.cat.TenantBySlug(ctx, slug)
		if err != nil {
			return nil, err
		}
		ts = []*tenant.Tenant{t}
	} else {
		var err error
		if ts, err = s.cat.ListTenants(ctx, catalog.TenantFilter{}); err != nil {
			return nil, err
		}
	}
	for _, t := range ts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		items, err := s.prunePreRestore(ctx, t, dryRun, now)
		if err != nil {
			s.log.Error("prune of kept pre-restore databases failed", "tenant", t.Slug, "err", err)
			marked := false
			for i := range items {
				if items[i].Action == PreRestoreDrop && items[i].Error == "" {
					items[i].Error, marked = err.Error(), true
				}
			}
			if !marked {
				items = append(items, PreRestoreItem{Tenant: t.Slug, Action: PreRestoreKeep, Error: err.Error()})
			}
		}
		for _, it := range items {
			if it.Error != "" {
				rep.Errors++
			}
		}
		rep.Items = append(rep.Items, items...)
	}
	return rep, nil
}

func (s *Service) prunePreRestore(ctx context.Context, t *tenant.Tenant, dryRun bool, now time.Time) ([]PreRestoreItem, error) {
	if t.Database == "" {
		return nil, nil // still provisioning: no database yet
	}
	srv := s.servers[t.DBServer]
	if srv == nil {
		return nil, tenant.Errorf(tenant.EUnavailable, "tenant %q is on database server %q, which this process has no admin connection to", t.Slug, t.DBServer)
	}
	owned, err := srv.DatabasesOwnedBy(ctx, tenant.OwnerRole(t.Slug))
	if err != nil {
		return nil, err
	}
	var items []PreRestoreItem
	for _, db := range owned {
		at, ok := preRestoreTime(t.Database, db)
		if !ok {
			continue
		}
		it := PreRestoreItem{Tenant: t.Slug, Database: db, KeptAt: at, Action: PreRestoreKeep}
		if s.cfg.RestoreKeepDays > 0 && !now.Before(at.AddDate(0, 0, s.cfg.RestoreKeepDays)) {
			it.Action = PreRestoreDrop
		}
		items = append(items, it)
	}
	var drop []int
	for i, it := range items {
		if it.Action == PreRestoreDrop {
			drop = append(drop, i)
		}
	}
	if dryRun || len(drop) == 0 {
		return items, nil
	}
	err = s.cat.WithLock(ctx, "tenant:"+t.Slug, func() error {
		rec, err := s.loadRestoreRecord(ctx, t.ID)
		if err != nil {
			return err
		}
		for _, i := range drop {
			it := &items[i]
			if rec != nil && (it.Database == rec.PreDatabase || it.Database == rec.Database) {
				it.Action = PreRestoreKeep // the record of an interrupted restore still needs it
				continue
			}
			if err := s.dropPreRestore(ctx, srv, t, it.Database); err != nil {
				it.Error = err.Error()
				continue
			}
			s.log.Info("dropped a kept pre-restore database", "tenant", t.Slug, "database", it.Database,
				"kept_at", it.KeptAt, "keep_days", s.cfg.RestoreKeepDays)
		}
		return nil
	})
	return items, err
}

// dropPreRestore drops db after checking again, under the lock, that it is
// still the tenant's owner role's and not the live database.
func (s *Service) dropPreRestore(ctx context.Context, srv *pgadmin.Server, t *tenant.Tenant, db string) error {
	cur, err := s.cat.TenantBySlug(ctx, t.Slug)
	if err != nil {
		return err
	}
	if db == cur.Database {
		return fmt.Errorf("%s is the live database of %s", db, t.Slug)
	}
	owned, err := srv.DatabasesOwnedBy(ctx, tenant.OwnerRole(t.Slug))
	if err != nil {
		return err
	}
	for _, o := range owned {
		if o == db {
			return srv.DropDatabase(ctx, db)
		}
	}
	return nil // gone meanwhile
}

// preRestoreTime reports whether name is exactly the previous database a
// restore of database gives (see nameRestore) and the restore's time.
func preRestoreTime(database, name string) (time.Time, bool) {
	const suffix = "_pre_restore_"
	tsLen := len(rsTSLayout) + 3
	if name == database || len(name) < tsLen {
		return time.Time{}, false
	}
	ts := name[len(name)-tsLen:]
	if strings.ContainsFunc(ts[len(rsTSLayout):], func(r rune) bool { return r < '0' || r > '9' }) {
		return time.Time{}, false
	}
	at, err := time.ParseInLocation(rsTSLayout, ts[:len(rsTSLayout)], time.UTC)
	if err != nil {
		return time.Time{}, false
	}
	var ms int
	fmt.Sscanf(ts[len(rsTSLayout):], "%d", &ms)
	at = at.Add(time.Duration(ms) * time.Millisecond)
	if rsName(database, suffix+rsTS(at)) != name {
		return time.Time{}, false
	}
	return at, true
}
