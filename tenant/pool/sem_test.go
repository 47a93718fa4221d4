package pool

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

func TestSemResize(t *testing.T) {
	s := newSem(1)
	if !s.tryAcquire() || s.tryAcquire() {
		t.Fatal("a semaphore of 1 should grant exactly one slot")
	}
	w1, w2 := s.enqueue(), s.enqueue()
	if w1 == nil || w2 == nil {
		t.Fatal("full semaphore granted a slot to enqueue")
	}
	s.setLimit(3) // growing hands both new slots to the waiters, in order
	for i, w := range []*waiter{w1, w2} {
		select {
		case <-w.ready:
		default:
			t.Fatalf("waiter %d not granted after the semaphore grew", i+1)
		}
	}
	s.setLimit(1) // shrinking: 3 held, nothing taken away, nothing granted
	if n, limit, peak, _ := s.stats(); n != 3 || limit != 1 || peak != 3 {
		t.Fatalf("after shrink: n %d limit %d peak %d", n, limit, peak)
	}
	w3 := s.enqueue()
	s.release()
	s.release()
	select {
	case <-w3.ready:
		t.Fatal("granted with 1 held of a limit of 1")
	default:
	}
	s.release()
	select {
	case <-w3.ready:
	default:
		t.Fatal("not granted once under the limit")
	}
	if s.cancel(w3) != true {
		t.Error("cancel of a granted waiter must report the slot it holds")
	}
	s.release()
	w4 := s.enqueue() // granted at once: nil
	if w4 != nil {
		t.Fatal("free slot queued")
	}
	w5 := s.enqueue()
	if s.cancel(w5) {
		t.Error("cancelled waiter reported granted")
	}
	s.release()
	if n, _, _, waiting := s.stats(); n != 0 || waiting != 0 {
		t.Errorf("end: n %d waiting %d", n, waiting)
	}
}

// TestSemConcurrentResize: holders never exceed the limit in force when
// their slot was granted, while the limit changes and waiters give up.
func TestSemConcurrentResize(t *testing.T) {
	s := newSem(2)
	var limit atomic.Int32
	limit.Store(2)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var resized sync.WaitGroup
	resized.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			l := 1 + i%4
			s.mu.Lock() // read n and set the limit atomically, for the check below
			s.limit = l
			limit.Store(int32(l))
			s.grantLocked()
			s.mu.Unlock()
		}
	})
	for range 16 {
		wg.Go(func() {
			for i := range 300 {
				w := s.enqueue()
				if w != nil {
					if i%3 == 0 {
						if !s.cancel(w) {
							continue
						}
					} else {
						<-w.ready
					}
				}
				s.mu.Lock()
				if s.n > 4 { // the largest limit: grants never pass the limit of their moment
					t.Errorf("%d held, never more than 4 may be granted", s.n)
				}
				s.mu.Unlock()
				s.release()
			}
		})
	}
	wg.Wait()
	close(stop)
	resized.Wait()
	if n, _, peak, waiting := s.stats(); n != 0 || waiting != 0 || peak > 4 {
		t.Errorf("end: n %d waiting %d peak %d", n, waiting, peak)
	}
}

// TestBudgetAcquireCancelled: a dial that gives up (context or BudgetWait)
// holds no slot afterwards, even when one was granted as it gave up.
func TestBudgetAcquireCancelled(t *testing.T) {
	b := NewBudget(1)
	if err := b.acquire(context.Background(), "a", time.Second); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.acquire(ctx, "b", time.Minute) }()
	platformtest.Eventually(t, 5*time.Second, "a dial waiting", func() bool { return b.Waiting() == 1 })
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("cancelled dial: %v", err)
	}
	if err := b.acquire(context.Background(), "c", 50*time.Millisecond); tenant.ErrorCode(err) != tenant.ECapacity {
		t.Fatalf("full budget: %v, want capacity_exhausted", err)
	}
	b.release()
	if n := b.InUse(); n != 0 {
		t.Errorf("%d slots held after the only holder released", n)
	}
}
