// Package importtest builds the legacy databases the importer's tests read:
// VerificarSMS, a SQLite file, and SISCA, a MariaDB database on the dev
// MariaDB (scripts/dev-services). Their tables and columns are the legacy
// apps' own, their values realistic (es: accents, ñ), generated
// deterministically so tests know every count and every login.
package importtest

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// Options are the engine tests' knobs. The zero value builds each fixture
// as its owner's run had it.
type Options struct {
	// Orphans adds that many child rows whose parent does not exist
	// (VerificarSMS: sms_verifications.branch_id; SISCA:
	// carga_academica.docente_id), numbered after the regular rows.
	Orphans int
	// Duplicates adds that many users repeating an existing username with
	// another case ("Admin" next to "admin"), numbered after the regular
	// users; the target's unique key lower(username) makes them
	// duplicates. At most as many as the regular users.
	Duplicates int
	// Rows overrides a table's number of regular rows (table -> rows), e.g.
	// a million sms_verifications for a benchmark; rows beyond the
	// hand-picked values are generated. Orphans and Duplicates come on top.
	// Generated children cycle through their parents, so a child table
	// with a unique key over references (SISCA's carga_academica: period,
	// group, subject) repeats it beyond the product of its parents' rows:
	// grow those too, or pick a table without one (sms_verifications,
	// auditoria) for a million rows.
	Rows map[string]int
}

// Login is a fixture user whose password a test can log in with.
type Login struct {
	Username string
	// Password is the plaintext the legacy app accepted ("" for none).
	Password string
	// Stored is how the legacy table holds it: "bcrypt" (a hash, kept by
	// the import), "plaintext" (hashed by the import, which forces a
	// change) or "empty" (the import skips the user: no password).
	Stored string
}

// Stored values of Login.
const (
	StoredBcrypt    = "bcrypt"
	StoredPlaintext = "plaintext"
	StoredEmpty     = "empty"
)

// fixtureCost is bcrypt's minimum: the fixtures hash a handful of known
// passwords and tests log in with them; their cost is the legacy app's
// business, the import keeps such hashes as they are.
const fixtureCost = bcrypt.MinCost

// hashPassword is a bcrypt hash of pw with the given prefix ("$2b$" as
// Python's bcrypt writes it, "$2y$" as PHP's password_hash does: the same
// algorithm, only the version letter differs).
func hashPassword(t testing.TB, pw, prefix string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), fixtureCost)
	if err != nil {
		t.Fatalf("importtest: bcrypt: %v", err)
	}
	return prefix + strings.TrimPrefix(string(h), "$2a$")
}

// rowsOf is the number of regular rows of table: the override or the default.
func (o Options) rowsOf(table string, def int) int {
	if n, ok := o.Rows[table]; ok {
		return n
	}
	return def
}

// check refuses knobs the fixture cannot honour, naming the tables it has.
func (o Options) check(t testing.TB, fixture string, defaults map[string]int) {
	t.Helper()
	if o.Orphans < 0 || o.Duplicates < 0 {
		t.Fatalf("importtest.%s: Orphans and Duplicates must not be negative", fixture)
	}
	for table, n := range o.Rows {
		if _, ok := defaults[table]; !ok {
			names := make([]string, 0, len(defaults))
			for k := range defaults {
				names = append(names, k)
			}
			sort.Strings(names)
			t.Fatalf("importtest.%s: Rows names table %q, which it has not (tables: %s)", fixture, table, strings.Join(names, ", "))
		}
		if n < 0 {
			t.Fatalf("importtest.%s: Rows[%q] = %d is negative", fixture, table, n)
		}
	}
}

// pick returns list[i % len(list)]: deterministic variety.
func pick[T any](list []T, i int) T { return list[i%len(list)] }

// numbered returns list[i] while there are hand-picked values, then the
// base value with a number (unique keys stay unique in generated rows).
func numbered(list []string, i int, format string) string {
	if i < len(list) {
		return list[i]
	}
	return fmt.Sprintf(format, list[i%len(list)], i+1)
}

// caseTwin is username with another case, for a duplicate.
func caseTwin(username string) string {
	if username == "" {
		return username
	}
	return strings.ToUpper(username[:1]) + username[1:]
}
