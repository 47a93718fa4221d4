package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/tenancy/platform/platform/importer"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/tenant"
)

// importTenant is `platform tenant import SLUG --from URL --mapping
// NAME|FILE [--source NAME] [--dry-run] [-o json]`: a legacy database into
// the tenant, in one transaction, through the admin connection as the
// tenant's owner.
func importTenant(ctx context.Context, a *app, req importer.Request, out string, stdout io.Writer, log *slog.Logger) error {
	svc := importer.New(importer.Config{Catalog: a.cat, Servers: map[string]*pgadmin.Server{"default": a.admin},
		BcryptCost: a.bcryptCost, Logger: log})
	rep, err := svc.Import(ctx, req)
	if err != nil {
		return err
	}
	if out == "json" {
		err = writeJSON(stdout, rep)
	} else {
		err = rep.WriteText(stdout)
	}
	if err == nil && !rep.CountsMatch {
		// Only a dry run gets here (a real import that does not add up
		// rolls back): a script must not read it as a clean rehearsal.
		err = tenant.Errorf(tenant.EConflict, "the counts do not add up: see the report")
	}
	return err
}
