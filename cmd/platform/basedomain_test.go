package main

import (
	"strings"
	"testing"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// B5: the base domain is the catalog's. The first command stores the
// configured one; a later command with PLATFORM_BASE_DOMAIN unset uses the
// stored one (its hosts and its custom-domain check), and one configured
// with another base is refused before it changes anything.
func TestBaseDomainIsTheCatalogs(t *testing.T) {
	c := newCLI(t)
	c.env["PLATFORM_BASE_DOMAIN"] = "tenants.example.org"
	c.ok("tenant", "list")

	delete(c.env, "PLATFORM_BASE_DOMAIN")
	slug := platformtest.Slug("bd")
	out := c.ok("tenant", "create", slug, "--kind", "restaurant", "--name", "Base Domain")
	if !strings.Contains(out, slug+".tenants.example.org") {
		t.Errorf("create without PLATFORM_BASE_DOMAIN did not use the catalog's base domain:\n%s", out)
	}
	// A custom domain under the catalog's base is refused although this
	// process was given no base domain at all.
	_, _, err := c.run("tenant", "create", slug+"-b", "--kind", "restaurant", "--name", "B",
		"--domain", "other.tenants.example.org")
	if tenant.ErrorCode(err) != tenant.EInvalid && tenant.ErrorCode(err) != tenant.EConflict {
		t.Errorf("custom domain under the catalog's base: %v, want it refused", err)
	}

	c.env["PLATFORM_BASE_DOMAIN"] = "elsewhere.example.net"
	_, _, err = c.run("tenant", "list")
	if tenant.ErrorCode(err) != tenant.EConflict || !strings.Contains(err.Error(), "tenants.example.org") {
		t.Fatalf("a command with another base domain: %v, want a conflict naming the catalog's", err)
	}
}
