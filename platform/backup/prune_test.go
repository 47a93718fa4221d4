package backup

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/platform/provision"
	"github.com/tenancy/platform/tenant"
)

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// history builds backup rows with chosen start times and tiny objects in
// the service's stores, the way Run leaves them: completed and verified
// rows have data and manifest, failed and running ones maybe partial data.
type history struct {
	t      *testing.T
	e      *tenanttest.Env
	svc    *Service
	labels map[string]string // id → label, for messages
}

func (h *history) add(tn *tenant.Tenant, label, status string, started time.Time, objects bool) string {
	h.t.Helper()
	id := newUUID()
	var r catalog.BackupResult
	keys := []string{DataKey(tn.ID, id)}
	if status == catalog.BackupCompleted || status == catalog.BackupVerified {
		r = catalog.BackupResult{Location: location(h.svc.store, DataKey(tn.ID, id)), SizeBytes: 4,
			SHA256: strings.Repeat("0", 64), WrappedKey: "vault:v1:x", ServerVersion: "18", DumpVersion: "18",
			RowCounts: map[string]int64{"t": 1}, FinishedAt: started.Add(time.Minute)}
		if h.svc.copy != nil {
			r.CopyLocation = location(h.svc.copy, DataKey(tn.ID, id))
		}
		keys = append(keys, ManifestKey(tn.ID, id))
	}
	if _, err := h.e.Catalog.InsertBackup(h.e.Ctx, id, tn.ID, ReasonScheduled, status, started, r); err != nil {
		h.t.Fatalf("insert %s: %v", label, err)
	}
	if objects {
		for _, st := range h.svc.stores() {
			for _, k := range keys {
				if _, err := st.Put(h.e.Ctx, k, strings.NewReader("data")); err != nil {
					h.t.Fatalf("put %s: %v", k, err)
				}
			}
		}
	}
	h.labels[id] = label
	return id
}

// state is what the catalog and the stores hold for a tenant: status by
// id, and the object keys of each store.
type state struct {
	status  map[string]string
	objects [][]string
}

func (h *history) state(tn *tenant.Tenant) state {
	h.t.Helper()
	bs, err := h.e.Catalog.Backups(h.e.Ctx, tn.Slug)
	if err != nil {
		h.t.Fatal(err)
	}
	s := state{status: map[string]string{}}
	for _, b := range bs {
		s.status[b.ID] = b.Status
	}
	for _, st := range h.svc.stores() {
		keys, err := st.List(h.e.Ctx, tn.ID+"/")
		if err != nil {
			h.t.Fatal(err)
		}
		s.objects = append(s.objects, keys)
	}
	return s
}

func (h *history) sameState(what string, tn *tenant.Tenant, want state) {
	h.t.Helper()
	got := h.state(tn)
	if fmt.Sprint(got.status) != fmt.Sprint(want.status) || fmt.Sprint(got.objects) != fmt.Sprint(want.objects) {
		h.t.Errorf("%s changed %s:\nbefore %v\nafter  %v", what, tn.Slug, want, got)
	}
}

