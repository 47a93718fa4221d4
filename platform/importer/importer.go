package importer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/importer/importpg"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/audit"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/resource"
)

// Config of the import service; cmd/platform fills it as for the other
// control-plane commands.
type Config struct {
	Catalog *catalog.DB
	Servers map[string]*pgadmin.Server // database servers by name
	// BcryptCost hashes plaintext passwords (PLATFORM_BCRYPT_COST); 0 is
	// auth.DefaultCost.
	BcryptCost int
	Logger     *slog.Logger
	// LockWait is how long an import waits for each target table a
	// transaction of the tenant holds; zero: 10 s.
	LockWait time.Duration
}

// Service imports legacy databases into tenants.
type Service struct{ cfg Config }

// New returns the service.
func New(cfg Config) *Service {
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = auth.DefaultCost
	}
	if cfg.LockWait <= 0 {
		cfg.LockWait = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Service{cfg: cfg}
}

// Request is one import.
type Request struct {
	Tenant string // slug
	From   string // the source URL (Open)
	// Mapping is the name of an embedded mapping or a file path; or
	// MappingBytes (YAML or JSON) with MappingFile naming it in messages.
	Mapping      string
	MappingFile  string
	MappingBytes []byte
	// Source labels the source database among others of the same system
	// imported with the same mapping (two branches' files, both with
	// users 1..5): the id map is kept per mapping and source. "" is the
	// default source; else it matches SourceLabelPattern.
	Source string
	// DryRun does everything but commit.
	DryRun bool
	// Describe, when set, is what the report, log and audit call the
	// source instead of From (an upload's temporary file means nothing to
	// the operator).
	Describe string
}

// SourceLabelPattern is what Request.Source may be besides "".
const SourceLabelPattern = `^[a-z0-9][a-z0-9._-]{0,62}$`

var sourceLabelRe = regexp.MustCompile(SourceLabelPattern)

// CheckSourceLabel refuses a Request.Source that is neither "" nor a
// label of SourceLabelPattern.
func CheckSourceLabel(label string) error {
	if label != "" && !sourceLabelRe.MatchString(label) {
		return tenant.Errorf(tenant.EInvalid, "--source %s: a source label is 1 to 63 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit",
			clip(fmt.Sprintf("%q", label)))
	}
	return nil
}

// AuditAction is the tenant audit log's action of an import.
const AuditAction = "tenant.imported"

// maxListed caps the orphans, duplicates and examples a report lists
// (their counts stay exact).
const (
	maxListed   = 1000
	maxExamples = 10
)

// maxHeldUsers bounds a users table: its rows are held in memory (with
// their plaintext passwords) until they are hashed.
const maxHeldUsers = 1_000_000

// errDryRun rolls a dry run's transaction back.
var errDryRun = errors.New("dry run")

// errCancelled is an import whose context ended (Ctrl-C, a job's server
// shutting down, a deadline) before it committed.
var errCancelled = tenant.Errorf(tenant.EUnavailable, "import cancelled before it ended: nothing imported")

// Import runs req: the mapping is checked against the tenant kind's
// schema and the source's tables before anything is written, then every
// table is read, transformed, validated and written in one transaction
// (nothing on any error; nothing on a dry run). It holds the tenant's
// catalog lock, and locks the target tables against writes (reads go on)
// until it commits. A report comes back with a nil error only.
func (s *Service) Import(ctx context.Context, req Request) (rep *Report, err error) {
	start := time.Now()
	m, err := s.mapping(req)
	if err != nil {
		return nil, err
	}
	if err := CheckSourceLabel(req.Source); err != nil {
		return nil, err
	}
	actor, ok := tenant.ActorFrom(ctx)
	if !ok {
		actor = tenant.Actor{Name: "unknown", Source: "cli"}
	}
	if tenant.ValidateSlug(req.Tenant) != nil {
		return nil, tenant.Errorf(tenant.ENotFound, "tenant %q not found", req.Tenant)
	}
	defer func() { s.record(ctx, actor, req, m, rep, err) }()
	t, err := s.target(ctx, req, m)
	if err != nil {
		return nil, err
	}
	src, err := openAs(ctx, req.From, req.Describe, s.cfg.Logger)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	plan, err := m.compile(ctx, src)
	if err != nil {
		return nil, err
	}
	rep = &Report{Tenant: t.Slug, Mapping: m.Name, Source: src.Describe(), SourceLabel: req.Source, DryRun: req.DryRun}
	for _, p := range plan {
		if p.absent {
			rep.Absent = append(rep.Absent, p.tm.From)
		}
	}
	hashStart := time.Now()
	pre, err := s.prehash(ctx, m, plan, src, t.Slug)
	if err != nil {
		return nil, err
	}
	rep.BcryptMS += time.Since(hashStart).Milliseconds()
	err = s.cfg.Catalog.WithLock(ctx, "tenant:"+t.Slug, func() error {
		if t, err = s.cfg.Catalog.TenantBySlug(ctx, t.Slug); err != nil {
			return err
		}
		if err := canImportInto(t); err != nil {
			return err
		}
		srv, ok := s.cfg.Servers[t.DBServer]
		if !ok {
			return tenant.Errorf(tenant.EUnavailable, "database server %q of tenant %q is not configured", t.DBServer, t.Slug)
		}
		return srv.In(ctx, t.Database, tenant.OwnerRole(t.Slug), func(c *pgx.Conn) error {
			err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
				r := &run{s: s, m: m, label: req.Source, src: src, tx: tx, rep: rep, now: time.Now().In(m.loc), pre: pre}
				if err := r.all(ctx, plan); err != nil {
					return err
				}
				if rep.tally(); !rep.CountsMatch && !req.DryRun {
					// The source changed while it was read, or the tenant
					// table under the import: no half-checked data.
					return tenant.Errorf(tenant.EConflict, "the counts do not add up (did the source change while it was read?): nothing imported; --dry-run shows them")
				}
				if err := audit.Record(ctx, tx, audit.Entry{Actor: audit.OperatorActor(actor.Source, actor.Name),
					Action: AuditAction, Entity: "tenant", EntityID: t.ID, Details: rep.auditDetails()}); err != nil {
					return err
				}
				if req.DryRun {
					// setval is not rolled back: a rehearsal must not burn
					// a million ids. The locks still keep inserts out.
					for _, seq := range r.sequences {
						if err := importpg.RestoreSequence(ctx, tx, seq); err != nil {
							return err
						}
					}
					return errDryRun
				}
				return nil
			})
			if errors.Is(err, errDryRun) {
				return nil
			}
			return err
		})
	})
	if err != nil {
		if ctx.Err() != nil {
			err = errCancelled // not the database's "unavailable" it met
		}
		return nil, err
	}
	rep.finish(start)
	s.cfg.Logger.InfoContext(ctx, "tenant import", "tenant", t.Slug, "mapping", m.Name, "source", rep.Source, "source_label", req.Source,
		"dry_run", req.DryRun, "written", rep.Written, "skipped", rep.Skipped, "changed", rep.Changed, "duration_ms", rep.DurationMS)
	return rep, nil
}

