package backup

import (
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/tenant"
)

// TestMemoryBound: a backup of a tenant with ~20 MB of data allocates and
// holds far less than the data: nothing buffers the dump. Not parallel, so
// the process-wide memory figures are this test's (parallel tests wait
// until sequential ones finish).
func TestMemoryBound(t *testing.T) {
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	seed(t, e, tn, 200000, 100) // ~20 MB of text
	st := fileStore(t)
	svc := newService(e, st, nil, Config{})

	var b *Backup
	var err error
	alloc, live := measure(t, func() { b, err = svc.Run(e.Ctx, tn.Slug, ReasonManual) })
	if err != nil {
		t.Fatal(err)
	}
	if b.RowCounts["bt_items"] != 200000 {
		t.Fatalf("counts %v", b.RowCounts)
	}
	t.Logf("artifact %d bytes; allocated %d bytes; live heap grew by at most %d bytes", b.SizeBytes, alloc, live)
	if b.SizeBytes < 8<<20 {
		t.Fatalf("artifact of %d bytes is too small to tell anything", b.SizeBytes)
	}
	// One crypt chunk (1 MiB) plus its sealed copy, exec's copy buffer,
	// pgx and JSON: a few MiB whatever the size of the database.
	if live > 8<<20 {
		t.Errorf("live heap grew by %d bytes for a %d-byte artifact", live, b.SizeBytes)
	}
	if alloc > uint64(b.SizeBytes)/2 {
		t.Errorf("allocated %d bytes for a %d-byte artifact: something copies the stream", alloc, b.SizeBytes)
	}
}

// measure runs fn and returns the bytes it allocated and the largest
// growth of the live heap a GC measured meanwhile (sampled every 2 ms).
func measure(t *testing.T, fn func()) (alloc, live uint64) {
	t.Helper()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	var before, after runtime.MemStats
	runtime.GC()
	base := read()
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			if v := read(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(done)
	<-stopped
	runtime.ReadMemStats(&after)
	if v := read(); v > peak.Load() {
		peak.Store(v)
	}
	if p := peak.Load(); p > base {
		live = p - base
	}
	return after.TotalAlloc - before.TotalAlloc, live
}
