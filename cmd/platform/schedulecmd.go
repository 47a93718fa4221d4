package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/tenancy/platform/platform/backup"
	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/schedule"
	"github.com/tenancy/platform/tenant"
)

// startSchedule runs the backup, verify (restore drill) and prune jobs of every active tenant in
// this replica (the scheduler claims each slot once across replicas),
// alerting PLATFORM_ALERT_WEBHOOK_URL when a slot fails for good. Without
// PLATFORM_BACKUP_URL it logs once that scheduled backups are off and
// schedules nothing. It stops with ctx; serve waits for its jobs.
func (s *server) startSchedule(ctx context.Context, getenv func(string) string) error {
	if getenv("PLATFORM_BACKUP_URL") == "" {
		s.log.Warn("scheduled backups are off: PLATFORM_BACKUP_URL is not set")
		return nil
	}
	svc, err := openBackupService(ctx, s.app, getenv, s.log)
	if err != nil {
		return err
	}
	if s.runs != nil {
		svc = svc.WithObserver(s.runs)
	}
	s.backups = svc
	host, err := os.Hostname()
	if err != nil {
		host = "serve"
	}
	var alert func(context.Context, schedule.Alert) error
	if u := getenv("PLATFORM_ALERT_WEBHOOK_URL"); u != "" {
		alert = schedule.Webhook(u, nil)
	}
	cat := s.app.cat
	sch, err := schedule.New(schedule.Config{
		Catalog: cat, Replica: fmt.Sprintf("%s-%d-%d", host, os.Getpid(), time.Now().UnixNano()), Logger: s.log,
		Tenants: func(ctx context.Context) ([]*tenant.Tenant, error) {
			return cat.ListTenants(ctx, catalog.TenantFilter{Statuses: []tenant.Status{tenant.StatusActive}})
		},
		Jobs: []schedule.Job{
			{Name: "backup", Spec: schedule.SettingSpec(tenant.SettingBackupSchedule), Default: schedule.DefaultBackupSpec,
				CatchUp: 6 * time.Hour, Retry: schedule.Backoff{Attempts: 3, Base: time.Minute, Max: 15 * time.Minute},
				Run: func(ctx context.Context, t *tenant.Tenant, _ time.Time) error {
					_, err := svc.Run(ctx, t.Slug, backup.ReasonScheduled)
					return err
				}},
			// The restore drill: the newest backup restored into a scratch
			// database and counted, monthly.
			{Name: "verify", Spec: schedule.SettingSpec(tenant.SettingVerifySchedule), Default: schedule.DefaultVerifySpec, CatchUp: 24 * time.Hour,
				Retry: schedule.Backoff{Attempts: 2, Base: 5 * time.Minute, Max: 30 * time.Minute},
				Run: func(ctx context.Context, t *tenant.Tenant, _ time.Time) error {
					_, err := svc.Drill(ctx, t.Slug)
					return err
				}},
			{Name: "prune", Default: schedule.DefaultPruneSpec, CatchUp: 24 * time.Hour,
				Retry: schedule.Backoff{Attempts: 3, Base: time.Minute, Max: 15 * time.Minute},
				Run: func(ctx context.Context, t *tenant.Tenant, _ time.Time) error {
					rep, err := svc.Prune(ctx, t.Slug, false)
					if err == nil && rep.Errors > 0 {
						err = fmt.Errorf("%d backups could not be pruned", rep.Errors)
					}
					// The databases restores kept, past PLATFORM_RESTORE_KEEP_DAYS.
					pre, perr := svc.PrunePreRestore(ctx, t.Slug, false, time.Now())
					if perr == nil && pre.Errors > 0 {
						perr = fmt.Errorf("%d kept pre-restore databases could not be dropped", pre.Errors)
					}
					return errors.Join(err, perr)
				}},
		},
		Alert: alert,
	})
	if err != nil {
		return err
	}
	sch.Start(ctx)
	s.sched = sch
	return nil
}