// Check refuses at once what Import would refuse before reading the
// source: a bad mapping, an unknown tenant, one of another kind or in a
// state imports wait out, a source of a scheme the mapping does not
// read. The operator API checks a request before it becomes a job (and
// before an upload is read).
func (s *Service) Check(ctx context.Context, req Request) error {
	m, err := s.mapping(req)
	if err != nil {
		return err
	}
	if err := CheckSourceLabel(req.Source); err != nil {
		return err
	}
	if tenant.ValidateSlug(req.Tenant) != nil {
		return tenant.Errorf(tenant.ENotFound, "tenant %q not found", req.Tenant)
	}
	_, err = s.target(ctx, req, m)
	return err
}

// target is the tenant req imports into, if m may import into it from
// req's source.
func (s *Service) target(ctx context.Context, req Request, m *Mapping) (*tenant.Tenant, error) {
	t, err := s.cfg.Catalog.TenantBySlug(ctx, req.Tenant)
	if err != nil {
		return nil, err
	}
	if t.Kind != m.Kind {
		return nil, tenant.Errorf(tenant.EInvalid, "mapping %s is for %s tenants; %s is a %s tenant", m.Name, m.Kind, t.Slug, t.Kind)
	}
	if err := canImportInto(t); err != nil {
		return nil, err
	}
	scheme := schemeOf(req.From)
	if scheme == "" {
		return nil, tenant.Errorf(tenant.EInvalid, "--from must be sqlite:///path.db, mysql://user:pass@host/db or csv:///dir, not %q", redactURL(req.From))
	}
	if !slices.Contains(m.Source, scheme) {
		return nil, tenant.Errorf(tenant.EInvalid, "mapping %s reads %s sources, not %q", m.Name, strings.Join(m.Source, " or "), scheme)
	}
	return t, nil
}

func canImportInto(t *tenant.Tenant) error {
	if t.Status != tenant.StatusActive && t.Status != tenant.StatusSuspended {
		return tenant.Errorf(tenant.EConflict, "tenant %q is %s; only an active or suspended tenant can be imported into", t.Slug, t.Status)
	}
	return nil
}

func (s *Service) mapping(req Request) (*Mapping, error) {
	var m *Mapping
	var err error
	switch {
	case req.MappingBytes != nil:
		name := req.MappingFile
		if name == "" {
			name = "mapping"
		}
		m, err = ParseMapping(name, req.MappingBytes)
	case req.Mapping != "":
		m, err = LoadMapping(req.Mapping)
	default:
		return nil, tenant.Errorf(tenant.EInvalid, "--mapping is required (a built-in name: %s; or a file)", strings.Join(Embedded(), ", "))
	}
	if err != nil {
		return nil, err
	}
	return m, m.Check()
}

// record writes the operator audit row of an import (dropped on failure,
// as the seed's: the import itself is done or undone by then).
func (s *Service) record(ctx context.Context, a tenant.Actor, req Request, m *Mapping, rep *Report, err error) {
	source := redactURL(req.From)
	if req.Describe != "" {
		source = req.Describe
	}
	details := map[string]any{"mapping": m.Name, "source": source, "source_label": req.Source, "dry_run": req.DryRun}
	if a.IP != "" {
		details["ip"] = a.IP
	}
	if err != nil {
		details["error_code"] = tenant.ErrorCode(err)
	}
	if rep != nil && err == nil {
		details["written"], details["skipped"], details["changed"] = rep.Written, rep.Skipped, rep.Changed
	}
	_ = s.cfg.Catalog.RecordOperatorAction(context.WithoutCancel(ctx), catalog.OperatorAction{
		Actor: a.Name, Source: a.Source, Action: "tenant.import", Tenant: req.Tenant, Failed: err != nil, Details: details})
}

// tablePlan is one mapped table compiled against the source.
type tablePlan struct {
	tm       *TableMap
	tg       *target
	absent   bool
	srcTable string   // as the source spells it
	read     []string // source columns read, in this order
	key      []int    // indexes into read
	skip     int      // index of the skip column, -1 for none
	cols     []colPlan
	// hashed: the indexes into read a row's hash covers (hashColumns).
	hashed []int
}

type colPlan struct {
	name       string
	field      *resource.Field
	src        []int   // indexes into read: the first non-empty value
	join       *string // or all non-empty values joined with it
	constant   any
	hasConst   bool
	def        any
	hasDef     bool
	transforms []string
	enum       map[string]any
	ref        *TableMap
	orphanNull bool
	password   bool
}

// compile resolves m's source names against src: tables the source lacks
// are absent; a column none of whose names the source has is an error
// unless it has a default. Every problem is listed before anything is
// written.
func (m *Mapping) compile(ctx context.Context, src Source) ([]*tablePlan, error) {
	tables, err := src.Tables(ctx)
	if err != nil {
		return nil, err
	}
	ts := targets(m.Kind)
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	var plans []*tablePlan
	for i := range m.Tables {
		tm := &m.Tables[i]
		p := &tablePlan{tm: tm, tg: ts[tm.To], skip: -1}
		plans = append(plans, p)
		name, ok := lookupName(tables, tm.From)
		if !ok {
			p.absent = true
			continue
		}
		p.srcTable = name
		have, err := src.Columns(ctx, name)
		if err != nil {
			return nil, err
		}
		col := func(c string) (int, bool) {
			n, ok := lookupName(have, c)
			if !ok {
				return -1, false
			}
			for j, r := range p.read {
				if r == n {
					return j, true
				}
			}
			p.read = append(p.read, n)
			return len(p.read) - 1, true
		}
		for _, k := range tm.Key {
			j, ok := col(k)
			if !ok {
				add("%s: key: the source table has no column %q", where(tm, ""), k)
			}
			p.key = append(p.key, j)
		}
		if tm.Skip != nil {
			j, ok := col(tm.Skip.Column)
			if !ok {
				add("%s: skip: the source table has no column %q", where(tm, ""), tm.Skip.Column)
			}
			p.skip = j
		}
		for _, f := range p.tg.spec.Fields {
			c, ok := tm.Columns[f.Name]
			if !ok {
				continue
			}
			cp := colPlan{name: f.Name, field: p.tg.spec.Field(f.Name), transforms: c.Transform, enum: c.Enum,
				password: c.Password, join: c.Join, orphanNull: c.Orphan == "null"}
			if c.Ref != "" {
				cp.ref = m.earlier(i, c.Ref)
			}
			if len(c.Value) > 0 {
				cp.hasConst = true
				if err := json.Unmarshal(c.Value, &cp.constant); err != nil {
					add("%s: value: %v", where(tm, f.Name), err)
				}
			}
			for _, from := range c.From {
				if j, ok := col(from); ok {
					cp.src = append(cp.src, j)
				}
			}
			if len(c.From) > 0 && len(cp.src) == 0 {
				if len(c.Default) == 0 {
					add("%s: the source table has no column %s (give a default to import without it)", where(tm, f.Name), strings.Join(quoteAll(c.From), " nor "))
				} else {
					cp.hasDef = true
					if err := json.Unmarshal(c.Default, &cp.def); err != nil {
						add("%s: default: %v", where(tm, f.Name), err)
					}
				}
			}
			p.cols = append(p.cols, cp)
		}
		p.hashed = hashColumns(p)
	}
	if len(probs) > 0 {
		return nil, problems(m.file+" against "+src.Describe(), probs)
	}
	return plans, nil
}

