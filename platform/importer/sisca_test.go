//go:build ignore

// Left out of the build (the tag ignore, which go mod tidy skips too)
// until the fixtures branch (package importtest, the MySQL source) is
// merged: the lead drops this build line then. Meanwhile, in a tree that has importtest,
// make it another tag and pass that with -tags (-tags ignore would pull in
// dependencies' ignored files).

package importer_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/tenancy/platform/platform/importer"
	"github.com/tenancy/platform/platform/importer/importtest"
	"github.com/tenancy/platform/tenant"
)

// TestImportSisca: the shipped mapping imports the SISCA fixture (MariaDB)
// end to end: every table's counts; plaintext passwords hashed with a
// forced change, $2y$ hashes kept (also the one in the old column), the
// guest without a password skipped; the case-twin user a duplicate, the
// loads of deleted teachers orphans; a second import adds nothing.
func TestImportSisca(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tn := f.e.Create(t, tenant.Institution)
	opt := importtest.Options{Orphans: 2, Duplicates: 1}
	src := importtest.Sisca(t, opt)
	counts := importtest.SiscaCounts(opt)
	rep, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: src, Mapping: "sisca"})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	skipped := map[string]int64{"usuarios": 2, "carga_academica": 2} // guest + case twin; orphans
	for _, from := range importtest.SiscaTables() {
		tr := table(t, rep, from)
		if tr.SourceRows != counts[from] || tr.SkippedRows() != skipped[from] || tr.Written != counts[from]-skipped[from] || !tr.CountsMatch() {
			t.Errorf("%s: %+v, want %d of %d written", from, tr, counts[from]-skipped[from], counts[from])
		}
	}
	var plain, hashed, empty int64
	for _, l := range importtest.SiscaLogins() {
		switch l.Stored {
		case importtest.StoredPlaintext:
			plain++
		case importtest.StoredBcrypt:
			hashed++
		default:
			empty++
		}
	}
	if rep.Passwords != (importer.Passwords{Kept: hashed, Hashed: plain, Skipped: empty}) || len(rep.Duplicates) != 1 || len(rep.Orphans) != 2 || !rep.CountsMatch {
		t.Errorf("report: passwords %+v (want %d kept, %d hashed, %d skipped), duplicates %v, orphans %v", rep.Passwords, hashed, plain, empty, rep.Duplicates, rep.Orphans)
	}
	for _, l := range importtest.SiscaLogins() {
		if l.Stored == importtest.StoredEmpty {
			continue
		}
		var hash string
		var change bool
		f.owner(t, tn, func(c *pgx.Conn) error {
			return c.QueryRow(f.e.Ctx, `SELECT password_hash, must_change_password FROM users WHERE username = $1`, l.Username).Scan(&hash, &change)
		})
		check := hash
		if len(hash) > 4 && hash[:4] == "$2y$" {
			check = "$2a$" + hash[4:]
		}
		if bcrypt.CompareHashAndPassword([]byte(check), []byte(l.Password)) != nil {
			t.Errorf("%s: the stored hash does not verify the old password", l.Username)
		}
		if l.Stored == importtest.StoredPlaintext && !change {
			t.Errorf("%s: plaintext in the source, but no forced change", l.Username)
		}
	}
	again, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: src, Mapping: "sisca"})
	if err != nil || !again.NothingNew || again.Written != 0 {
		t.Errorf("second import: %v %+v", err, again)
	}
}
