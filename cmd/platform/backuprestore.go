package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenancy/platform/platform/backup"
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
	_, err = fmt.Fprintf(w, "tenant %s: restored backup %s (%d tables, %d rows) in %s, maintenance %s; safety backup %s; previous database kept as %s; %d sessions ended\n",
		res.Tenant, res.BackupID, res.Tables, res.Rows, res.Duration.Round(time.Millisecond),
		res.MaintenanceWindow.Round(time.Millisecond), res.SafetyBackupID, res.PreviousDatabase, res.SessionsEnded)
	return err
}
