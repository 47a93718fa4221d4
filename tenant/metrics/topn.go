package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// OtherTenant is the tenant label of the requests of every tenant outside
// the top N. It cannot be a slug (slugs start with a letter), so no
// tenant's series is mistaken for it.
const OtherTenant = "_other"

// TopN counts requests per tenant for at most n tenants at a time: the
// space-saving algorithm (Metwally et al.). A tenant not tracked while
// all n slots are taken replaces the one with the lowest estimate, and
// inherits that estimate for ranking, so a tenant that becomes heavy gets
// in quickly and a light one cannot stay in. What is exposed is not the
// estimate but the exact count since the tenant got its slot; the count
// of an evicted tenant moves to OtherTenant. So every series only grows,
// the series together add up to every request counted, and at most n+1
// series exist at any time.
type TopN struct {
	mu      sync.Mutex
	n       int
	slots   []topSlot
	index   map[string]int // slug → position in slots
	other   uint64
	evicted uint64
}

type topSlot struct {
	slug     string
	estimate uint64 // space-saving count: exact plus what it inherited
	exact    uint64 // requests since the slug got this slot
}

// NewTopN tracks at most n tenants (at least 1).
func NewTopN(n int) *TopN {
	n = max(n, 1)
	return &TopN{n: n, slots: make([]topSlot, 0, n), index: make(map[string]int, n)}
}

// Add counts one request of slug. slug must outlive the call (it becomes
// a label value): the resolver's tenants' slugs do.
func (t *TopN) Add(slug string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i, ok := t.index[slug]; ok {
		t.slots[i].estimate++
		t.slots[i].exact++
		return
	}
	if len(t.slots) < t.n {
		t.index[slug] = len(t.slots)
		t.slots = append(t.slots, topSlot{slug: slug, estimate: 1, exact: 1})
		return
	}
	// A linear scan for the minimum: n is small (tens), and it runs only
	// for a tenant outside the top.
	m := 0
	for i := range t.slots {
		if t.slots[i].estimate < t.slots[m].estimate {
			m = i
		}
	}
	old := t.slots[m]
	delete(t.index, old.slug)
	t.other += old.exact
	t.evicted++
	t.index[slug] = m
	t.slots[m] = topSlot{slug: slug, estimate: old.estimate + 1, exact: 1}
}

// TenantCount is one exposed series of a TopN.
type TenantCount struct {
	Slug  string
	Count uint64
}

// Snapshot returns the tracked tenants' exact counts, the count of
// OtherTenant and how many times a tenant lost its slot (churn: high
// when N is too small for the traffic's spread).
func (t *TopN) Snapshot() (tracked []TenantCount, other, evicted uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tracked = make([]TenantCount, len(t.slots))
	for i, s := range t.slots {
		tracked[i] = TenantCount{Slug: s.slug, Count: s.exact}
	}
	return tracked, t.other, t.evicted
}

// topCollector exposes a TopN at scrape time.
type topCollector struct {
	top             *TopN
	desc, evictions *prometheus.Desc
}

func (c *topCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc; ch <- c.evictions }

func (c *topCollector) Collect(ch chan<- prometheus.Metric) {
	tracked, other, evicted := c.top.Snapshot()
	for _, s := range tracked {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(s.Count), s.Slug)
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(other), OtherTenant)
	ch <- prometheus.MustNewConstMetric(c.evictions, prometheus.CounterValue, float64(evicted))
}
