package importtest

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// VerificarSMS's tables and their rows in its owner's run.
const (
	VerificarSMSUsers            = "users"
	VerificarSMSBranches         = "branches"
	VerificarSMSVerifications    = "sms_verifications"
	VerificarSMSResetTokens      = "reset_tokens"
	verificarSMSDefaultUsers     = 5
	verificarSMSDefaultBranches  = 23
	verificarSMSDefaultSMS       = 6
	verificarSMSDefaultResets    = 2
	verificarSMSOrphanBranchBase = 900000
)

// VerificarSMSTimezone is the zone of the app's naive dates: it ran in
// Santiago and stored local wall clocks (SQLite has no zone).
const VerificarSMSTimezone = "America/Santiago"

// VerificarSMSDeletedBranches is how many branches the app marked deleted
// (deleted = 1, kept in the table): branch 23 (SUC-023), when there are at
// least 23.
const VerificarSMSDeletedBranches = 1

var verificarSMSDefaults = map[string]int{
	VerificarSMSUsers:         verificarSMSDefaultUsers,
	VerificarSMSBranches:      verificarSMSDefaultBranches,
	VerificarSMSVerifications: verificarSMSDefaultSMS,
	VerificarSMSResetTokens:   verificarSMSDefaultResets,
}

// VerificarSMSCounts is the rows of each table VerificarSMS(t, opt) builds.
func VerificarSMSCounts(opt Options) map[string]int64 {
	out := map[string]int64{}
	for table, def := range verificarSMSDefaults {
		out[table] = int64(opt.rowsOf(table, def))
	}
	out[VerificarSMSUsers] += int64(opt.Duplicates)
	out[VerificarSMSVerifications] += int64(opt.Orphans)
	return out
}

// The app's schema as its developer wrote it: SQLite affinities, dates as
// text in local time, booleans as 0/1, foreign keys declared but not
// enforced (PRAGMA foreign_keys was never turned on: orphans are possible).
const verificarSMSSchema = `
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    nombre        TEXT NOT NULL,
    email         TEXT,
    rol           TEXT NOT NULL DEFAULT 'operador' CHECK (rol IN ('admin', 'operador')),
    activo        INTEGER NOT NULL DEFAULT 1,
    creado_en     DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    ultimo_acceso DATETIME
);
CREATE TABLE branches (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    codigo         TEXT NOT NULL UNIQUE,
    nombre         TEXT NOT NULL,
    direccion      TEXT,
    ciudad         TEXT NOT NULL,
    telefono       TEXT NOT NULL DEFAULT '',
    activa         INTEGER NOT NULL DEFAULT 1,
    fecha_apertura DATE,
    estado         TEXT NOT NULL DEFAULT 'A',
    notas          TEXT,
    deleted        INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE sms_verifications (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id     INTEGER NOT NULL REFERENCES branches (id),
    user_id       INTEGER REFERENCES users (id),
    telefono      TEXT NOT NULL,
    codigo        TEXT NOT NULL,
    estado        TEXT NOT NULL DEFAULT 'enviado',
    intentos      INTEGER NOT NULL DEFAULT 0,
    mensaje       TEXT NOT NULL,
    proveedor     TEXT NOT NULL DEFAULT 'twilio',
    enviado_en    DATETIME NOT NULL,
    verificado_en DATETIME
);
CREATE INDEX idx_sms_branch ON sms_verifications (branch_id);
CREATE TABLE reset_tokens (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id   INTEGER NOT NULL REFERENCES users (id),
    token     TEXT NOT NULL UNIQUE,
    creado_en DATETIME NOT NULL,
    expira_en DATETIME NOT NULL,
    usado     INTEGER NOT NULL DEFAULT 0
);
`

// VerificarSMSLogins are the fixture's users with their passwords (all
// bcrypt hashes, $2b$ as Python's bcrypt writes them), in id order; users
// beyond these (Options.Rows) share the password of generated users. None
// is "admin": a provisioned tenant has that user already, and importing
// over it is a conflict (a test of its own makes one on purpose).
func VerificarSMSLogins() []Login {
	return []Login{
		{Username: "administrador", Password: "Verificar#2023", Stored: StoredBcrypt},
		{Username: "mgonzalez", Password: "Sucursal.Ñuñoa7", Stored: StoredBcrypt},
		{Username: "jperez", Password: "Códigos-2024", Stored: StoredBcrypt},
		{Username: "csilva", Password: "Viña.del.Mar9", Stored: StoredBcrypt},
		{Username: "rmunoz", Password: "Temuco!2022", Stored: StoredBcrypt},
	}
}

