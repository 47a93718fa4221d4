package importtest

import (
	"database/sql"
	"path/filepath"
	"testing"
)

// SQLite is a small legacy SQLite file in t's temporary directory made by
// stmts (tables and their rows), for tests that need a source of their
// own rather than a whole fixture; it returns the file's path.
func SQLite(t testing.TB, stmts ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "legacy.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			db.Close()
			t.Fatalf("importtest: sqlite: %s: %v", s, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// PHPHash is a $2y$ bcrypt hash of pw, as PHP's password_hash writes it.
func PHPHash(t testing.TB, pw string) string {
	t.Helper()
	return hashPassword(t, pw, "$2y$")
}

// PythonHash is a $2b$ bcrypt hash of pw, as Python's bcrypt writes it.
func PythonHash(t testing.TB, pw string) string {
	t.Helper()
	return hashPassword(t, pw, "$2b$")
}
