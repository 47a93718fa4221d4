package pool

import (
	"container/list"
	"sync"
)

// sem is a counting semaphore whose size can change while it is in use:
// a counter under a mutex with a FIFO of waiters, each slot handed to the
// first waiter when it frees up. Growing it hands the new slots to waiters
// at once; shrinking it takes nothing away from holders but grants no slot
// until the count is below the new limit.
type sem struct {
	mu      sync.Mutex
	n       int // slots held (may exceed limit after a shrink, or by force)
	limit   int
	peak    int
	waiters list.List // of *waiter, first come first served
}

// waiter is one queued acquire; ready is closed when it holds a slot.
type waiter struct {
	ready chan struct{}
	elem  *list.Element
}

func newSem(limit int) *sem { return &sem{limit: limit} }

// tryAcquire takes a slot if one is free and nobody queues for it.
func (s *sem) tryAcquire() bool {
	s.mu.Lock()
	ok := s.n < s.limit && s.waiters.Len() == 0
	if ok {
		s.takeLocked()
	}
	s.mu.Unlock()
	return ok
}

// force takes a slot regardless of the limit; a release gives it back.
func (s *sem) force() {
	s.mu.Lock()
	s.takeLocked()
	s.mu.Unlock()
}

// enqueue takes a free slot (nil: the caller holds it) or queues a waiter
// that the caller waits on and, if it gives up, cancels.
func (s *sem) enqueue() *waiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n < s.limit && s.waiters.Len() == 0 {
		s.takeLocked()
		return nil
	}
	w := &waiter{ready: make(chan struct{})}
	w.elem = s.waiters.PushBack(w)
	return w
}

// cancel withdraws a waiter; it reports whether the waiter was granted a
// slot meanwhile, which the caller then holds.
func (s *sem) cancel(w *waiter) (granted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-w.ready:
		return true
	default:
	}
	s.waiters.Remove(w.elem)
	s.grantLocked() // the waiters behind it may fit
	return false
}

func (s *sem) release() {
	s.mu.Lock()
	s.n--
	s.grantLocked()
	s.mu.Unlock()
}

// setLimit resizes the semaphore; holders keep their slots.
func (s *sem) setLimit(limit int) {
	s.mu.Lock()
	s.limit = limit
	s.grantLocked()
	s.mu.Unlock()
}

func (s *sem) takeLocked() {
	s.n++
	s.peak = max(s.peak, s.n)
}

func (s *sem) grantLocked() {
	for s.n < s.limit && s.waiters.Len() > 0 {
		w := s.waiters.Remove(s.waiters.Front()).(*waiter)
		s.takeLocked()
		close(w.ready)
	}
}

// stats returns the slots held, the limit, the highest count held and the
// number of waiters.
func (s *sem) stats() (n, limit, peak, waiting int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n, s.limit, s.peak, s.waiters.Len()
}
