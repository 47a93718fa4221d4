package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/tenancy/platform/platform/importer"
	"github.com/tenancy/platform/platform/pgadmin"
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
		return writeJSON(stdout, rep)
	}
	return rep.WriteText(stdout)
}
