package importtest_test

import (
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"golang.org/x/crypto/bcrypt"
	_ "modernc.org/sqlite"

	"github.com/tenancy/platform/platform/importer/importtest"
)

func openSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openMariaDB(t *testing.T, rawURL string) *sql.DB {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := u.User.Password()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = u.User.Username(), pw, "tcp", u.Host, strings.TrimPrefix(u.Path, "/")
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t *testing.T, db *sql.DB, quote, table string) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+quote+table+quote).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func checkCounts(t *testing.T, db *sql.DB, quote string, want map[string]int64, tables []string) {
	t.Helper()
	if len(tables) != len(want) {
		t.Fatalf("the fixture has tables %v, its counts name %d", tables, len(want))
	}
	for _, table := range tables {
		w, ok := want[table]
		if !ok {
			t.Errorf("table %s has no expected count", table)
			continue
		}
		if got := count(t, db, quote, table); got != w {
			t.Errorf("%s: %d rows, want %d", table, got, w)
		}
	}
}

func sqliteTables(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerificarSMSCounts(t *testing.T) {
	t.Parallel()
	want := map[string]int64{"users": 5, "branches": 23, "sms_verifications": 6, "reset_tokens": 2}
	got := importtest.VerificarSMSCounts(importtest.Options{})
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("VerificarSMSCounts = %v, want the owner's run %v", got, want)
	}
	db := openSQLite(t, importtest.VerificarSMS(t, importtest.Options{}))
	checkCounts(t, db, `"`, want, sqliteTables(t, db))

	// Each login's password checks against its stored hash ($2b$).
	for _, l := range importtest.VerificarSMSLogins() {
		var hash string
		if err := db.QueryRowContext(t.Context(), "SELECT password_hash FROM users WHERE username = ?", l.Username).Scan(&hash); err != nil {
			t.Fatalf("user %s: %v", l.Username, err)
		}
		if !strings.HasPrefix(hash, "$2b$") || bcrypt.CompareHashAndPassword([]byte(hash), []byte(l.Password)) != nil {
			t.Errorf("user %s: stored %q does not check against its password", l.Username, hash[:7])
		}
	}
	// Values as the app wrote them: accents and ñ, naive local datetimes,
	// one deleted branch, empty phones.
	var name, sent, typ string
	if err := db.QueryRowContext(t.Context(), "SELECT nombre FROM users WHERE username = 'jperez'").Scan(&name); err != nil || name != "Juan Pablo Pérez Ñancupil" {
		t.Errorf("jperez's name = %q, %v", name, err)
	}
	// (CAST: the driver parses a DATETIME column's text into a time.Time.)
	if err := db.QueryRowContext(t.Context(), "SELECT typeof(enviado_en), CAST(enviado_en AS TEXT) FROM sms_verifications WHERE id = 1").Scan(&typ, &sent); err != nil {
		t.Fatal(err)
	} else if _, err := time.Parse("2006-01-02 15:04:05", sent); typ != "text" || err != nil {
		t.Errorf("enviado_en %s %q is not a naive SQLite datetime: %v", typ, sent, err)
	}
	var deleted, noPhone int64
	if err := db.QueryRowContext(t.Context(), "SELECT (SELECT COUNT(*) FROM branches WHERE deleted = 1), (SELECT COUNT(*) FROM branches WHERE telefono = '')").Scan(&deleted, &noPhone); err != nil {
		t.Fatal(err)
	}
	if deleted != importtest.VerificarSMSDeletedBranches || noPhone == 0 {
		t.Errorf("deleted branches %d (want %d), branches without phone %d (want some)", deleted, importtest.VerificarSMSDeletedBranches, noPhone)
	}
	var orphans int64
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM sms_verifications s LEFT JOIN branches b ON b.id = s.branch_id WHERE b.id IS NULL").Scan(&orphans); err != nil || orphans != 0 {
		t.Errorf("orphans without Options.Orphans: %d, %v", orphans, err)
	}
}

func TestVerificarSMSOptions(t *testing.T) {
	t.Parallel()
	opt := importtest.Options{Orphans: 3, Duplicates: 2, Rows: map[string]int{"sms_verifications": 5000, "branches": 40}}
	want := importtest.VerificarSMSCounts(opt)
	if want["sms_verifications"] != 5003 || want["users"] != 7 || want["branches"] != 40 {
		t.Fatalf("VerificarSMSCounts(%+v) = %v", opt, want)
	}
	db := openSQLite(t, importtest.VerificarSMS(t, opt))
	checkCounts(t, db, `"`, want, sqliteTables(t, db))
	var orphans, dups int64
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM sms_verifications s LEFT JOIN branches b ON b.id = s.branch_id WHERE b.id IS NULL").Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) - COUNT(DISTINCT lower(username)) FROM users").Scan(&dups); err != nil {
		t.Fatal(err)
	}
	if orphans != 3 || dups != 2 {
		t.Errorf("orphans %d (want 3), usernames repeated but for case %d (want 2)", orphans, dups)
	}
}

