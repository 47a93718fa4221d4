package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenancy/platform/platform/backup"
	"github.com/tenancy/platform/platform/provision"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth/session"
)

// restoreBackup runs `platform backup restore ID --yes [--as SLUG]`. The
// tenant's sessions end through Redis when REDIS_URL is set.
func restoreBackup(ctx context.Context, svc *backup.Service, getenv func(string) string, actor, id, as, format string, w io.Writer) error {
	opts := backup.RestoreOptions{As: as}
	if u := getenv("REDIS_URL"); u != "" {
		ro, err := redis.ParseURL(u)
		if err != nil {
			return tenant.Errorf(tenant.EInvalid, "REDIS_URL is not a valid redis:// URL")
		}
		rdb := redis.NewClient(ro)
		defer rdb.Close()
		opts.Sessions = session.New(rdb, session.Options{Timeout: 10 * time.Second})
	}
	ctx = tenant.WithActor(ctx, tenant.Actor{Name: actor, Source: "cli"})
	res, err := svc.Restore(ctx, id, opts)
	if err != nil {
		return err
	}
	if format == "json" {
		return writeJSON(w, res)
	}
	if res.Recovered != "" {
		fmt.Fprintf(w, "tenant %s: %s\n", res.Tenant, res.Recovered)
	}
	if res.SourceTenant != "" {
		_, err = fmt.Fprintf(w, "tenant %s: created and restored from backup %s of tenant %s (%d tables, %d rows) in %s; its users are the backup's (`platform tenant reset-admin %s --yes` for a one-time admin password)\n",
			res.Tenant, res.BackupID, res.SourceTenant, res.Tables, res.Rows, res.Duration.Round(time.Millisecond), res.Tenant)
		return err
	}
	_, err = fmt.Fprintf(w, "tenant %s: restored backup %s (%d tables, %d rows) in %s, maintenance %s; safety backup %s; previous database kept as %s; %d sessions ended\n",
		res.Tenant, res.BackupID, res.Tables, res.Rows, res.Duration.Round(time.Millisecond),
		res.MaintenanceWindow.Round(time.Millisecond), res.SafetyBackupID, res.PreviousDatabase, res.SessionsEnded)
	return err
}

// provisioner is *provision.Service as restore --as's backup.Provisioner.
type provisioner struct{ svc *provision.Service }

func (p provisioner) CreateTenant(ctx context.Context, slug string, kind tenant.Kind, name, timeZone string) (*tenant.Tenant, error) {
	// The generated admin password is not shown: the restore replaces the
	// users with the backup's.
	res, err := p.svc.Create(ctx, provision.CreateRequest{Slug: slug, Kind: string(kind), Name: name, TimeZone: timeZone})
	if err != nil {
		return nil, err
	}
	return res.Tenant, nil
}

func (p provisioner) PurgeTenant(ctx context.Context, slug string) error {
	return p.svc.Purge(ctx, slug)
}

// restoreKeepDays is PLATFORM_RESTORE_KEEP_DAYS: the days a restore's
// previous database is kept; unset 7, 0 forever.
func restoreKeepDays(getenv func(string) string) (int, error) {
	v := getenv("PLATFORM_RESTORE_KEEP_DAYS")
	if v == "" {
		return 7, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 3650 {
		return 0, tenant.Errorf(tenant.EInvalid, "PLATFORM_RESTORE_KEEP_DAYS must be a number of days from 0 (keep forever) to 3650, not %q", v)
	}
	return n, nil
}
