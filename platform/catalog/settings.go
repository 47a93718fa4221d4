package catalog

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/tenant"
)

// settingBaseDomain is the key of the base domain in platform_settings.
const settingBaseDomain = "base_domain"

// EnsureBaseDomain makes configured (PLATFORM_BASE_DOMAIN) the catalog's
// base domain if it has none yet, and returns the stored one. A catalog
// whose base domain differs refuses: tenants live at <slug>.<base>, and a
// process that believed another base would check custom domains (and
// route subdomains) against the wrong one.
func (db *DB) EnsureBaseDomain(ctx context.Context, configured string) (string, error) {
	base, err := tenant.ValidateBaseDomain(configured)
	if err != nil {
		return "", err
	}
	var stored string
	// DO UPDATE with the stored value rather than DO NOTHING, so that one
	// statement returns the row whether it inserted it or not.
	err = db.pool.QueryRow(ctx, `
		INSERT INTO platform_settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = platform_settings.value
		RETURNING value`, settingBaseDomain, base).Scan(&stored)
	if err != nil {
		return "", db.translate(err, "store the base domain", "")
	}
	if stored != base {
		return stored, tenant.Errorf(tenant.EConflict, "the catalog's base domain is %s but PLATFORM_BASE_DOMAIN says %s", stored, base)
	}
	return stored, nil
}

// BaseDomain returns the catalog's base domain; ENotFound while no process
// has set it (EnsureBaseDomain).
func (db *DB) BaseDomain(ctx context.Context) (string, error) {
	return baseDomain(ctx, db.pool)
}

type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func baseDomain(ctx context.Context, q queryRower) (string, error) {
	var base string
	err := q.QueryRow(ctx, `SELECT value FROM platform_settings WHERE key = $1`, settingBaseDomain).Scan(&base)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", tenant.Errorf(tenant.ENotFound, "the catalog has no base domain yet (set by the first command run with PLATFORM_BASE_DOMAIN)")
	}
	return base, translate(err, "read the base domain", "")
}

// underBase reports whether host is the base domain or a name under it:
// those hosts are the platform's (<slug>.<base>), never a custom domain.
func underBase(host, base string) bool {
	return base != "" && (host == base || strings.HasSuffix(host, "."+base))
}
