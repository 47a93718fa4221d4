package tenant_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The direction of imports (DESIGN.md, "Layout"): the domain package and
// the request-path packages below it import no HTTP where they need none,
// the resolver no control plane, the operator API not the tenant router.
func TestImportBoundaries(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list imports: %v", err)
	}
	const mod = "github.com/tenancy/platform/"
	rules := []struct {
		pkg       string
		forbidden []string // import path prefixes
	}{
		{"tenant", []string{"net/http", "github.com/gofiber/", "github.com/valyala/", "github.com/jackc/", "github.com/hashicorp/", mod + "platform/"}},
		{"tenant/resolve", []string{mod + "platform/", "github.com/gofiber/", "net/http"}},
		{"tenant/pool", []string{mod + "platform/", "github.com/gofiber/"}},
		{"tenant/secretcache", []string{mod + "platform/", "github.com/gofiber/"}},
		{"tenant/auth", []string{"github.com/gofiber/"}},
		{"platform/adminapi", []string{mod + "tenant/router"}},
		{"platform/provision", []string{"github.com/gofiber/", mod + "tenant/router", mod + "tenant/httpx"}},
		{"platform/catalog", []string{"github.com/gofiber/", mod + "tenant/"}},
	}
	for _, r := range rules {
		out, err := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}", mod+r.pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", r.pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range r.forbidden {
				if strings.HasPrefix(dep, f) && dep != mod+r.pkg {
					t.Errorf("%s imports %s (directly or not)", r.pkg, dep)
				}
			}
		}
	}
}
