package importer_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/tenancy/platform/platform/importer"
	"github.com/tenancy/platform/platform/importer/importtest"
	"github.com/tenancy/platform/tenant"
)

// TestImportVerificarSMS: the shipped mapping imports the VerificarSMS
// fixture end to end: every table's counts, the deleted branch skipped
// with its reason, orphans and case-twin duplicates reported, $2b$ hashes
// kept (they verify), a DATETIME through transform: [datetime] stored as
// Santiago's wall clock, and a second import adds nothing.
func TestImportVerificarSMS(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tn := f.e.Create(t, tenant.Restaurant)
	opt := importtest.Options{Orphans: 2, Duplicates: 1}
	path := importtest.VerificarSMS(t, opt)
	src := "sqlite://" + path
	counts := importtest.VerificarSMSCounts(opt)
	rep, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: src, Mapping: "verificarsms"})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	want := map[string]struct{ written, skipped int64 }{
		"branches":          {counts["branches"] - importtest.VerificarSMSDeletedBranches, importtest.VerificarSMSDeletedBranches},
		"users":             {counts["users"] - 1, 1}, // the case twin
		"sms_verifications": {counts["sms_verifications"] - 2, 2},
		"reset_tokens":      {counts["reset_tokens"], 0},
	}
	for from, w := range want {
		tr := table(t, rep, from)
		if tr.SourceRows != counts[from] || tr.Written != w.written || tr.SkippedRows() != w.skipped || !tr.CountsMatch() {
			t.Errorf("%s: %+v, want %d written, %d skipped of %d", from, tr, w.written, w.skipped, counts[from])
		}
	}
	if len(rep.Orphans) != 2 || len(rep.Duplicates) != 1 || rep.Passwords.Hashed != 0 || rep.Passwords.Kept != want["users"].written || !rep.CountsMatch {
		t.Errorf("report: orphans %v duplicates %v passwords %+v", rep.Orphans, rep.Duplicates, rep.Passwords)
	}
	for _, l := range importtest.VerificarSMSLogins() {
		var hash string
		f.owner(t, tn, func(c *pgx.Conn) error {
			return c.QueryRow(f.e.Ctx, `SELECT password_hash FROM users WHERE username = $1`, l.Username).Scan(&hash)
		})
		if bcrypt.CompareHashAndPassword([]byte(hash), []byte(l.Password)) != nil {
			t.Errorf("%s: the kept hash does not verify the old password", l.Username)
		}
	}
	if n := table(t, rep, "branches").Skipped["skipped by the mapping: deleted in the source"]; n != importtest.VerificarSMSDeletedBranches {
		t.Errorf("branches skipped: %v", table(t, rep, "branches").Skipped)
	}

	// users.creado_en (DATETIME, transform: [datetime]) is a wall clock
	// of America/Santiago, the mapping's zone (UTC-3 in March: summer time).
	login := importtest.VerificarSMSLogins()[0].Username
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var wall string
	if err := db.QueryRowContext(f.e.Ctx, `SELECT CAST(creado_en AS TEXT) FROM users WHERE username = ?`, login).Scan(&wall); err != nil {
		t.Fatal(err)
	}
	santiago, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	wantCreated, err := time.ParseInLocation(time.DateTime, wall, santiago)
	if err != nil {
		t.Fatal(err)
	}
	var created time.Time
	f.owner(t, tn, func(c *pgx.Conn) error {
		return c.QueryRow(f.e.Ctx, `SELECT created_at FROM users WHERE username = $1`, login).Scan(&created)
	})
	if !created.Equal(wantCreated) {
		t.Errorf("%s: created_at %v, want %s in Santiago = %v", login, created.UTC(), wall, wantCreated.UTC())
	}

	tables := written(rep)
	before := f.counts(t, tn, tables...)
	again, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: src, Mapping: "verificarsms"})
	if err != nil || !again.NothingNew || again.Written != 0 {
		t.Errorf("second import: %v %+v", err, again)
	}
	if after := f.counts(t, tn, tables...); !equal(before, after) {
		t.Errorf("the second import changed the tenant: %v → %v", before, after)
	}
}