// GeneratedPassword is the password of generated users (beyond the
// hand-picked ones) in both fixtures.
const GeneratedPassword = "Generado.2024"

var (
	verificarSMSNames = []string{"Administrador VerificarSMS", "María José González Muñoz", "Juan Pablo Pérez Ñancupil", "Catalina Silva Araya", "Rodrigo Muñoz Valdés"}
	chileCities       = []string{"Santiago Centro", "Providencia", "Las Condes", "Ñuñoa", "Maipú", "La Florida", "Puente Alto", "Valparaíso", "Viña del Mar", "Concepción", "Talcahuano", "Temuco", "Valdivia", "Puerto Montt", "Osorno", "La Serena", "Coquimbo", "Antofagasta", "Iquique", "Arica", "Rancagua", "Talca", "Chillán"}
	chileStreets      = []string{"Av. Libertador Bernardo O'Higgins", "Av. Providencia", "Av. Apoquindo", "Av. Irarrázaval", "Av. Pajaritos", "Av. Vicuña Mackenna", "Av. Concha y Toro", "Av. Pedro Montt", "Av. Libertad", "Calle Barros Arana", "Av. Colón", "Av. Alemania", "Calle Picarte", "Av. Diego Portales", "Calle Ramírez", "Av. Francisco de Aguirre", "Av. Costanera", "Av. Grecia", "Av. Arturo Prat", "Calle 21 de Mayo", "Av. Brasil", "Calle 1 Sur", "Av. Libertad"}
	smsStates         = []string{"verificado", "verificado", "enviado", "expirado", "verificado", "fallido"}
)

// verificarSMSEpoch is the app's first day, a wall clock in Santiago.
var verificarSMSEpoch = time.Date(2024, 3, 4, 9, 15, 0, 0, time.UTC)

const sqliteDateTime = "2006-01-02 15:04:05"