func quoteAll(l []string) []string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return q
}

// run is one import's transaction.
type run struct {
	s     *Service
	m     *Mapping
	label string // Request.Source
	src   Source
	tx    pgx.Tx
	rep   *Report
	now   time.Time // the default of NOT NULL timestamps a row leaves null
	// roles are the tenant's role ids by name (users' roles column).
	roles map[string]int64
	// ids: the id map of the mapping and source, source table (as the
	// mapping spells it) → source key → target id, from earlier imports
	// and this one.
	ids map[string]map[string]int64
	// prior: the rows of ids from earlier imports, what they were and
	// when (apart: the first import of a million rows pays nothing for it).
	prior map[string]map[string]priorRow
	// earlier: target ids written by earlier imports of the mapping, of
	// any source.
	earlier map[string]map[int64]bool
	// sequences are as the import found them: a dry run puts them back.
	sequences []importpg.Sequence
	// pre: plaintext passwords hashed before the locks (prehash).
	pre map[*tablePlan]map[string]prehashed
}

// priorRow is a source row an earlier import wrote.
type priorRow struct {
	hash []byte // nil before migration 000008
	at   time.Time
	gone bool // the tenant deleted the row it became
}

func (r *run) all(ctx context.Context, plan []*tablePlan) error {
	if ok, err := importpg.Ready(ctx, r.tx); err != nil {
		return err
	} else if !ok {
		return tenant.Errorf(tenant.EUnavailable, "tenant %s: its schema predates this import (import_ids by source, migration 000008): run `platform migrate up --tenant %s` first", r.rep.Tenant, r.rep.Tenant)
	}
	locks := []string{"import_ids"}
	for _, p := range plan {
		if !p.absent && !slices.Contains(locks, p.tm.To) {
			locks = append(locks, p.tm.To)
		}
	}
	if err := importpg.Lock(ctx, r.tx, locks, r.s.cfg.LockWait); err != nil {
		return err
	}
	roles, err := importpg.Roles(ctx, r.tx)
	if err != nil {
		return err
	}
	r.roles = roles
	prior, err := importpg.IDs(ctx, r.tx, r.m.Name)
	if err != nil {
		return err
	}
	r.ids, r.prior, r.earlier = map[string]map[string]int64{}, map[string]map[string]priorRow{}, map[string]map[int64]bool{}
	// Rows the tenant deleted since their import: their source rows are
	// not brought back, and references to them are orphans.
	gone := map[string]map[int64]bool{}
	for _, id := range prior {
		if _, ok := gone[id.TargetTable]; ok {
			continue
		}
		if _, ok := targets(r.m.Kind)[id.TargetTable]; !ok {
			continue // a table this kind's imports no longer write
		}
		if gone[id.TargetTable], err = importpg.Gone(ctx, r.tx, r.m.Name, id.TargetTable); err != nil {
			return err
		}
	}
	for _, id := range prior {
		if gone[id.TargetTable][id.TargetID] {
			if id.Source == r.label {
				put(r.prior, id.SourceTable, id.SourceKey, priorRow{gone: true})
			}
			continue
		}
		if id.Source == r.label {
			put(r.ids, id.SourceTable, id.SourceKey, id.TargetID)
			put(r.prior, id.SourceTable, id.SourceKey, priorRow{hash: id.RowHash, at: id.ImportedAt})
		}
		if r.earlier[id.TargetTable] == nil {
			r.earlier[id.TargetTable] = map[int64]bool{}
		}
		r.earlier[id.TargetTable][id.TargetID] = true
	}
	for _, p := range plan {
		if p.absent {
			r.rep.Tables = append(r.rep.Tables, &TableReport{From: p.tm.From, To: p.tm.To, Absent: true})
			continue
		}
		if err := r.table(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

func put[V any](m map[string]map[string]V, table, key string, v V) {
	if m[table] == nil {
		m[table] = map[string]V{}
	}
	m[table][key] = v
}

// uniqueKey is one unique key of a target table and the values it holds.
type uniqueKey struct {
	fields   []string
	fold     bool             // compared lower-cased (a unique index on lower(...))
	existing map[string]int64 // in the tenant before the import: value → id
	seen     map[string]string
}

// pending is a row that passed every check, waiting for its id.
type pending struct {
	key   string
	vals  resource.Values
	roles []int64 // users: role ids to grant
	plain string  // a plaintext password to hash; cleared once hashed
	hash  string
	// rowHash is the source row's (rowHasher), kept in the id map.
	rowHash [rowHashSize]byte
}

// table imports one source table. Reading, transforming and validating
// (a goroutine) overlap with the COPY into the tenant; a table with
// passwords is read whole first, so its plaintext can be hashed in
// parallel before the COPY.
func (r *run) table(ctx context.Context, p *tablePlan) error {
	tr := &TableReport{From: p.tm.From, To: p.tm.To, Skipped: map[string]int64{}}
	r.rep.Tables = append(r.rep.Tables, tr)
	var err error
	if tr.SourceRows, err = r.src.Count(ctx, p.srcTable); err != nil {
		return err
	}
	if tr.TargetBefore, err = importpg.Count(ctx, r.tx, p.tm.To); err != nil {
		return err
	}
	uniques, err := r.uniques(ctx, p)
	if err != nil {
		return err
	}
	if p.tg.password != "" && tr.SourceRows > maxHeldUsers {
		// Users are held whole until their passwords are hashed.
		return tenant.Errorf(tenant.EInvalid, "%s: the source has %d users: more than one import takes (%d)", p.tm.From, tr.SourceRows, maxHeldUsers)
	}
	// Ids for every source row at once (the count is an upper bound:
	// skipped rows leave gaps, as rolled-back inserts do).
	base, seq, err := importpg.ReserveIDs(ctx, r.tx, p.tm.To, tr.SourceRows)
	if err != nil {
		return err
	}
	r.sequences = append(r.sequences, seq)

	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan *pending, 4096)
	done := make(chan struct{})
	var readErr error
	go func() {
		defer close(done)
		defer close(ch)
		readErr = r.read(pctx, p, tr, uniques, ch)
	}()
	// stop ends the reader and returns its error, if any.
	stop := func() error {
		cancel()
		for range ch {
		}
		<-done
		if readErr != nil && !errors.Is(readErr, context.Canceled) {
			return readErr
		}
		return nil
	}

	next := func() (*pending, bool) { pr, ok := <-ch; return pr, ok }
	if p.tg.password != "" {
		var rows []*pending
		for pr := range ch {
			rows = append(rows, pr)
		}
		<-done
		if readErr != nil {
			return readErr
		}
		if err := r.hash(ctx, p, rows); err != nil {
			return err
		}
		i := 0
		next = func() (*pending, bool) {
			if i == len(rows) {
				return nil, false
			}
			i++
			return rows[i-1], true
		}
	}
	cols := r.copyColumns(p)
	var ids []importpg.ID
	var grants [][]any
	n, err := importpg.CopyFunc(ctx, r.tx, p.tm.To, cols, func() ([]any, error) {
		pr, ok := next()
		if !ok {
			<-done
			return nil, readErr
		}
		if int64(len(ids)) == tr.SourceRows {
			return nil, tenant.Errorf(tenant.EConflict, "%s: the source has more rows than it counted (%d): it changed during the import; nothing imported", p.tm.From, tr.SourceRows)
		}
		id := base + int64(len(ids)) + 1
		ids = append(ids, importpg.ID{SourceTable: p.tm.From, SourceKey: pr.key, TargetTable: p.tm.To, TargetID: id, RowHash: pr.rowHash})
		for _, role := range pr.roles {
			grants = append(grants, []any{id, role})
		}
		return r.copyRow(p, cols, pr, id), nil
	})
	if err != nil {
		if rerr := stop(); rerr != nil {
			return rerr
		}
		return err
	}
	tr.Written = n
	if err := importpg.GrantRoles(ctx, r.tx, grants); err != nil {
		return err
	}
	tr.RolesGranted = int64(len(grants))
	for _, id := range ids {
		put(r.ids, id.SourceTable, id.SourceKey, id.TargetID)
	}
	if err := importpg.RecordIDs(ctx, r.tx, r.m.Name, r.label, ids); err != nil {
		return err
	}
	tr.TargetAfter, err = importpg.Count(ctx, r.tx, p.tm.To)
	return err
}

// read reads p's source table, sending the rows that pass every check to
// ch; it returns a conflict with the tenant's data as an error.
func (r *run) read(ctx context.Context, p *tablePlan, tr *TableReport, uniques []*uniqueKey, ch chan<- *pending) error {
	skip := func(key, reason string) {
		tr.Skipped[reason]++
		if len(tr.Examples) < maxExamples {
			tr.Examples = append(tr.Examples, Example{Key: key, Reason: reason})
		}
	}
	seenKeys := map[string]bool{}
	h := newRowHasher(p.read, p.hashed)
	prior := r.prior[p.tm.From]
	return r.src.Rows(ctx, p.srcTable, p.read, func(row []any) error {
		tr.Read++
		key, ok := keyOf(row, p.key)
		if !ok {
			skip("", "no key: "+strings.Join(p.tm.Key, ", ")+" is null")
			return nil
		}
		rowHash := h.hash(row)
		if e, ok := prior[key]; ok && e.gone {
			skip(key, "deleted in the tenant since an earlier import (an import never brings a row back)")
			return nil
		} else if ok {
			// A row imported before migration 000008 has no hash: as
			// before, already imported.
			if e.hash == nil || bytes.Equal(e.hash, rowHash[:]) {
				tr.AlreadyImported++
				return nil
			}
			tr.Changed++
			if len(tr.Examples) < maxExamples {
				tr.Examples = append(tr.Examples, Example{Key: key, Reason: changedReason(e.at)})
			}
			return nil
		}
		if seenKeys[key] {
			skip(key, "repeats the source key of an earlier row")
			return nil
		}
		seenKeys[key] = true
		if p.skip >= 0 && skipMatch(row[p.skip], p.tm.Skip.Equals) {
			reason := p.tm.Skip.Reason
			if reason == "" {
				reason = p.tm.Skip.Column + " = " + textOf(p.tm.Skip.Equals)
			}
			skip(key, "skipped by the mapping: "+reason)
			return nil
		}
		pr, reason := r.row(p, tr, key, row)
		if reason != "" {
			skip(key, reason)
			return nil
		}
		pr.rowHash = rowHash
		for _, u := range uniques {
			v, ok := uniqueValue(u, pr.vals)
			if !ok {
				continue
			}
			if first, dup := u.seen[v]; dup {
				r.rep.duplicate(Duplicate{Table: p.tm.From, Key: key, Fields: u.fields, Of: "source row " + first})
				tr.Duplicates++
				skip(key, "duplicate "+strings.Join(u.fields, ", ")+" of another source row")
				return nil
			}
			if id, exists := u.existing[v]; exists {
				if r.earlier[p.tm.To][id] {
					r.rep.duplicate(Duplicate{Table: p.tm.From, Key: key, Fields: u.fields, Of: fmt.Sprintf("%s %d (an earlier import)", p.tm.To, id)})
					tr.Duplicates++
					skip(key, "duplicate "+strings.Join(u.fields, ", ")+" of an earlier import's row")
					return nil
				}
				return tenant.Errorf(tenant.EConflict, "%s: the tenant already has %s %d with the same %s as source row %s (%s), not from an earlier import of %s: nothing imported",
					p.tm.From, p.tm.To, id, strings.Join(u.fields, ", "), key, clip(v), r.m.Name)
			}
		}
		for _, u := range uniques {
			if v, ok := uniqueValue(u, pr.vals); ok {
				u.seen[v] = key
			}
		}
		select {
		case ch <- pr:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// changedReason is the report's example of a row whose key an earlier
// import wrote at, with other values.
func changedReason(at time.Time) string {
	return "changed in the source since it was imported on " + at.UTC().Format(time.DateOnly) +
		" (an import never updates a row; another database of the same system needs its own --source)"
}

// uniques loads the target table's unique keys and the values the tenant
// already has.
func (r *run) uniques(ctx context.Context, p *tablePlan) ([]*uniqueKey, error) {
	var us []*uniqueKey
	var cols []string
	for _, u := range p.tg.spec.Uniques {
		mapped := true
		for _, f := range u.Fields {
			if _, ok := p.tm.Columns[f]; !ok {
				mapped = false
			}
		}
		if !mapped {
			continue // the import gives no value of it: every row gets the default
		}
		def, err := importpg.IndexDef(ctx, r.tx, u.Constraint)
		if err != nil {
			return nil, err
		}
		us = append(us, &uniqueKey{fields: u.Fields, fold: p.tg.users || strings.Contains(def, "lower("),
			existing: map[string]int64{}, seen: map[string]string{}})
		cols = append(cols, u.Fields...)
	}
	if len(us) == 0 {
		return nil, nil
	}
	err := importpg.Existing(ctx, r.tx, p.tm.To, cols, func(id int64, vals []any) {
		i := 0
		for _, u := range us {
			v := resource.Values{}
			for _, f := range u.fields {
				x := vals[i]
				if t, ok := x.(time.Time); ok && p.tg.spec.Field(f).Type == resource.Date {
					x = t.Format(time.DateOnly)
				}
				v.Set(f, x)
				i++
			}
			if k, ok := uniqueValue(u, v); ok {
				u.existing[k] = id
			}
		}
	})
	return us, err
}

// uniqueValue is the text of u's fields in v; false when one is null
// (nulls never collide).
func uniqueValue(u *uniqueKey, v resource.Values) (string, bool) {
	parts := make([]string, len(u.fields))
	for i, f := range u.fields {
		x, _ := v.Get(f)
		if x == nil {
			return "", false
		}
		s := textOf(x)
		if t, ok := x.(time.Time); ok {
			s = t.UTC().Format(time.RFC3339Nano)
		}
		if u.fold {
			s = strings.ToLower(s)
		}
		parts[i] = s
	}
	return strings.Join(parts, "\x1f"), true
}

// keyOf is a row's source key as text (several columns: a JSON array).
func keyOf(row []any, idx []int) (string, bool) {
	parts := make([]string, len(idx))
	for i, j := range idx {
		if row[j] == nil {
			return "", false
		}
		parts[i] = textOf(row[j])
	}
	if len(parts) == 1 {
		return parts[0], true
	}
	// A JSON array: joined with a separator, ("a/b", "c") and ("a",
	// "b/c") would be one key.
	b, err := json.Marshal(parts)
	return string(b), err == nil
}

func skipMatch(v, equals any) bool {
	if b, ok := v.(bool); ok {
		e, ok := toBool(equals)
		return ok && e == b
	}
	if v == nil || equals == nil {
		return v == nil && equals == nil
	}
	if f, ok := toFloat(v); ok {
		if e, ok := toFloat(equals); ok {
			return f == e
		}
	}
	return textOf(v) == textOf(equals)
}

func clip(s string) string {
	s = strings.ReplaceAll(s, "\x1f", ", ")
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// value is c's value in a source row (a constant, a default, its first
// non-empty source column or several joined), transformed and through
// its enum; or why the row is skipped.
func (c *colPlan) value(row []any, loc *time.Location) (any, string) {
	var v any
	switch {
	case c.hasConst:
		v = c.constant
	case c.hasDef:
		v = c.def
	case c.join != nil:
		var parts []string
		for _, j := range c.src {
			if t := strings.TrimSpace(textOf(row[j])); t != "" {
				parts = append(parts, t)
			}
		}
		if len(parts) > 0 {
			v = strings.Join(parts, *c.join)
		}
	default:
		for _, j := range c.src {
			v = row[j]
			if v != nil && textOf(v) != "" {
				break
			}
		}
	}
	// A value or default is the target's already: no transform, no enum.
	literal := c.hasConst || c.hasDef
	for _, t := range c.transforms {
		if literal {
			break
		}
		var msg string
		if v, msg = applyTransform(t, v, loc); msg != "" {
			return nil, "invalid " + c.name + ": " + msg
		}
	}
	if c.enum != nil && v != nil && !literal {
		to, ok := c.enum[textOf(v)]
		if !ok {
			// Reasons are counted by their text: never a value in it.
			return nil, fmt.Sprintf("invalid %s: not in the mapping's enum (%s)", c.name, strings.Join(sortedKeys(c.enum), ", "))
		}
		v = to
	}
	return v, ""
}

// row builds and validates one source row: the row, or why it is skipped.
func (r *run) row(p *tablePlan, tr *TableReport, key string, row []any) (*pending, string) {
	pr := &pending{key: key}
	for _, v := range row {
		if b, ok := v.(BadValue); ok {
			return nil, b.Reason() // one bad value skips its row, not the import
		}
	}
	given := resource.Values{Names: make([]string, 0, len(p.cols)), Vals: make([]any, 0, len(p.cols))}
	for i := range p.cols {
		c := &p.cols[i]
		v, msg := c.value(row, r.m.loc)
		if msg != "" {
			return nil, msg
		}
		if c.password {
			s := textOf(v)
			switch {
			case s == "":
				r.rep.Passwords.Skipped++
				return nil, "no password"
			case auth.LooksBcrypt(s):
				if !auth.ValidBcrypt(s) {
					return nil, "invalid " + c.name + ": looks like a bcrypt hash but is not one"
				}
				pr.hash = s
			case len(s) > auth.MaxPasswordBytes:
				return nil, fmt.Sprintf("invalid %s: a plaintext password longer than %d bytes (bcrypt's limit)", c.name, auth.MaxPasswordBytes)
			default:
				pr.plain = s
			}
			continue
		}
		if c.ref != nil && v != nil {
			want := textOf(v)
			id, ok := r.ids[c.ref.From][want]
			switch {
			case ok:
				v = id
			case c.orphanNull:
				r.rep.orphan(Orphan{Table: p.tm.From, Key: key, Column: c.name, Missing: c.ref.From + " " + want, SetNull: true})
				tr.Orphans++
				v = nil
			default:
				r.rep.orphan(Orphan{Table: p.tm.From, Key: key, Column: c.name, Missing: c.ref.From + " " + want})
				tr.Orphans++
				return nil, "orphan: " + c.name + " refers to a missing " + c.ref.From + " row"
			}
		}
		if v == nil && !c.field.Nullable && c.field.Default != nil {
			v = c.field.Default
			if _, ok := v.(importTime); ok {
				v = r.now
			}
		}
		v, msg = coerce(c.field, v, r.m.loc)
		if msg != "" {
			return nil, "invalid " + c.name + ": " + msg
		}
		given.Names, given.Vals = append(given.Names, c.name), append(given.Vals, v)
	}
	vals, err := resource.DecodeValues(p.tg.spec, given)
	if err != nil {
		return nil, "invalid " + fieldMessages(err)
	}
	if p.tg.spec.Table == "password_reset_tokens" {
		// Stored as the reset flow stores it, and so compared with the
		// tenant's tokens by the unique checks below.
		if v, ok := vals.Get("token_hash"); ok && v != nil {
			vals.Set("token_hash", auth.HashResetToken(textOf(v)))
		}
	}
	if p.tg.users {
		u, _ := vals.Get("username")
		e, _ := vals.Get("email")
		f, _ := vals.Get("full_name")
		us, es, fs, bad := auth.CheckImportedUser(textOf(u), textOf(e), textOf(f))
		if len(bad) > 0 {
			return nil, "invalid " + fieldMessages(tenant.Invalid(bad))
		}
		vals.Set("username", us)
		if es == "" {
			vals.Set("email", nil)
		} else {
			vals.Set("email", es)
		}
		if _, ok := vals.Get("full_name"); ok {
			vals.Set("full_name", fs)
		}
		if rs, _ := vals.Get("roles"); rs != nil {
			seen := map[int64]bool{}
			for _, name := range strings.Split(rs.(string), ",") {
				if name = strings.TrimSpace(name); name == "" {
					continue
				}
				id, ok := r.roles[name]
				if !ok {
					return nil, fmt.Sprintf("invalid roles: not roles of the tenant (%s)", strings.Join(sortedKeys(r.roles), ", "))
				}
				if !seen[id] {
					seen[id] = true
					pr.roles = append(pr.roles, id)
				}
			}
		}
	}
	pr.vals = vals
	return pr, ""
}

// fieldMessages is a validation error's fields as "name: message; …".
func fieldMessages(err error) string {
	fields := tenant.ErrorFields(err)
	if len(fields) == 0 {
		return tenant.ErrorMessage(err)
	}
	names := sortedKeys(fields)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + ": " + fields[n]
	}
	return strings.Join(parts, "; ")
}

// hash turns the plaintext passwords of rows into bcrypt hashes at the
// platform's cost, and forgets the plaintext. Most were hashed before the
// import took its locks (prehash); a plaintext that is not among those
// (the source changed between the two reads) is hashed now.
func (r *run) hash(ctx context.Context, p *tablePlan, rows []*pending) error {
	var todo []*pending
	pre := r.pre[p]
	for _, pr := range rows {
		switch {
		case pr.plain != "":
			if ph, ok := pre[pr.key]; ok && ph.digest == sha256.Sum256([]byte(pr.plain)) {
				pr.hash, pr.plain = ph.hash, ""
				pr.vals.Set("must_change_password", true)
				r.rep.Passwords.Hashed++
				continue
			}
			todo = append(todo, pr)
		case pr.hash != "":
			r.rep.Passwords.Kept++
		}
	}
	if len(todo) == 0 {
		return nil
	}
	start := time.Now()
	plains := make([]string, len(todo))
	for i, pr := range todo {
		plains[i], pr.plain = pr.plain, ""
	}
	hashes, err := hashAll(ctx, plains, r.s.cfg.BcryptCost)
	r.rep.BcryptMS += time.Since(start).Milliseconds()
	if err != nil {
		return err
	}
	for i, pr := range todo {
		pr.hash = hashes[i]
		pr.vals.Set("must_change_password", true)
	}
	r.rep.Passwords.Hashed += int64(len(todo))
	return nil
}

// hashAll hashes plains with bcrypt at cost, GOMAXPROCS at a time (bcrypt
// is the slow part of an import with passwords), clearing each plaintext
// once hashed; a cancelled context stops it, the hashes under way aside.
func hashAll(ctx context.Context, plains []string, cost int) ([]string, error) {
	hashes := make([]string, len(plains))
	work := make(chan int)
	var wg sync.WaitGroup
	var failed atomic.Bool
	for range min(runtime.GOMAXPROCS(0), len(plains)) {
		wg.Go(func() {
			for i := range work {
				if ctx.Err() == nil { // else drain: a cancelled import hashes no more
					h, err := auth.HashPassword(plains[i], cost)
					if err != nil {
						failed.Store(true)
					}
					hashes[i] = h
				}
				plains[i] = ""
			}
		})
	}
	for i := range plains {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	if ctx.Err() != nil {
		return nil, errCancelled
	}
	if failed.Load() {
		return nil, errors.New("importer: hash a password: bcrypt failed") // never the password
	}
	return hashes, nil
}

// prehashed is a plaintext password hashed before the import took its
// locks; its digest tells that the import read the same plaintext again.
type prehashed struct {
	digest [sha256.Size]byte
	hash   string
}

// prehash hashes the plaintext passwords of plan's tables before the
// import locks anything: bcrypt is an import's slow part (about 117 ms a
// user at cost 12 on two cores), and the tenant's logins wait while its
// users table is locked. By table and source key.
func (s *Service) prehash(ctx context.Context, m *Mapping, plan []*tablePlan, src Source, tenantSlug string) (map[*tablePlan]map[string]prehashed, error) {
	out := map[*tablePlan]map[string]prehashed{}
	for _, p := range plan {
		var pc *colPlan
		for i := range p.cols {
			if p.cols[i].password {
				pc = &p.cols[i]
			}
		}
		if p.absent || pc == nil {
			continue
		}
		var keys, plains []string
		err := src.Rows(ctx, p.srcTable, p.read, func(row []any) error {
			if len(keys) >= maxHeldUsers {
				return tenant.Errorf(tenant.EInvalid, "%s: the source has more than %d users: more than one import takes", p.tm.From, maxHeldUsers)
			}
			key, ok := keyOf(row, p.key)
			if !ok || slices.ContainsFunc(row, func(v any) bool { _, bad := v.(BadValue); return bad }) {
				return nil // the import skips the row
			}
			v, msg := pc.value(row, m.loc)
			if t := textOf(v); msg == "" && t != "" && !auth.LooksBcrypt(t) && len(t) <= auth.MaxPasswordBytes {
				keys, plains = append(keys, key), append(plains, t)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(keys) == 0 {
			continue
		}
		s.cfg.Logger.InfoContext(ctx, "tenant import: hashing plaintext passwords before locking the tenant",
			"tenant", tenantSlug, "table", p.tm.From, "passwords", len(keys))
		digests := make([][sha256.Size]byte, len(plains))
		for i, pl := range plains {
			digests[i] = sha256.Sum256([]byte(pl))
		}
		hashes, err := hashAll(ctx, plains, s.cfg.BcryptCost)
		if err != nil {
			return nil, err
		}
		byKey := make(map[string]prehashed, len(keys))
		for i, k := range keys {
			byKey[k] = prehashed{digest: digests[i], hash: hashes[i]}
		}
		out[p] = byKey
	}
	return out, nil
}

// copyColumns are the COPY's columns: id first, then the mapped columns
// in the Spec's order (users: must_change_password too).
func (r *run) copyColumns(p *tablePlan) []string {
	cols := []string{"id"}
	for _, c := range p.cols {
		if p.tg.users && c.name == "roles" {
			continue // user_roles, after the users
		}
		cols = append(cols, c.name)
	}
	if p.tg.users && !slices.Contains(cols, "must_change_password") {
		cols = append(cols, "must_change_password")
	}
	return cols
}

// copyRow is pr laid out for COPY with id.
func (r *run) copyRow(p *tablePlan, cols []string, pr *pending, id int64) []any {
	row := make([]any, len(cols))
	row[0] = id
	for j, name := range cols[1:] {
		var v any
		if p.tg.password == name {
			v = pr.hash
		} else {
			v, _ = pr.vals.Get(name)
		}
		if v == nil && name == "must_change_password" {
			v = false
		}
		row[j+1] = copyValue(p.tg.spec, name, v)
	}
	return row
}

// copyValue is a Decode value as COPY wants it.
func copyValue(s *resource.Spec, name string, v any) any {
	if v == nil {
		return nil
	}
	f := s.Field(name)
	switch {
	case f.Type == resource.Date:
		d, _ := time.Parse(time.DateOnly, v.(string))
		return d
	case s.Table == "audit_log" && name == "ip":
		str, _ := v.(string)
		if a, err := netip.ParseAddr(str); err == nil {
			return a
		}
		if pfx, err := netip.ParsePrefix(str); err == nil {
			return pfx
		}
		return nil
	}
	return v
}

// Report is what an import read, wrote and skipped.
type Report struct {
	Tenant  string `json:"tenant"`
	Mapping string `json:"mapping"`
	Source  string `json:"source"` // the source's URL, credentials removed
	// SourceLabel is Request.Source: "" for the mapping's default source.
	SourceLabel string         `json:"source_label"`
	DryRun      bool           `json:"dry_run"`
	Tables      []*TableReport `json:"tables"`
	// Absent are the mapping's source tables the source lacks (skipped).
	Absent     []string    `json:"absent,omitempty"`
	Passwords  Passwords   `json:"passwords"`
	Orphans    []Orphan    `json:"orphans,omitempty"`
	Duplicates []Duplicate `json:"duplicates,omitempty"`
	// Read, Written, Skipped, AlreadyImported and Changed add up the
	// tables.
	Read            int64 `json:"read"`
	Written         int64 `json:"written"`
	Skipped         int64 `json:"skipped"`
	AlreadyImported int64 `json:"already_imported"`
	Changed         int64 `json:"changed"`
	// NothingNew: the counts add up, nothing was written or changed and
	// rows were imported before (the others, if any, skipped again).
	NothingNew bool `json:"nothing_new"`
	// CountsMatch: for every table, source rows = read, read = written +
	// skipped + already imported + changed, and the tenant grew by
	// written.
	CountsMatch bool  `json:"counts_match"`
	DurationMS  int64 `json:"duration_ms"`
	BcryptMS    int64 `json:"bcrypt_ms"` // of DurationMS, hashing plaintext passwords
	// RowsPerSecond is Read / DurationMS.
	RowsPerSecond float64 `json:"rows_per_second"`
}

// TableReport is one mapped table.
type TableReport struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Absent bool   `json:"absent,omitempty"`
	// SourceRows is the source's count; TargetBefore/After the tenant's.
	SourceRows      int64 `json:"source_rows"`
	Read            int64 `json:"read"`
	Written         int64 `json:"written"`
	AlreadyImported int64 `json:"already_imported"`
	// Changed counts the rows an earlier import of the mapping and source
	// wrote under the same key with other values: not written (an import
	// never updates a row), the first listed in Examples.
	Changed      int64            `json:"changed"`
	Skipped      map[string]int64 `json:"skipped,omitempty"` // by reason
	Orphans      int64            `json:"orphans"`
	Duplicates   int64            `json:"duplicates"`
	TargetBefore int64            `json:"target_before"`
	TargetAfter  int64            `json:"target_after"`
	// RolesGranted counts the user_roles rows written (users' roles).
	RolesGranted int64 `json:"roles_granted,omitempty"`
	// Examples are the first skipped and changed rows, by source key
	// (never a value).
	Examples []Example `json:"examples,omitempty"`
}

// SkippedRows adds up the table's skips.
func (t *TableReport) SkippedRows() int64 {
	var n int64
	for _, c := range t.Skipped {
		n += c
	}
	return n
}

// CountsMatch reports whether the table's counts add up.
func (t *TableReport) CountsMatch() bool {
	if t.Absent {
		return true
	}
	return t.SourceRows == t.Read && t.Read == t.Written+t.SkippedRows()+t.AlreadyImported+t.Changed &&
		t.TargetAfter-t.TargetBefore == t.Written
}

// Example is one skipped row.
type Example struct {
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

// Passwords counts the users' passwords: bcrypt hashes kept, plaintext
// hashed (with a forced change), rows skipped for having none.
type Passwords struct {
	Kept    int64 `json:"kept"`
	Hashed  int64 `json:"hashed"`
	Skipped int64 `json:"skipped"`
}

// Orphan is a row referring to a parent the import does not have: the
// row is skipped, or (orphan: null in the mapping) written with the
// reference cleared.
type Orphan struct {
	Table   string `json:"table"`
	Key     string `json:"key"`
	Column  string `json:"column"`
	Missing string `json:"missing"` // the parent table and key
	SetNull bool   `json:"set_null,omitempty"`
}

// Duplicate is a row repeating a unique key of the target.
type Duplicate struct {
	Table  string   `json:"table"`
	Key    string   `json:"key"`
	Fields []string `json:"fields"`
	Of     string   `json:"of"` // the row it repeats
}

func (r *Report) orphan(o Orphan) {
	if len(r.Orphans) < maxListed {
		r.Orphans = append(r.Orphans, o)
	}
}

func (r *Report) duplicate(d Duplicate) {
	if len(r.Duplicates) < maxListed {
		r.Duplicates = append(r.Duplicates, d)
	}
}

func (r *Report) finish(start time.Time) {
	r.tally()
	r.DurationMS = time.Since(start).Milliseconds()
	if d := time.Since(start).Seconds(); d > 0 {
		r.RowsPerSecond = float64(r.Read) / d
	}
}

// tally adds the tables' counts up.
func (r *Report) tally() {
	r.Read, r.Written, r.Skipped, r.AlreadyImported, r.Changed = 0, 0, 0, 0, 0
	r.CountsMatch = true
	for _, t := range r.Tables {
		r.Read += t.Read
		r.Written += t.Written
		r.Skipped += t.SkippedRows()
		r.AlreadyImported += t.AlreadyImported
		r.Changed += t.Changed
		if !t.CountsMatch() {
			r.CountsMatch = false
		}
	}
	r.NothingNew = r.Written == 0 && r.AlreadyImported > 0 && r.Changed == 0 && r.CountsMatch
}

// auditDetails are the counts the tenant's audit log keeps of an import.
func (r *Report) auditDetails() map[string]any {
	written := map[string]any{}
	var total int64
	for _, t := range r.Tables {
		if !t.Absent {
			written[t.To] = t.Written + asInt(written[t.To])
			total += t.Written
		}
	}
	d := map[string]any{"mapping": r.Mapping, "source": r.Source, "dry_run": r.DryRun, "rows_written": total,
		"tables": written, "hashed": r.Passwords.Hashed, "kept": r.Passwords.Kept, "changed": r.Changed}
	if r.SourceLabel != "" {
		d["source_label"] = r.SourceLabel
	}
	return d
}

func asInt(v any) int64 {
	n, _ := v.(int64)
	return n
}

// WriteText writes the report as tables for a terminal.
func (r *Report) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	verb := "imported"
	if r.DryRun {
		verb = "dry run (nothing written) of the import"
	}
	label := ""
	if r.SourceLabel != "" {
		label = " (source " + r.SourceLabel + ")"
	}
	ew.printf("%s %s%s into tenant %s with mapping %s in %s (bcrypt %s)\n", verb, r.Source, label, r.Tenant, r.Mapping,
		(time.Duration(r.DurationMS) * time.Millisecond).String(), (time.Duration(r.BcryptMS) * time.Millisecond).String())
	ew.printf("\n%-24s %-24s %8s %8s %8s %8s %8s %8s %8s %8s %s\n", "SOURCE", "TARGET", "SOURCE#", "READ", "WRITTEN", "SKIPPED", "BEFORE", "AFTER", "ORPHANS", "DUPS", "CHECK")
	for _, t := range r.Tables {
		if t.Absent {
			ew.printf("%-24s %-24s %8s\n", t.From, t.To, "absent")
			continue
		}
		check := "ok"
		if !t.CountsMatch() {
			check = "MISMATCH"
		}
		var notes []string
		if t.AlreadyImported > 0 {
			notes = append(notes, fmt.Sprintf("%d already imported", t.AlreadyImported))
		}
		if t.Changed > 0 {
			notes = append(notes, fmt.Sprintf("%d CHANGED", t.Changed))
		}
		if len(notes) > 0 {
			check += " (" + strings.Join(notes, ", ") + ")"
		}
		ew.printf("%-24s %-24s %8d %8d %8d %8d %8d %8d %8d %8d %s\n", t.From, t.To, t.SourceRows, t.Read, t.Written, t.SkippedRows(),
			t.TargetBefore, t.TargetAfter, t.Orphans, t.Duplicates, check)
	}
	ew.printf("%-24s %-24s %8s %8d %8d %8d\n", "total", "", "", r.Read, r.Written, r.Skipped)
	ew.printf("\npasswords: %d bcrypt hashes kept, %d plaintext hashed (must change at next login), %d users skipped without one\n",
		r.Passwords.Kept, r.Passwords.Hashed, r.Passwords.Skipped)
	for _, t := range r.Tables {
		if t.RolesGranted > 0 {
			ew.printf("roles: %d granted to the users of %s\n", t.RolesGranted, t.From)
		}
	}
	if len(r.Absent) > 0 {
		ew.printf("absent from the source (skipped): %s\n", strings.Join(r.Absent, ", "))
	}
	for _, t := range r.Tables {
		if len(t.Skipped) == 0 && t.Changed == 0 {
			continue
		}
		ew.printf("\nskipped in %s:\n", t.From)
		if t.Changed > 0 {
			ew.printf("  %6d  changed in the source since imported (not updated)\n", t.Changed)
		}
		reasons := sortedKeys(t.Skipped)
		sort.SliceStable(reasons, func(i, j int) bool { return t.Skipped[reasons[i]] > t.Skipped[reasons[j]] })
		for _, reason := range reasons {
			ew.printf("  %6d  %s\n", t.Skipped[reason], reason)
		}
		for _, e := range t.Examples {
			ew.printf("          e.g. key %s: %s\n", e.Key, e.Reason)
		}
	}
	if len(r.Orphans) > 0 {
		ew.printf("\norphans:\n")
		for _, o := range r.Orphans {
			what := "row skipped"
			if o.SetNull {
				what = "written with " + o.Column + " null"
			}
			ew.printf("  %s %s: %s refers to %s, which the import does not have (%s)\n", o.Table, o.Key, o.Column, o.Missing, what)
		}
	}
	if len(r.Duplicates) > 0 {
		ew.printf("\nduplicates (skipped):\n")
		for _, d := range r.Duplicates {
			ew.printf("  %s %s: same %s as %s\n", d.Table, d.Key, strings.Join(d.Fields, ", "), d.Of)
		}
	}
	if r.Changed > 0 {
		ew.printf("\n%d rows changed in the source since an earlier import wrote them and were NOT updated (an import never updates a row); "+
			"if this is another database of the same system, import it with its own --source\n", r.Changed)
	}
	switch {
	case !r.CountsMatch:
		ew.printf("\ncounts do NOT add up: see CHECK\n")
	case r.NothingNew && r.Skipped > 0:
		ew.printf("\nnothing new: %d rows were imported before, %d skipped again (see skipped)\n", r.AlreadyImported, r.Skipped)
	case r.NothingNew:
		ew.printf("\nnothing new: every row was imported before\n")
	default:
		ew.printf("\ncounts add up: source = read = written + skipped + already imported + changed; tenant grew by written\n")
	}
	return ew.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