func TestSiscaCounts(t *testing.T) {
	t.Parallel()
	rawURL := importtest.Sisca(t, importtest.Options{})
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "mysql" || !strings.HasPrefix(u.Path, "/"+importtest.SiscaDatabasePrefix) {
		t.Fatalf("Sisca returned %q (%v)", u.Redacted(), err)
	}
	db := openMariaDB(t, rawURL)
	var tables []string
	rows, err := db.QueryContext(t.Context(), "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	checkCounts(t, db, "`", importtest.SiscaCounts(importtest.Options{}), tables)

	// Passwords as SISCA v2.0 left them: one of the two columns per user,
	// or neither for the guest.
	for _, l := range importtest.SiscaLogins() {
		var plain, hash sql.NullString
		if err := db.QueryRowContext(t.Context(), "SELECT `contraseña`, `contraseña_hash` FROM usuarios WHERE nombre_usuario = ?", l.Username).Scan(&plain, &hash); err != nil {
			t.Fatalf("usuario %s: %v", l.Username, err)
		}
		switch l.Stored {
		case importtest.StoredPlaintext:
			if plain.String != l.Password || hash.Valid {
				t.Errorf("%s: contraseña %v, contraseña_hash %v: want the plaintext only", l.Username, plain.Valid, hash.Valid)
			}
		case importtest.StoredBcrypt:
			h := hash.String
			if !hash.Valid {
				h = plain.String
			}
			if !strings.HasPrefix(h, "$2y$") {
				t.Errorf("%s: hash %.4q is not PHP's $2y$", l.Username, h)
			}
			// Go's bcrypt reads $2b$; $2y$ is the same algorithm.
			if err := bcrypt.CompareHashAndPassword([]byte("$2b$"+strings.TrimPrefix(h, "$2y$")), []byte(l.Password)); err != nil {
				t.Errorf("%s: the hash does not check against the password: %v", l.Username, err)
			}
		case importtest.StoredEmpty:
			if plain.String != "" || hash.Valid {
				t.Errorf("%s: want no password", l.Username)
			}
		}
	}
	// utf8mb4 with accents and ñ, survives the round trip.
	var full string
	if err := db.QueryRowContext(t.Context(), "SELECT nombre_completo FROM usuarios WHERE nombre_usuario = 'mcastaneda'").Scan(&full); err != nil || full != "María Castañeda Ibáñez" {
		t.Errorf("mcastaneda = %q, %v", full, err)
	}
	// The guest never logged in: a zero date, as the PHP app wrote it.
	var last string
	if err := db.QueryRowContext(t.Context(), "SELECT CAST(ultimo_acceso AS CHAR) FROM usuarios WHERE nombre_usuario = 'invitado'").Scan(&last); err != nil || last != "0000-00-00 00:00:00" {
		t.Errorf("invitado's ultimo_acceso = %q, %v", last, err)
	}
}

func TestSiscaOptions(t *testing.T) {
	t.Parallel()
	opt := importtest.Options{Orphans: 4, Duplicates: 3, Rows: map[string]int{"carga_academica": 2500, "auditoria": 1200}}
	rawURL := importtest.Sisca(t, opt)
	db := openMariaDB(t, rawURL)
	want := importtest.SiscaCounts(opt)
	if want["carga_academica"] != 2504 || want["usuarios"] != 11 {
		t.Fatalf("SiscaCounts(%+v) = %v", opt, want)
	}
	checkCounts(t, db, "`", want, importtest.SiscaTables())
	var orphans, dups int64
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM carga_academica c LEFT JOIN docentes d ON d.id = c.docente_id WHERE d.id IS NULL").Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	// utf8mb4_spanish_ci ignores case: count the repeats in binary.
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(DISTINCT BINARY nombre_usuario) - COUNT(DISTINCT nombre_usuario) FROM usuarios").Scan(&dups); err != nil {
		t.Fatal(err)
	}
	if orphans != 4 || dups != 3 {
		t.Errorf("orphans %d (want 4), usernames repeated but for case %d (want 3)", orphans, dups)
	}
}

// The database goes with the test, even when the test fails.
func TestSiscaDropped(t *testing.T) {
	t.Parallel()
	var name, rawURL string
	t.Run("build", func(t *testing.T) {
		rawURL = importtest.Sisca(t, importtest.Options{Rows: map[string]int{"auditoria": 0}})
		u, err := url.Parse(rawURL)
		if err != nil {
			t.Fatal(err)
		}
		name = strings.TrimPrefix(u.Path, "/")
	})
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/information_schema"
	db := openMariaDB(t, u.String())
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s is still there after its test", name)
	}
}
