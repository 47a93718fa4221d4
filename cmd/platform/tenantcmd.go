package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tenancy/platform/platform/adminapi"
	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/importer"
	"github.com/tenancy/platform/platform/provision"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
)

// setFlags are the flags of `tenant set`, each a setting.
var setFlags = map[string]string{
	"backup-schedule":      tenant.SettingBackupSchedule,
	"backup-retention":     tenant.SettingBackupRetention,
	"verify-schedule":      tenant.SettingVerifySchedule,
	"session-lifetime":     tenant.SettingSessionLifetime,
	"session-idle":         tenant.SettingSessionIdle,
	"secret-rotation-days": tenant.SettingRotationDays,
}

func tenantCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("tenant: missing verb (create, list, show, suspend, resume, delete, env, reset-admin, set, settings, seed, import)")
	}
	verb, args := args[0], args[1:]
	fs := flag.NewFlagSet("tenant "+verb, flag.ContinueOnError)
	out := outputFlag(fs)
	var (
		kind, name, tz, status string
		domains, sets, unsets  multiFlag
		yes, purge, reveal     bool
		seedSize               string
		from, mapping, source  string
		dryRun                 bool
	)
	switch verb {
	case "create":
		fs.StringVar(&kind, "kind", "", "restaurant or institution")
		fs.StringVar(&name, "name", "", "display name")
		fs.StringVar(&tz, "time-zone", "UTC", "IANA time zone")
		fs.Var(&domains, "domain", "custom domain (repeatable)")
	case "list":
		fs.StringVar(&status, "status", "", "only tenants in this status")
		fs.StringVar(&kind, "kind", "", "only tenants of this kind")
	case "delete":
		fs.BoolVar(&yes, "yes", false, "confirm")
		fs.BoolVar(&purge, "purge", false, "drop database, roles, secrets and catalog rows")
	case "env":
		fs.BoolVar(&reveal, "reveal", false, "print the secrets themselves")
	case "show", "suspend", "resume":
	case "reset-admin":
		fs.BoolVar(&yes, "yes", false, "confirm")
	case "set":
		for name, key := range setFlags {
			fs.String(name, "", "the "+key+" setting (\"\" or \"default\": back to the default)")
		}
	case "settings":
		fs.Var(&sets, "set", "KEY=VALUE (repeatable)")
		fs.Var(&unsets, "unset", "KEY back to its default (repeatable)")
	case "seed":
		fs.StringVar(&seedSize, "size", "small", "small or large (about 500 MB)")
	case "import":
		fs.StringVar(&from, "from", "", "sqlite:///path.db, mysql://user:pass@host/db or csv:///dir")
		fs.StringVar(&mapping, "mapping", "", "a built-in mapping's name or a mapping file")
		fs.StringVar(&source, "source", "", "label of the source database among others of the same system imported with the mapping (e.g. branch-2); default: the mapping's one source")
		fs.BoolVar(&dryRun, "dry-run", false, "do everything but commit")
	default:
		return usagef("tenant: unknown verb %q", verb)
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := checkOutput(*out); err != nil {
		return err
	}
	wantSlug := verb != "list"
	if wantSlug && len(pos) != 1 {
		return usagef("tenant %s: want exactly one SLUG, got %d arguments", verb, len(pos))
	}
	if !wantSlug && len(pos) != 0 {
		return usagef("tenant %s: unexpected argument %q", verb, pos[0])
	}
	var slug string
	if wantSlug {
		slug = pos[0]
		if verb != "create" && tenant.NormalizeHost(slug) != slug {
			return tenant.Errorf(tenant.EInvalid, "invalid slug %q", slug)
		}
	}
	if verb == "reset-admin" && !yes {
		return usagef("tenant reset-admin: refusing without --yes (the admin's current password stops working)")
	}
	if verb == "delete" && !yes {
		return usagef("tenant delete: refusing without --yes (add --purge to drop the database, roles and secrets too)")
	}
	if verb == "seed" {
		if err := checkSeedSize(seedSize); err != nil {
			return err
		}
	}
	if verb == "import" && (from == "" || mapping == "") {
		return usagef("tenant import: --from URL and --mapping NAME|FILE are required")
	}
	if verb == "import" {
		if err := importer.CheckSourceLabel(source); err != nil {
			return err
		}
	}
	if verb == "create" && kind == "" {
		return usagef("tenant create: --kind is required (restaurant or institution)")
	}
	set := map[string]string{}
	for _, kv := range sets {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usagef("tenant settings: --set wants KEY=VALUE, not %q", kv)
		}
		set[k] = v
	}
	if verb == "set" {
		// Each setting flag given: a value sets it, "" or "default" unsets it.
		fs.Visit(func(f *flag.Flag) {
			key, ok := setFlags[f.Name]
			if !ok {
				return
			}
			if v := f.Value.String(); v == "" || v == "default" {
				unsets = append(unsets, key)
			} else {
				set[key] = v
			}
		})
		if len(set) == 0 && len(unsets) == 0 {
			return usagef("tenant set: nothing to set (--backup-schedule, --backup-retention, --verify-schedule, --session-lifetime, --session-idle, --secret-rotation-days)")
		}
	}
	var filter catalog.TenantFilter
	if verb == "list" {
		if status != "" {
			filter.Statuses = []tenant.Status{tenant.Status(status)}
			if !validStatus(status) {
				return tenant.Errorf(tenant.EInvalid, "unknown status %q", status)
			}
		}
		if kind != "" {
			k, err := tenant.ParseKind(kind)
			if err != nil {
				return err
			}
			filter.Kind = k
		}
	}

	a, err := openApp(ctx, getenv)
	if err != nil {
		return err
	}
	defer a.Close()
	// The service records every operator action with this actor.
	ctx = tenant.WithActor(ctx, tenant.Actor{Name: a.actor, Source: "cli"})

	switch verb {
	case "create":
		res, err := a.svc.Create(ctx, provision.CreateRequest{Slug: slug, Kind: kind, Name: name, Domains: domains, TimeZone: tz})
		if err != nil {
			return err
		}
		return printCreated(stdout, *out, res)
	case "list":
		ts, err := a.svc.List(ctx, filter)
		if err != nil {
			return err
		}
		return printTenants(stdout, *out, a.svc, ts, false)
	case "show":
		t, err := a.svc.Get(ctx, slug)
		if err != nil {
			return err
		}
		ages, err := adminapi.SecretAges(ctx, a.svc, t)
		if err != nil {
			return err
		}
		bk, err := adminapi.BackupSummaryOf(ctx, a.cat, t, time.Now())
		if err != nil {
			return err
		}
		if *out == "json" {
			v := adminapi.TenantView(a.svc, t)
			v.Secrets, v.Backups = ages, bk
			return writeJSON(stdout, v)
		}
		if err := printTenants(stdout, *out, a.svc, []*tenant.Tenant{t}, true); err != nil {
			return err
		}
		if err := printAges(stdout, ages); err != nil {
			return err
		}
		return printBackupSummary(stdout, bk)
	case "suspend", "resume":
		op := a.svc.Suspend
		if verb == "resume" {
			op = a.svc.Resume
		}
		if err := op(ctx, slug); err != nil {
			return err
		}
		return printDone(stdout, *out, slug, verb+"ed")
	case "delete":
		op, word := a.svc.Delete, "deleted (data kept; --purge removes it)"
		if purge {
			op, word = a.svc.Purge, "purged"
		}
		if err := op(ctx, slug); err != nil {
			return err
		}
		return printDone(stdout, *out, slug, word)
	case "reset-admin":
		pw, err := a.svc.ResetAdmin(ctx, slug)
		if err != nil {
			return err
		}
		if *out == "json" {
			return writeJSON(stdout, map[string]string{"slug": slug, "admin_username": auth.AdminUsername, "admin_password": pw})
		}
		fmt.Fprintf(stdout, "tenant %s: new one-time password for %s: %s\n(shown only this once; it must be changed at first login)\n", slug, auth.AdminUsername, pw)
		return nil
	case "settings", "set":
		var st map[string]any
		if len(set) == 0 && len(unsets) == 0 {
			t, err := a.svc.Get(ctx, slug)
			if err != nil {
				return err
			}
			st = t.Settings
		} else if st, err = a.svc.UpdateSettings(ctx, slug, set, unsets); err != nil {
			return err
		}
		return printSettings(stdout, *out, slug, st)
	case "seed":
		return seedTenant(ctx, a, slug, seedSize, *out, stdout)
	case "import":
		level, err := logLevel(getenv)
		if err != nil {
			return err
		}
		req := importer.Request{Tenant: slug, From: from, Mapping: mapping, Source: source, DryRun: dryRun}
		return importTenant(ctx, a, req, *out, stdout, slog.New(newHandler(getenv, stderr, level)))
	case "env":
		b, err := a.svc.Env(ctx, slug, reveal)
		if err != nil {
			return err
		}
		_, err = stdout.Write(b)
		return err
	}
	return nil
}

