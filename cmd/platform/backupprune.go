package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tenancy/platform/platform/backup"
)

// pruneOutput is `backup prune -o json`: retention's report, and the kept
// pre-restore databases under pre_restore.
type pruneOutput struct {
	backup.PruneReport
	PreRestore *backup.PreRestoreReport `json:"pre_restore"`
}

// pruneBackups runs `platform backup prune [SLUG] [--dry-run]`: a table of
// what retention did (or would do) to each backup, kept ones included, and
// a summary line; then the same for the previous databases restores kept
// (dropped after PLATFORM_RESTORE_KEEP_DAYS). An error (non-zero exit)
// when some backup or database could not be pruned.
func pruneBackups(ctx context.Context, svc *backup.Service, pos []string, dryRun bool, format string, w io.Writer) error {
	slug := ""
	if len(pos) == 1 {
		slug = pos[0]
	}
	rep, err := svc.Prune(ctx, slug, dryRun)
	if err != nil {
		return err
	}
	pre, err := svc.PrunePreRestore(ctx, slug, dryRun, time.Now())
	if err != nil {
		return err
	}
	if format == "json" {
		if err := writeJSON(w, pruneOutput{rep, pre}); err != nil {
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
		fmt.Fprintf(w, "%s %d tenants: %d kept, %d expired, %d abandoned running, %d failed rows cleaned, %d partial uploads removed, %d errors\n",
			verb, rep.Tenants, rep.Count(backup.PruneKeep), rep.Count(backup.PruneExpire),
			rep.Count(backup.PruneAbandon), rep.Count(backup.PruneClean), rep.PartialsRemoved, rep.Errors)
		if err := printPreRestore(w, pre); err != nil {
			return err
		}
	}
	if rep.Errors > 0 {
		return fmt.Errorf("backup prune: %d backups could not be pruned (see the log)", rep.Errors)
	}
	if pre.Errors > 0 {
		return fmt.Errorf("backup prune: %d kept pre-restore databases could not be dropped (see the log)", pre.Errors)
	}
	return nil
}

// printPreRestore lists the kept pre-restore databases and what became of
// each, and a line of what was dropped (or would be).
func printPreRestore(w io.Writer, pre *backup.PreRestoreReport) error {
	keep := "kept forever (PLATFORM_RESTORE_KEEP_DAYS=0)"
	if pre.KeepDays > 0 {
		keep = fmt.Sprintf("kept %d days", pre.KeepDays)
	}
	if len(pre.Items) == 0 {
		_, err := fmt.Fprintf(w, "no kept pre-restore databases (%s)\n", keep)
		return err
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TENANT\tPRE-RESTORE DATABASE\tKEPT SINCE\tACTION")
	for _, it := range pre.Items {
		action := it.Action
		switch {
		case it.Error != "":
			action = "error: " + it.Error
		case it.Action == backup.PreRestoreDrop && pre.DryRun:
			action = "would drop"
		case it.Action == backup.PreRestoreDrop:
			action = "dropped"
		}
		kept := "-"
		if !it.KeptAt.IsZero() {
			kept = it.KeptAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", it.Tenant, it.Database, kept, action)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	verb := "dropped"
	if pre.DryRun {
		verb = "dry run (nothing changed): would drop"
	}
	_, err := fmt.Fprintf(w, "%s %d kept pre-restore databases (%s), %d errors\n", verb, pre.Dropped(), keep, pre.Errors)
	return err
}
