package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/tenancy/platform/platform/backup"
	"github.com/tenancy/platform/platform/backup/storage"
	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/tenant"
)

// backupConfig is the backup commands' part of the environment.
type backupConfig struct {
	URL, CopyURL string
	S3           storage.Options
	PGBinDir     string
}

func loadBackupConfig(getenv func(string) string) (backupConfig, error) {
	c := backupConfig{
		URL:     getenv("PLATFORM_BACKUP_URL"),
		CopyURL: getenv("PLATFORM_BACKUP_COPY_URL"),
		S3: storage.Options{
			Endpoint:  getenv("PLATFORM_S3_ENDPOINT"),
			AccessKey: getenv("PLATFORM_S3_ACCESS_KEY"),
			SecretKey: getenv("PLATFORM_S3_SECRET_KEY"),
			Region:    getenv("PLATFORM_S3_REGION"),
		},
		PGBinDir: getenv("PLATFORM_PG_BIN_DIR"),
	}
	if c.URL == "" {
		return c, tenant.Errorf(tenant.EInvalid, "PLATFORM_BACKUP_URL is not set (file:///dir or s3://bucket/prefix; see docs/backups.md)")
	}
	switch v := getenv("PLATFORM_S3_INSECURE"); v {
	case "", "0", "false":
	case "1", "true":
		c.S3.Insecure = true
	default:
		return c, tenant.Errorf(tenant.EInvalid, "PLATFORM_S3_INSECURE must be 1 or 0, not %q", v)
	}
	if c.CopyURL != "" && c.CopyURL == c.URL {
		return c, tenant.Errorf(tenant.EInvalid, "PLATFORM_BACKUP_COPY_URL is PLATFORM_BACKUP_URL: a copy must be somewhere else")
	}
	return c, nil
}

// openBackupService wires a backup.Service on a's catalog, server and
// Vault, logging to log (serve's logger, or one on the CLI's stderr).
func openBackupService(ctx context.Context, a *app, getenv func(string) string, log *slog.Logger) (*backup.Service, error) {
	bc, err := loadBackupConfig(getenv)
	if err != nil {
		return nil, err
	}
	st, err := storage.Open(ctx, bc.URL, bc.S3)
	if err != nil {
		return nil, err
	}
	var cp storage.Store
	if bc.CopyURL != "" {
		if cp, err = storage.Open(ctx, bc.CopyURL, bc.S3); err != nil {
			return nil, err
		}
	}
	keepDays, err := restoreKeepDays(getenv)
	if err != nil {
		return nil, err
	}
	return backup.New(a.cat, map[string]*pgadmin.Server{"default": a.admin}, a.vault, st, cp,
		backup.Config{PGBinDir: bc.PGBinDir, Logger: log, RestoreKeepDays: keepDays, Provisioner: provisioner{a.svc}}), nil
}

