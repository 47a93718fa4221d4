package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tenancy/platform/platform/backup"
)

// pruneBackups runs `platform backup prune [SLUG] [--dry-run]`: a table of
// what retention did (or would do) to each backup, kept ones included, and
// a summary line; an error (non-zero exit) when some backup could not be
// pruned.
func pruneBackups(ctx context.Context, svc *backup.Service, pos []string, dryRun bool, format string, w io.Writer) error {
	slug := ""
	if len(pos) == 1 {
		slug = pos[0]
	}
	rep, err := svc.Prune(ctx, slug, dryRun)
	if err != nil {
		return err
	}
	if format == "json" {
		if err := writeJSON(w, rep); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TENANT\tBACKUP\tSTARTED\tSTATUS\tACTION\tWHY")
		for _, it := range rep.Items {
			why := it.Why
			if it.Error != "" {
				why = "error: " + it.Error
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", it.Tenant, it.BackupID, it.StartedAt.UTC().Format(time.RFC3339),
				it.Status, it.Action, why)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		verb := "pruned"
		if dryRun {
			verb = "dry run (nothing changed): would prune"
		}
		fmt.Fprintf(w, "%s %d tenants: %d kept, %d expired, %d abandoned running, %d failed rows cleaned, %d errors\n",
			verb, rep.Tenants, rep.Count(backup.PruneKeep), rep.Count(backup.PruneExpire),
			rep.Count(backup.PruneAbandon), rep.Count(backup.PruneClean), rep.Errors)
	}
	if rep.Errors > 0 {
		return fmt.Errorf("backup prune: %d backups could not be pruned (see the log)", rep.Errors)
	}
	return nil
}
