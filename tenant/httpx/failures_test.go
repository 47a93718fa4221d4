package httpx

import (
	"fmt"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func newTestFailures(limit int, maxAddrs int) (*Failures, *fakeClock) {
	f := NewFailures(limit, time.Minute, maxAddrs)
	clk := &fakeClock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	f.now = clk.now
	return f, clk
}

func TestFailuresRowsAndLimit(t *testing.T) {
	f, clk := newTestFailures(3, 0)
	const ip = "192.0.2.1"
	if n, _ := f.Fail(ip); n != 1 {
		t.Fatalf("first failure: row of %d, want 1", n)
	}
	for i := 2; i <= 5; i++ {
		clk.t = clk.t.Add(time.Second)
		if n, _ := f.Fail(ip); n != 0 {
			t.Fatalf("failure %d: a second row within the minute (%d)", i, n)
		}
	}
	if w := f.Blocked(ip); w <= 0 || w > time.Minute {
		t.Fatalf("after 5 failures (limit 3): wait %s", w)
	}
	if w := f.Blocked("192.0.2.2"); w != 0 {
		t.Errorf("another address is blocked: %s", w)
	}
	// The window ends: no longer blocked; the next failure writes the row
	// of the 4 failures since the last one, plus itself.
	clk.t = clk.t.Add(time.Minute)
	if w := f.Blocked(ip); w != 0 {
		t.Errorf("blocked after the window: %s", w)
	}
	if n, _ := f.Fail(ip); n != 5 {
		t.Errorf("row a minute later: %d failures, want 5", n)
	}
}

func TestFailuresIPv6PerSlash64(t *testing.T) {
	f, _ := newTestFailures(2, 0)
	f.Fail("2001:db8:1:2::1")
	f.Fail("2001:db8:1:2:ffff::9")
	if w := f.Blocked("2001:db8:1:2:abcd::1"); w <= 0 {
		t.Error("a /64 rotating its addresses is not counted as one")
	}
	if w := f.Blocked("2001:db8:1:3::1"); w != 0 {
		t.Error("the next /64 is blocked too")
	}
	if f.Len() != 1 {
		t.Errorf("%d entries for one /64", f.Len())
	}
	// IPv4-mapped addresses count as IPv4.
	f.Fail("::ffff:192.0.2.1")
	f.Fail("192.0.2.1")
	if w := f.Blocked("192.0.2.1"); w <= 0 {
		t.Error("mapped and plain IPv4 counted apart")
	}
}

func TestFailuresBounded(t *testing.T) {
	f, clk := newTestFailures(5, 100)
	total := 0
	rows := 0
	for i := range 1000 {
		clk.t = clk.t.Add(time.Millisecond)
		for range 2 { // the second failure waits for the address's next row
			n, others := f.Fail(fmt.Sprintf("10.0.%d.%d", i/250, i%250))
			total++
			rows += n + others
		}
		if f.Len() > 100 {
			t.Fatalf("%d addresses tracked, max 100", f.Len())
		}
	}
	// A second failure of addresses still tracked is pending; evicted ones
	// were handed on. Every failure is in a row or still pending.
	pending := 0
	for _, e := range f.addrs {
		pending += e.pending
	}
	if rows+pending+f.evicted != total || rows <= 1000 {
		t.Errorf("rows %d + pending %d + evicted %d != %d failures", rows, pending, f.evicted, total)
	}
	// Quiet addresses go first: after a window, a new address evicts them
	// without losing anything.
	clk.t = clk.t.Add(2 * time.Minute)
	f.Fail("198.51.100.1")
	if f.Len() > 100 {
		t.Errorf("%d addresses after a quiet window", f.Len())
	}
}
