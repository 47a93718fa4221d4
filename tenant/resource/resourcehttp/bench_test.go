package resourcehttp_test

import (
	"fmt"
	"testing"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/domaintest"
)

// BenchmarkList is a typical list (50 rows) through the router, identity
// and the engine, for profiles: go test -run - -bench List -cpuprofile.
func BenchmarkList(b *testing.B) {
	h := domaintest.New(b, mount)
	tn := h.Tenant(b, tenant.Restaurant)
	c := h.Admin(b, tn)
	for i := range 60 {
		c.Do("POST", "/api/test/categories", map[string]any{"name": fmt.Sprintf("Categoría %d", i), "position": i}).Want(b, 201, "")
	}
	b.ResetTimer()
	for b.Loop() {
		c.Do("GET", "/api/test/categories?limit=50", nil).Want(b, 200, "")
	}
}