func validStatus(s string) bool {
	switch tenant.Status(s) {
	case tenant.StatusProvisioning, tenant.StatusActive, tenant.StatusSuspended, tenant.StatusMaintenance, tenant.StatusDeleted:
		return true
	}
	return false
}

func printTenants(w io.Writer, format string, svc *provision.Service, ts []*tenant.Tenant, one bool) error {
	if format == "json" {
		js := make([]adminapi.Tenant, len(ts))
		for i, t := range ts {
			js[i] = adminapi.TenantView(svc, t)
		}
		if one { // show prints one object; list always prints an array
			return writeJSON(w, js[0])
		}
		return writeJSON(w, js)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLUG\tKIND\tSTATUS\tNAME\tDATABASE\tHOSTS\tCREATED")
	for _, t := range ts {
		// A name stored before names were validated may hold a tab or a
		// line break, which would break the table.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Slug, t.Kind, t.Status, tenant.SanitizeText(t.Name), t.Database,
			strings.Join(svc.Hosts(t), ","), t.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

func printCreated(w io.Writer, format string, res *provision.Created) error {
	t := res.Tenant
	if format == "json" {
		return writeJSON(w, adminapi.CreatedView(res))
	}
	verb := "created"
	if res.Resumed {
		verb = "finished (resumed an earlier run)"
	}
	fmt.Fprintf(w, "tenant %s %s in %s\n", t.Slug, verb, res.Duration.Round(time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  kind\t%s\n  status\t%s\n  database\t%s\n  hosts\t%s\n  admin user\t%s\n",
		t.Kind, t.Status, t.Database, strings.Join(res.Hosts, ", "), res.AdminUsername)
	if res.AdminPassword != "" {
		fmt.Fprintf(tw, "  admin password\t%s\n", res.AdminPassword)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if res.AdminPassword != "" {
		_, err := fmt.Fprintln(w, "The admin password is shown only this once; it must be changed at first login.")
		return err
	}
	return nil
}

func printDone(w io.Writer, format, slug, what string) error {
	if format == "json" {
		return writeJSON(w, map[string]string{"slug": slug, "result": strings.Fields(what)[0]})
	}
	_, err := fmt.Fprintf(w, "tenant %s %s\n", slug, what)
	return err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printAges prints each secret's age under `tenant show`'s table; never a
// value.
func printAges(w io.Writer, ages []provision.SecretAge) error {
	if len(ages) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SECRET\tROTATED\tAGE\tNEXT ROTATION")
	for _, a := range ages {
		next := "never (secret_rotation_days 0)"
		if !a.DueAt.IsZero() {
			next = a.DueAt.Format(time.RFC3339)
		}
		if a.Pending {
			next = "pending: run `platform secrets rotate` to finish"
		}
		fmt.Fprintf(tw, "%s\t%s\t%dd\t%s\n", a.Name, a.RotatedAt.Format(time.RFC3339), a.AgeDays, next)
	}
	return tw.Flush()
}

// printSettings shows every known setting with its value, or its default.
func printSettings(w io.Writer, out, slug string, st map[string]any) error {
	if st == nil {
		st = map[string]any{}
	}
	if out == "json" {
		return writeJSON(w, map[string]any{"slug": slug, "settings": st})
	}
	defaults := map[string]string{tenant.SettingSessionLifetime: "8h", tenant.SettingSessionIdle: "30m", tenant.SettingRotationDays: "90",
		tenant.SettingBackupSchedule: "daily at 03:MM, tenant's time zone, MM per tenant", tenant.SettingBackupRetention: tenant.DefaultRetention.String(),
		tenant.SettingVerifySchedule: "monthly at 04:MM on a day per tenant, tenant's time zone",
		tenant.SettingLocale:         "from the time zone: Mexican zones es-MX, else es-CL",
		tenant.SettingCurrency:       "the locale's: CLP, MXN or USD"}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE")
	for _, k := range tenant.SettingNames() {
		v, ok := st[k]
		val := fmt.Sprint(v)
		if !ok {
			val = defaults[k] + " (default)"
		}
		fmt.Fprintf(tw, "%s\t%s\n", k, val)
	}
	return tw.Flush()
}

// printBackupSummary is the backups part of `tenant show`.
func printBackupSummary(w io.Writer, b *adminapi.BackupSummary) error {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	when := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.Format(time.RFC3339)
	}
	dflt := func(d bool) string {
		if d {
			return " (default)"
		}
		return ""
	}
	fmt.Fprintf(tw, "backup schedule:\t%s%s, next %s\n", b.Schedule, dflt(b.ScheduleDefault), when(b.NextBackupAt))
	if b.ScheduleError != "" {
		fmt.Fprintf(tw, "schedule error:\t%s (no backups run until it is fixed: platform tenant set SLUG --backup-schedule ...)\n", b.ScheduleError)
	}
	fmt.Fprintf(tw, "backup retention:\t%s%s\n", b.Retention, dflt(b.RetentionDefault))
	fmt.Fprintf(tw, "restore drill:\t%s%s, next %s\n", b.DrillSchedule, dflt(b.DrillDefault), when(b.NextDrillAt))
	fmt.Fprintf(tw, "backups held:\t%d\n", b.Count)
	if l := b.LastBackup; l != nil {
		line := fmt.Sprintf("%s %s (%s) at %s", l.ID, l.Status, l.Reason, l.StartedAt.Format(time.RFC3339))
		if l.SizeBytes > 0 {
			line += fmt.Sprintf(", %s in %s", humanSize(l.SizeBytes), (time.Duration(l.DurationMS) * time.Millisecond).String())
		}
		if l.Error != "" {
			line += ": " + l.Error
		}
		fmt.Fprintf(tw, "last backup:\t%s\n", line)
	}
	fmt.Fprintf(tw, "last success:\t%s\n", when(b.LastSuccessAt))
	fmt.Fprintf(tw, "last verified:\t%s\n", when(b.LastVerifiedAt))
	return tw.Flush()
}
