package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/platform/seed"
)

// checkSeedSize turns a bad --size into a usage error, before anything is
// opened.
func checkSeedSize(size string) error {
	if _, err := seed.ParseSize(size); err != nil {
		return usagef("tenant seed: --size must be small or large, not %q", size)
	}
	return nil
}

// seedTenant is `platform tenant seed SLUG [--size small|large]`: demo
// data in an empty tenant, through the admin connection as the tenant's
// owner.
func seedTenant(ctx context.Context, a *app, slug, size, out string, stdout io.Writer) error {
	sz, err := seed.ParseSize(size)
	if err != nil {
		return err
	}
	res, err := seed.New(a.cat, map[string]*pgadmin.Server{"default": a.admin}).Seed(ctx, slug, sz)
	if err != nil {
		return err
	}
	if out == "json" {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "tenant %s seeded with %s %s data in %s\n", res.Slug, res.Size, res.Kind,
		(time.Duration(res.DurationMS) * time.Millisecond).String())
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS")
	for _, tc := range res.Tables {
		fmt.Fprintf(tw, "%s\t%d\n", tc.Table, tc.Rows)
	}
	fmt.Fprintf(tw, "total\t%d\n", res.Rows)
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "database size: %s\n", humanSize(res.DatabaseBytes))
	return err
}
