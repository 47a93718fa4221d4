package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"text/tabwriter"

	"github.com/tenancy/platform/migrations"
	"github.com/tenancy/platform/platform/adminapi"
	"github.com/tenancy/platform/platform/provision"
	"github.com/tenancy/platform/platform/schema"
	"github.com/tenancy/platform/tenant"
)

func migrateCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("migrate: missing verb (status, up, down, force, create)")
	}
	verb, args := args[0], args[1:]
	fs := flag.NewFlagSet("migrate "+verb, flag.ContinueOnError)
	out := outputFlag(fs)
	var (
		slug, kind, dir string
		all, yes        bool
		parallel, steps int
	)
	switch verb {
	case "status":
		fs.StringVar(&slug, "tenant", "", "only this tenant")
	case "up":
		fs.StringVar(&slug, "tenant", "", "migrate this tenant")
		fs.BoolVar(&all, "all", false, "migrate the templates and every tenant")
		fs.IntVar(&parallel, "parallel", 4, "tenants migrated at once")
	case "down":
		fs.StringVar(&slug, "tenant", "", "tenant to revert")
		fs.IntVar(&steps, "steps", 1, "migrations to revert")
	case "force":
		fs.StringVar(&slug, "tenant", "", "tenant to force")
		fs.BoolVar(&yes, "yes", false, "confirm")
	case "create":
		fs.StringVar(&kind, "kind", "", "catalog, common, restaurant or institution")
		fs.StringVar(&dir, "dir", "migrations", "the migrations directory of the source tree")
	default:
		return usagef("migrate: unknown verb %q", verb)
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := checkOutput(*out); err != nil {
		return err
	}
	wantPos := map[string]int{"force": 1, "create": 1}[verb]
	if len(pos) != wantPos {
		return usagef("migrate %s: want %d positional argument(s), got %d", verb, wantPos, len(pos))
	}
	if verb == "create" {
		up, down, err := createMigration(dir, kind, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s\ncreated %s\n", up, down)
		return nil
	}
	var version int
	if verb == "force" {
		if version, err = strconv.Atoi(pos[0]); err != nil || version < -1 {
			return tenant.Errorf(tenant.EInvalid, "VERSION must be a migration number, not %q", pos[0])
		}
		if !yes {
			return usagef("migrate force: refusing without --yes (it sets the version without running anything)")
		}
	}
	if verb == "up" && (parallel < 1 || parallel > 64) {
		return tenant.Errorf(tenant.EInvalid, "--parallel must be between 1 and 64")
	}
	if (verb == "down" || verb == "force") && slug == "" {
		return usagef("migrate %s: --tenant SLUG is required", verb)
	}

	a, err := openApp(ctx, getenv)
	if err != nil {
		return err
	}
	defer a.Close()
	// The service records every operator action with this actor.
	ctx = tenant.WithActor(ctx, tenant.Actor{Name: a.actor, Source: "cli"})

	var results []provision.MigrationResult
	switch verb {
	case "status":
		if results, err = a.svc.MigrationStatus(ctx, slug); err != nil {
			return err
		}
		return printMigrations(stdout, *out, results)
	case "up":
		results, err = a.svc.MigrateUp(ctx, provision.MigrateOptions{Tenant: slug, All: all, Parallel: parallel})
	case "down":
		var r provision.MigrationResult
		r, err = a.svc.MigrateDown(ctx, slug, steps)
		if r.Name != "" {
			results = []provision.MigrationResult{r}
		}
	case "force":
		var r provision.MigrationResult
		r, err = a.svc.MigrateForce(ctx, slug, version)
		if r.Name != "" {
			results = []provision.MigrationResult{r}
		}
	}
	failed := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
		}
	}
	if err == nil && failed > 0 {
		err = fmt.Errorf("%d of %d databases failed to migrate", failed, len(results))
	}
	if err != nil && len(results) == 0 {
		return err
	}
	if perr := printMigrations(stdout, *out, results); perr != nil {
		return perr
	}
	return err
}

func printMigrations(w io.Writer, format string, rs []provision.MigrationResult) error {
	js := adminapi.MigrationViews(rs)
	if format == "json" {
		return writeJSON(w, js)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tVERSION\tLATEST\tPENDING\tDIRTY\tRESULT")
	for _, j := range js {
		res := "ok"
		switch {
		case j.Error != "":
			res = "FAILED: " + j.Error
		case j.Skipped:
			res = "skipped (maintenance)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%t\t%s\n", j.Name, j.Kind, j.Version, j.Latest, j.Pending, j.Dirty, res)
	}
	return tw.Flush()
}

var migrationNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// createMigration writes the next numbered, empty up/down pair. Versions
// are unique across common/ and every kind, since a tenant's sequence is
// their union: a kind's next version follows common/ and itself, and a
// common/ version follows everything.
func createMigration(dir, kind, name string) (string, string, error) {
	known := false
	for _, d := range migrations.Dirs {
		known = known || d == kind
	}
	if !known {
		return "", "", tenant.Errorf(tenant.EInvalid, "--kind must be catalog, common, restaurant or institution, not %q", kind)
	}
	if !migrationNameRE.MatchString(name) {
		return "", "", tenant.Errorf(tenant.EInvalid, "migration name %q: lower-case letters, digits and _", name)
	}
	scan := []string{kind}
	switch kind {
	case "common":
		scan = []string{"common", "restaurant", "institution"}
	case "restaurant", "institution":
		scan = []string{"common", kind}
	}
	var next uint = 1
	for _, d := range scan {
		vs, err := schema.Versions(os.DirFS(filepath.Join(dir, d)))
		if err != nil {
			return "", "", tenant.Errorf(tenant.EInvalid, "read %s: %v (run from the repository root or pass --dir)", filepath.Join(dir, d), err)
		}
		if len(vs) > 0 && vs[len(vs)-1] >= next {
			next = vs[len(vs)-1] + 1
		}
	}
	base := filepath.Join(dir, kind, fmt.Sprintf("%06d_%s", next, name))
	up, down := base+".up.sql", base+".down.sql"
	for _, f := range []struct{ path, text string }{
		{up, "-- " + name + ": write the change here. Runs as the database's owner role.\n"},
		{down, "-- Revert " + name + ": undo exactly what the .up.sql does.\n"},
	} {
		fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return "", "", err
		}
		_, err = fh.WriteString(f.text)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", "", err
		}
	}
	return up, down, nil
}