// VerificarSMS builds the VerificarSMS SQLite database in t.TempDir()
// and returns the file's path; counts are VerificarSMSCounts(opt).
func VerificarSMS(t testing.TB, opt Options) string {
	t.Helper()
	opt.check(t, "VerificarSMS", verificarSMSDefaults)
	nUsers := opt.rowsOf(VerificarSMSUsers, verificarSMSDefaultUsers)
	nBranches := opt.rowsOf(VerificarSMSBranches, verificarSMSDefaultBranches)
	nSMS := opt.rowsOf(VerificarSMSVerifications, verificarSMSDefaultSMS)
	nResets := opt.rowsOf(VerificarSMSResetTokens, verificarSMSDefaultResets)
	if opt.Duplicates > nUsers {
		t.Fatalf("importtest.VerificarSMS: %d duplicates of %d users", opt.Duplicates, nUsers)
	}
	if (nSMS > 0 && nBranches == 0) || (nResets > 0 && nUsers == 0) {
		t.Fatalf("importtest.VerificarSMS: child rows need parents (branches %d, users %d)", nBranches, nUsers)
	}

	path := filepath.Join(t.TempDir(), "verificarsms.db")
	ctx := t.Context()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("importtest: open %s: %v", path, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, verificarSMSSchema); err != nil {
		t.Fatalf("importtest: VerificarSMS schema: %v", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("importtest: begin: %v", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op

	logins := VerificarSMSLogins()
	hashes := make([]string, len(logins))
	for i, l := range logins {
		hashes[i] = hashPassword(t, l.Password, "$2b$")
	}
	generated := hashPassword(t, GeneratedPassword, "$2b$")
	user := func(i int) []any {
		username, name, hash := fmt.Sprintf("usuario%04d", i+1), fmt.Sprintf("Operador %d", i+1), generated
		if i < len(logins) {
			username, name, hash = logins[i].Username, verificarSMSNames[i], hashes[i]
		}
		rol := "operador"
		if i == 0 {
			rol = "admin"
		}
		var email, last any
		if i%4 != 3 { // some never gave an email nor logged in
			email = username + "@verificarsms.cl"
			last = verificarSMSEpoch.Add(time.Duration(200+i) * time.Hour).Format(sqliteDateTime)
		}
		activo := 1
		if i == 3 {
			activo = 0
		}
		created := verificarSMSEpoch.Add(-time.Duration(30-i%30) * 24 * time.Hour).Format(sqliteDateTime)
		return []any{i + 1, username, hash, name, email, rol, activo, created, last}
	}
	sqliteInsert(t, tx, "users", []string{"id", "username", "password_hash", "nombre", "email", "rol", "activo", "creado_en", "ultimo_acceso"}, nUsers, user)
	// Duplicates: the same person registered again with a capital letter
	// (SQLite's UNIQUE is case-sensitive, so the app let it through).
	sqliteInsert(t, tx, "users", []string{"id", "username", "password_hash", "nombre", "email", "rol", "activo", "creado_en", "ultimo_acceso"}, opt.Duplicates, func(i int) []any {
		r := user(i)
		r[0] = nUsers + i + 1
		r[1] = caseTwin(r[1].(string))
		r[4] = nil // the email is unique in the target: only the username repeats
		return r
	})

	sqliteInsert(t, tx, "branches", []string{"id", "codigo", "nombre", "direccion", "ciudad", "telefono", "activa", "fecha_apertura", "estado", "notas", "deleted"}, nBranches, func(i int) []any {
		city := numbered(chileCities, i, "%s %d")
		nombre := "Sucursal " + city
		if i%5 == 2 {
			nombre = " " + nombre + "  " // typed by hand: the mapping trims
		}
		phone := fmt.Sprintf("+56 2 2%03d %04d", 100+i%900, (i*7919)%10000)
		if i%6 == 4 {
			phone = "" // unknown: the mapping turns it into NULL
		}
		activa, estado, deleted := 1, "A", 0
		if i%7 == 5 {
			activa, estado = 0, "I"
		}
		var notas any
		if i%3 == 0 {
			notas = "Horario: lunes a sábado, 09:00–19:00"
		}
		if i == verificarSMSDefaultBranches-1 {
			nombre, activa, estado, deleted, notas = "Sucursal "+city+" (cerrada)", 0, "I", 1, "Cerrada por remodelación"
		}
		opened := time.Date(2015+i%9, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
		return []any{i + 1, fmt.Sprintf("SUC-%03d", i+1), nombre, fmt.Sprintf("%s %d", pick(chileStreets, i), 100+i*37%2900), city, phone, activa, opened, estado, notas, deleted}
	})

	sms := func(i int) []any {
		code := fmt.Sprintf("%06d", (i*482913+137)%1000000)
		estado := pick(smsStates, i)
		sent := verificarSMSEpoch.Add(time.Duration(i)*7*time.Minute + time.Duration(i%60)*time.Second)
		var verified any
		if estado == "verificado" {
			verified = sent.Add(time.Duration(40+i%200) * time.Second).Format(sqliteDateTime)
		}
		var userID any
		if nUsers > 0 && i%5 != 4 {
			userID = i%nUsers + 1
		}
		return []any{i + 1, i%max(nBranches, 1) + 1, userID, fmt.Sprintf("+56 9 %04d %04d", 5000+i%5000, (i*3571)%10000), code, estado, 1 + i%3,
			"VerificarSMS: su código de verificación es " + code + ". No lo comparta con nadie.", "twilio", sent.Format(sqliteDateTime), verified}
	}
	smsCols := []string{"id", "branch_id", "user_id", "telefono", "codigo", "estado", "intentos", "mensaje", "proveedor", "enviado_en", "verificado_en"}
	sqliteInsert(t, tx, "sms_verifications", smsCols, nSMS, sms)
	// Orphans: verifications of branches deleted by hand from the file.
	sqliteInsert(t, tx, "sms_verifications", smsCols, opt.Orphans, func(i int) []any {
		r := sms(nSMS + i)
		r[1] = verificarSMSOrphanBranchBase + i + 1
		return r
	})

	sqliteInsert(t, tx, "reset_tokens", []string{"id", "user_id", "token", "creado_en", "expira_en", "usado"}, nResets, func(i int) []any {
		created := verificarSMSEpoch.Add(time.Duration(100+i*13) * time.Hour)
		return []any{i + 1, (i+1)%nUsers + 1, fmt.Sprintf("%064x", uint64(i+1)*0x9e3779b97f4a7c15), created.Format(sqliteDateTime),
			created.Add(time.Hour).Format(sqliteDateTime), i % 2}
	})
	if err := tx.Commit(); err != nil {
		t.Fatalf("importtest: VerificarSMS commit: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("importtest: close %s: %v", path, err)
	}
	return path
}

// sqliteInsert inserts n rows made by row(i), i from 0, with one prepared
// statement inside the caller's transaction.
func sqliteInsert(t testing.TB, tx *sql.Tx, table string, cols []string, n int, row func(i int) []any) {
	t.Helper()
	if n == 0 {
		return
	}
	q := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES (?" + strings.Repeat(", ?", len(cols)-1) + ")"
	st, err := tx.Prepare(q)
	if err != nil {
		t.Fatalf("importtest: prepare %s: %v", table, err)
	}
	defer st.Close()
	for i := range n {
		if _, err := st.Exec(row(i)...); err != nil {
			t.Fatalf("importtest: insert into %s (row %d): %v", table, i+1, err)
		}
	}
}
