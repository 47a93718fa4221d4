package tenant

import "testing"

func BenchmarkNormalizeHost(b *testing.B) {
	for b.Loop() {
		NormalizeHost("demo-restaurant.localhost:8080")
	}
}
