package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/tenant"
)

// record writes the operator audit row of one operation, with the actor
// of ctx (the CLI and the operator API set it), and returns err unchanged:
// every front end records the same actions under the same names because
// only the service records them. A failure to write the row is logged, not
// returned: the operation already happened, and hiding its result (a
// one-time password, say) would be worse.
func (s *Service) record(ctx context.Context, action, slug string, details map[string]any, err error) error {
	a, ok := tenant.ActorFrom(ctx)
	if !ok {
		a = tenant.Actor{Name: "unknown", Source: "cli"}
	}
	if details == nil {
		details = map[string]any{}
	}
	if a.IP != "" {
		details["ip"] = a.IP
	}
	if err != nil {
		details["error_code"] = tenant.ErrorCode(err)
	}
	aerr := s.cat.RecordOperatorAction(context.WithoutCancel(ctx), catalog.OperatorAction{
		Actor: a.Name, Source: a.Source, Action: action, Tenant: slug, Failed: err != nil, Details: details})
	if aerr != nil {
		tenant.Logger(ctx, s.log).ErrorContext(ctx, "operator audit write failed", "action", action, "tenant", slug, "err", aerr)
	}
	return err
}

// auditSlug is what the audit records of a slug given by a caller: the
// slug if it is one, nothing otherwise (it may hold anything, NUL included).
func auditSlug(slug string) string {
	if tenant.ValidateSlug(slug) != nil {
		return ""
	}
	return slug
}

// auditText keeps short, clean text for the audit details, nothing else.
func auditText(s string) string {
	if tenant.ValidateText("", s, 64) != nil {
		return ""
	}
	return s
}

// withSlugLock runs fn holding the catalog's advisory lock of slug, so that
// creations, purges, resets and deletes of one tenant never overlap, from
// whichever process or replica.
func (s *Service) withSlugLock(ctx context.Context, slug string, fn func() error) error {
	return s.cat.WithLock(ctx, "tenant:"+slug, fn)
}

// checkDomainCap refuses adding domains beyond tenant.MaxDomains.
func checkDomainCap(have, adding []string) error {
	n := len(have)
	for _, d := range adding {
		if !slices.Contains(have, d) {
			n++
		}
	}
	if n > tenant.MaxDomains {
		return tenant.Errorf(tenant.EInvalid, "too many domains: a tenant has at most %d custom domains (it has %d)", tenant.MaxDomains, len(have))
	}
	return nil
}

// upgradeRoles brings a tenant's login role to the current naming: a role
// under its legacy name tenant_<s>_app is renamed to tenant.AppRole
// (ALTER ROLE … RENAME keeps its SCRAM verifier, grants and memberships),
// and the login role joins tenant.LoginGroup. It is idempotent and cheap
// when there is nothing to do, and refuses to rename a legacy role that is
// (or may be) another tenant's owner role: with the old names, the owner
// role of "<s>-app" was the login role of "<s>". A tenant still
// provisioning whose roles step has not run has no login role to upgrade.
func (s *Service) upgradeRoles(ctx context.Context, srv *pgadmin.Server, t *tenant.Tenant) error {
	app, legacy := tenant.AppRole(t.Slug), tenant.LegacyAppRole(t.Slug)
	cur, err := srv.RoleInfo(ctx, app)
	if err != nil {
		return err
	}
	if !cur.Exists {
		if t.Status == tenant.StatusProvisioning {
			done, err := s.cat.DoneSteps(ctx, t.ID)
			if err != nil {
				return err
			}
			if _, ok := done[stepRoles]; !ok {
				return nil // no login role yet: the creation makes it under the new name
			}
		}
		old, err := srv.RoleInfo(ctx, legacy)
		if err != nil || !old.Exists {
			return err // none to rename (a half-made tenant, or gone by hand)
		}
		if err := s.checkLegacyIsOurs(ctx, srv, t, legacy, old); err != nil {
			return err
		}
		if err := srv.RenameRole(ctx, legacy, app); err != nil && !errors.Is(err, pgadmin.ErrRoleExists) {
			return fmt.Errorf("rename role %s to %s: %w", legacy, app, err)
		}
		s.log.InfoContext(ctx, "renamed tenant login role", "tenant", t.Slug, "from", legacy, "to", app)
		if cur, err = srv.RoleInfo(ctx, app); err != nil {
			return err
		}
	}
	if slices.Contains(cur.MemberOf, tenant.LoginGroup) {
		return nil
	}
	if err := srv.EnsureRole(ctx, tenant.LoginGroup); err != nil {
		return err
	}
	return srv.GrantMembership(ctx, tenant.LoginGroup, app)
}

// checkLegacyIsOurs refuses a legacy-named role that another tenant may own
// things through: the collision of finding B1, which needs a person.
func (s *Service) checkLegacyIsOurs(ctx context.Context, srv *pgadmin.Server, t *tenant.Tenant, legacy string, r pgadmin.Role) error {
	collision := func(why string) error {
		return tenant.Errorf(tenant.EConflict, "role %s of tenant %q is also %s (names collided before login roles were renamed): not renamed; move that tenant's objects to its own roles by hand, then run this again", legacy, t.Slug, why)
	}
	other := t.Slug + "-app" // the only slug whose owner role is this name
	if len(r.Owns) > 0 {
		return collision(fmt.Sprintf("the owner of database %s", r.Owns[0]))
	}
	if tenant.ValidateSlug(other) == nil {
		if _, err := s.cat.TenantBySlug(ctx, other); err == nil {
			return collision(fmt.Sprintf("the owner role of tenant %q", other))
		} else if tenant.ErrorCode(err) != tenant.ENotFound {
			return err
		}
	}
	if !r.CanLogin && t.Status != tenant.StatusDeleted {
		return collision("a role that cannot log in (an owner role?)")
	}
	return nil
}