// backupCmd: platform backup run|list|show.
func backupCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("backup: missing verb (run, list, show, verify, prune, restore)")
	}
	verb, args := args[0], args[1:]
	fs := flag.NewFlagSet("backup "+verb, flag.ContinueOnError)
	out := outputFlag(fs)
	var all, dryRun bool
	var parallel int
	var yes bool  // restore
	var as string // restore
	switch verb {
	case "prune":
		fs.BoolVar(&dryRun, "dry-run", false, "list what retention would delete; change nothing")
	case "run":
		fs.BoolVar(&all, "all", false, "back up every active or suspended tenant")
		fs.IntVar(&parallel, "parallel", 2, "tenants backed up at once with --all")
	case "verify":
	case "restore":
		fs.BoolVar(&yes, "yes", false, "confirm: the tenant's database is replaced by the backup")
		fs.StringVar(&as, "as", "", "restore into a fresh tenant of this slug (for investigation; the backup's tenant is not touched)")
	case "list", "show":
	default:
		return usagef("backup: unknown verb %q", verb)
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := checkOutput(*out); err != nil {
		return err
	}
	switch {
	case verb == "run" && all && len(pos) != 0:
		return usagef("backup run: give a SLUG or --all, not both")
	case verb == "run" && !all && len(pos) != 1:
		return usagef("backup run: want one SLUG or --all")
	case verb == "run" && (parallel < 1 || parallel > 16):
		return tenant.Errorf(tenant.EInvalid, "--parallel must be between 1 and 16")
	case verb == "prune" && len(pos) > 1:
		return usagef("backup prune: at most one SLUG")
	case verb == "list" && len(pos) > 1:
		return usagef("backup list: at most one SLUG")
	case verb == "verify" && len(pos) != 1:
		return usagef("backup verify: want one backup ID")
	case verb == "restore" && len(pos) != 1:
		return usagef("backup restore: want one backup ID")
	case verb == "restore" && !yes:
		return usagef("backup restore: refusing without --yes (the tenant's database is replaced by the backup; a safety backup is made first)")
	case verb == "show" && len(pos) != 1:
		return usagef("backup show: want one backup ID")
	}

	a, err := openApp(ctx, getenv)
	if err != nil {
		return err
	}
	defer a.Close()
	switch verb {
	case "list", "show":
		// The catalog alone: listing needs no store (and works while it is down).
		svc := backup.New(a.cat, nil, a.vault, nil, nil, backup.Config{})
		if verb == "show" {
			b, err := svc.Get(ctx, pos[0])
			if err != nil {
				return err
			}
			return printBackup(stdout, *out, b)
		}
		slug := ""
		if len(pos) == 1 {
			slug = pos[0]
		}
		bs, err := svc.List(ctx, slug)
		if err != nil {
			return err
		}
		return printBackups(stdout, *out, bs)
	}
	level, err := logLevel(getenv)
	if err != nil {
		return err
	}
	svc, err := openBackupService(ctx, a, getenv, slog.New(newHandler(getenv, stderr, level)))
	if err != nil {
		return err
	}
	if verb == "restore" {
		return restoreBackup(ctx, svc, getenv, a.actor, pos[0], as, *out, stdout)
	}
	if verb == "verify" {
		return verifyBackup(ctx, svc, pos[0], *out, stdout)
	}
	if verb == "prune" {
		return pruneBackups(ctx, svc, pos, dryRun, *out, stdout)
	}
	slugs := pos
	if all {
		ts, err := a.cat.ListTenants(ctx, catalog.TenantFilter{Statuses: []tenant.Status{tenant.StatusActive, tenant.StatusSuspended}})
		if err != nil {
			return err
		}
		slugs = nil
		for _, t := range ts {
			slugs = append(slugs, t.Slug)
		}
	}
	return runBackups(ctx, svc, slugs, parallel, *out, stdout, all && *out == "table" && isTerminal(stdout))
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// runResult is one tenant's outcome of `backup run`.
type runResult struct {
	Tenant string         `json:"tenant"`
	Backup *backup.Backup `json:"backup,omitempty"`
	Error  string         `json:"error,omitempty"`
	Code   string         `json:"code,omitempty"`
}

// runBackups backs up slugs, parallel at once, printing a line per tenant
// as each ends (table) or all results at the end (json). Any failure makes
// the command fail after the others ran. On a terminal (progress), a
// status line under the results is redrawn as tenants end.
func runBackups(ctx context.Context, svc *backup.Service, slugs []string, parallel int, format string, w io.Writer, progress bool) error {
	results := make([]runResult, len(slugs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	done, failed := 0, 0
	bar := func() {
		if !progress {
			return
		}
		const width = 30
		n := width * done / max(1, len(slugs))
		fmt.Fprintf(w, "\r\033[K[%s%s] %d/%d done, %d failed", strings.Repeat("#", n), strings.Repeat(".", width-n), done, len(slugs), failed)
	}
	bar()
	sem := make(chan struct{}, parallel)
	for i, slug := range slugs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			start := time.Now()
			b, err := svc.Run(ctx, slug, backup.ReasonManual)
			r := runResult{Tenant: slug, Backup: b}
			if err != nil {
				r.Error, r.Code = errorLine(err), tenant.ErrorCode(err)
			}
			results[i] = r
			if format == "table" {
				mu.Lock()
				done++
				if progress {
					fmt.Fprint(w, "\r\033[K")
				}
				if err != nil {
					failed++
					fmt.Fprintf(w, "backup %s failed: %s\n", slug, r.Error)
				} else {
					fmt.Fprintf(w, "backup %s completed: %s, %s in %s\n", slug, b.ID, humanSize(b.SizeBytes),
						time.Since(start).Round(time.Millisecond))
				}
				bar()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if progress {
		fmt.Fprintln(w)
	}
	failed = 0
	for _, r := range results {
		if r.Error != "" {
			failed++
		}
	}
	if format == "json" {
		if err := writeJSON(w, results); err != nil {
			return err
		}
	}
	switch {
	case failed == 0:
		return nil
	case len(results) == 1:
		return fmt.Errorf("%s", results[0].Error)
	}
	return fmt.Errorf("%d of %d backups failed", failed, len(results))
}

func printBackups(w io.Writer, format string, bs []*backup.Backup) error {
	if format == "json" {
		if bs == nil {
			bs = []*backup.Backup{}
		}
		return writeJSON(w, bs)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTENANT\tSTATUS\tREASON\tSTARTED\tDURATION\tSIZE")
	for _, b := range bs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.ID, b.TenantSlug, b.Status, b.Reason,
			b.StartedAt.UTC().Format(time.RFC3339), duration(b), humanSize(b.SizeBytes))
	}
	return tw.Flush()
}

func printBackup(w io.Writer, format string, b *backup.Backup) error {
	if format == "json" {
		return writeJSON(w, b)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	row("id", b.ID)
	row("tenant", b.TenantSlug+" ("+b.TenantID+")")
	row("status", b.Status)
	row("reason", b.Reason)
	row("started", b.StartedAt.UTC().Format(time.RFC3339))
	if b.FinishedAt != nil {
		row("finished", b.FinishedAt.UTC().Format(time.RFC3339)+" ("+duration(b)+")")
	}
	if b.VerifiedAt != nil {
		row("verified", b.VerifiedAt.UTC().Format(time.RFC3339))
	}
	row("location", b.Location)
	row("copy", b.CopyLocation)
	if b.SizeBytes > 0 {
		row("size", fmt.Sprintf("%s (%d bytes)", humanSize(b.SizeBytes), b.SizeBytes))
	}
	row("sha256", b.SHA256)
	if b.SchemaVersion > 0 {
		row("schema version", fmt.Sprint(b.SchemaVersion))
	}
	row("server", b.ServerVersion)
	row("pg_dump", b.DumpVersion)
	row("error", b.Error)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(b.RowCounts) == 0 {
		return nil
	}
	names := make([]string, 0, len(b.RowCounts))
	for n := range b.RowCounts {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS")
	for _, n := range names {
		fmt.Fprintf(tw, "%s\t%d\n", n, b.RowCounts[n])
	}
	return tw.Flush()
}

func duration(b *backup.Backup) string {
	if b.FinishedAt == nil {
		return "-"
	}
	return b.FinishedAt.Sub(b.StartedAt).Round(time.Millisecond).String()
}

func humanSize(n int64) string {
	if n <= 0 {
		return "-"
	}
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), strings.ToUpper("kmgtpe")[exp])
}