func createIn(t *testing.T, e *tenanttest.Env, tz string) *tenant.Tenant {
	t.Helper()
	res, err := e.Service.Create(e.Ctx, provision.CreateRequest{Slug: "prune-" + strings.ToLower(newUUID()[:8]),
		Kind: string(tenant.Restaurant), Name: "Prune", TimeZone: tz})
	if err != nil {
		t.Fatal(err)
	}
	tn, err := e.Catalog.TenantBySlug(e.Ctx, res.Tenant.Slug)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func TestPruneRetention(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	st, cp := fileStore(t), fileStore(t)
	svc := newService(e, st, cp, Config{})
	h := &history{t: t, e: e, svc: svc, labels: map[string]string{}}

	// Tenant a: America/Santiago (UTC-4 in June), default policy, one
	// backup a day at 23:30 local for 400 days: in UTC each is already the
	// next day, so a policy applied in UTC would keep other ones.
	santiago, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 15, 23, 45, 0, 0, santiago) // a Monday
	day := func(loc *time.Location, i int, hour, minute int) time.Time {
		return time.Date(2026, 6, 15-i, hour, minute, 0, 0, loc)
	}
	a := createIn(t, e, "America/Santiago")
	aDays := map[int]string{}
	for i := 0; i <= 400; i++ {
		status := catalog.BackupCompleted
		if i == 380 {
			status = catalog.BackupVerified // the only verified one: kept although old
		}
		aDays[i] = h.add(a, fmt.Sprintf("a day %d", i), status, day(santiago, i, 23, 30), true)
	}
	earlierSameDay := h.add(a, "a day 1 09:00", catalog.BackupCompleted, day(santiago, 1, 9, 0), true)
	oldFailed := h.add(a, "a failed day 10", catalog.BackupFailed, day(santiago, 10, 1, 0), true)
	newFailed := h.add(a, "a failed day 2", catalog.BackupFailed, day(santiago, 2, 1, 0), false)
	stale := h.add(a, "a running day 2", catalog.BackupRunning, day(santiago, 2, 2, 0), true)
	running := h.add(a, "a running now", catalog.BackupRunning, now.Add(-time.Minute), true)

	// Tenant b: UTC (where now is already June 16, 03:45), its own policy
	// of 3 days only, 10 daily backups at 02:00 UTC from June 16 back.
	b := createIn(t, e, "UTC")
	if _, err := e.Service.UpdateSettings(e.Ctx, b.Slug, map[string]string{tenant.SettingBackupRetention: "3d,0w,0m"}, nil); err != nil {
		t.Fatal(err)
	}
	bDays := map[int]string{}
	for i := range 10 {
		bDays[i] = h.add(b, fmt.Sprintf("b day %d", i), catalog.BackupCompleted, day(time.UTC, i-1, 2, 0), true)
	}
	// Tenant c: default policy, only old backups; one of them in a store
	// this service does not have.
	c := createIn(t, e, "UTC")
	cNewestCompleted := h.add(c, "c day 500", catalog.BackupCompleted, day(time.UTC, 500, 4, 0), true)
	cOlder := h.add(c, "c day 505", catalog.BackupCompleted, day(time.UTC, 505, 4, 0), true)
	cVerified := h.add(c, "c day 600 verified", catalog.BackupVerified, day(time.UTC, 600, 4, 0), true)
	cForeign := newUUID()
	if _, err := e.Catalog.InsertBackup(e.Ctx, cForeign, c.ID, ReasonManual, catalog.BackupCompleted, day(time.UTC, 700, 4, 0),
		catalog.BackupResult{Location: "file:///elsewhere/" + DataKey(c.ID, cForeign), SizeBytes: 4}); err != nil {
		t.Fatal(err)
	}

	before := map[string]state{a.Slug: h.state(a), b.Slug: h.state(b), c.Slug: h.state(c)}

	// A dry run lists and changes nothing.
	rep, err := svc.prune(e.Ctx, "", true, now)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.DryRun || rep.Tenants < 3 || rep.Count(PruneExpire) == 0 || rep.Errors != 0 {
		t.Fatalf("dry run report: %+v", rep)
	}
	for _, tn := range []*tenant.Tenant{a, b, c} {
		h.sameState("a dry run", tn, before[tn.Slug])
	}

	// Tenant a alone: b and c untouched.
	rep, err = svc.prune(e.Ctx, a.Slug, false, now)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Tenants != 1 || rep.Errors != 0 {
		t.Fatalf("prune %s: %+v", a.Slug, rep)
	}
	h.sameState("pruning another tenant", b, before[b.Slug])
	h.sameState("pruning another tenant", c, before[c.Slug])

	keptDays := []int{36, 43, 46, 76, 107, 135, 166, 197, 227, 258, 288, 319, 380}
	for i := range 30 {
		keptDays = append(keptDays, i)
	}
	wantStatus := map[string]string{newFailed: catalog.BackupFailed, stale: catalog.BackupFailed,
		running: catalog.BackupRunning, earlierSameDay: catalog.BackupExpired}
	var wantKeys []string
	for i, id := range aDays {
		if slices.Contains(keptDays, i) {
			wantStatus[id] = catalog.BackupCompleted
			if i == 380 {
				wantStatus[id] = catalog.BackupVerified
			}
			wantKeys = append(wantKeys, DataKey(a.ID, id), ManifestKey(a.ID, id))
		} else {
			wantStatus[id] = catalog.BackupExpired
		}
	}
	wantKeys = append(wantKeys, DataKey(a.ID, running))
	slices.Sort(wantKeys)
	got := h.state(a)
	for id, want := range wantStatus {
		if got.status[id] != want {
			t.Errorf("%s: status %q, want %q", h.labels[id], got.status[id], want)
		}
	}
	if _, ok := got.status[oldFailed]; ok {
		t.Errorf("the failed row of day 10 is still there")
	}
	if len(got.status) != len(wantStatus) {
		t.Errorf("tenant a has %d rows, want %d", len(got.status), len(wantStatus))
	}
	for i, keys := range got.objects {
		if !slices.Equal(keys, wantKeys) {
			t.Errorf("store %d holds %d objects, want %d (kept backups' data and manifest, the running one's data)", i, len(keys), len(wantKeys))
		}
	}
	if n := rep.Count(PruneKeep); n != len(keptDays) {
		t.Errorf("report keeps %d, want %d", n, len(keptDays))
	}
	if rep.Count(PruneExpire) != 401-len(keptDays)+1 || rep.Count(PruneAbandon) != 1 || rep.Count(PruneClean) != 1 {
		t.Errorf("report: expire %d abandon %d clean %d", rep.Count(PruneExpire), rep.Count(PruneAbandon), rep.Count(PruneClean))
	}

	// Everyone: b keeps its 3 days, c its newest completed and newest
	// verified; the backup in an unknown store is reported and left alone.
	rep, err = svc.prune(e.Ctx, "", false, now)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors != 1 {
		t.Errorf("errors = %d, want 1 (the backup in file:///elsewhere): %+v", rep.Errors, rep)
	}
	gotB := h.state(b)
	for i, id := range bDays {
		want := catalog.BackupExpired
		if i < 3 {
			want = catalog.BackupCompleted
		}
		if gotB.status[id] != want {
			t.Errorf("%s: status %q, want %q", h.labels[id], gotB.status[id], want)
		}
	}
	for _, keys := range gotB.objects {
		if len(keys) != 6 {
			t.Errorf("b's store holds %v, want the data and manifest of 3 backups", keys)
		}
	}
	gotC := h.state(c)
	for id, want := range map[string]string{cNewestCompleted: catalog.BackupCompleted, cVerified: catalog.BackupVerified,
		cOlder: catalog.BackupExpired, cForeign: catalog.BackupCompleted} {
		if gotC.status[id] != want {
			t.Errorf("c %s: status %q, want %q", id, gotC.status[id], want)
		}
	}
	wantC := []string{DataKey(c.ID, cNewestCompleted), ManifestKey(c.ID, cNewestCompleted),
		DataKey(c.ID, cVerified), ManifestKey(c.ID, cVerified)}
	slices.Sort(wantC)
	for _, keys := range gotC.objects {
		if !slices.Equal(keys, wantC) {
			t.Errorf("c's store holds %v, want %v", keys, wantC)
		}
	}
	// And a second run changes nothing more.
	afterA := h.state(a)
	if rep, err = svc.prune(e.Ctx, a.Slug, false, now); err != nil || rep.Count(PruneExpire)+rep.Count(PruneAbandon)+rep.Count(PruneClean) != 0 {
		t.Errorf("second prune: %+v, %v", rep, err)
	}
	h.sameState("a second prune", a, afterA)
}

// TestKeepNeverDropsNewest: with a policy that keeps one day only and
// every backup older than that, the newest verified and the newest
// completed are still kept, and nothing else.
func TestKeepNeverDropsNewest(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	bs := []*Backup{
		{ID: "c1", Status: catalog.BackupCompleted, StartedAt: now.AddDate(0, 0, -40)},
		{ID: "v1", Status: catalog.BackupVerified, StartedAt: now.AddDate(0, 0, -50)},
		{ID: "c2", Status: catalog.BackupCompleted, StartedAt: now.AddDate(0, 0, -45)},
		{ID: "v2", Status: catalog.BackupVerified, StartedAt: now.AddDate(0, 0, -60)},
		{ID: "f", Status: catalog.BackupFailed, StartedAt: now.AddDate(0, 0, -1)},
		{ID: "x", Status: catalog.BackupExpired, StartedAt: now.AddDate(0, 0, -2)},
	}
	got := Keep(bs, tenant.Retention{Daily: 1}, time.UTC, now)
	if len(got) != 2 || got["c1"] == "" || got["v1"] == "" {
		t.Fatalf("Keep = %v, want c1 and v1 only", got)
	}
}
