package importer

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/importer/importtest"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// mysqlTestDB is importtest.MySQL's database as a URL.
func mysqlTestDB(t *testing.T, stmts ...string) *url.URL {
	t.Helper()
	u, err := url.Parse(importtest.MySQL(t, stmts...))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func openMySQLTest(t *testing.T, u *url.URL) Source {
	t.Helper()
	src, err := openMySQL(t.Context(), u, nil)
	if err != nil {
		t.Fatalf("openMySQL: %v", err)
	}
	t.Cleanup(func() {
		if err := src.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return src
}

func TestMySQLSourceTypes(t *testing.T) {
	t.Parallel()
	u := mysqlTestDB(t,
		"CREATE TABLE `registros` ("+
			" id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"+
			" activo TINYINT(1) NOT NULL,"+
			" `año` SMALLINT NULL,"+
			" grande BIGINT UNSIGNED NULL,"+
			" monto DECIMAL(12,2) NULL,"+
			" razon DOUBLE NULL,"+
			" nombre VARCHAR(100) NULL,"+
			" notas TEXT NULL,"+
			" creado DATETIME NULL,"+
			" preciso DATETIME(6) NULL,"+
			" sello TIMESTAMP NULL DEFAULT NULL,"+
			" dia DATE NULL,"+
			" hora TIME NULL,"+
			" archivo BLOB NULL,"+
			" bandera BIT(1) NULL,"+
			" estado ENUM('activo','baja') NULL"+
			")",
		"INSERT INTO registros VALUES "+
			"(1, 1, 2024, 18446744073709551615, 1234567.89, 0.25, 'Muñoz Ñandú 🍣', 'línea 1\nlínea 2', '2024-03-01 10:20:30', '2024-03-01 10:20:30.123456', '2024-03-01 10:20:30', '2024-03-01', '838:59:59', x'00ff10', b'1', 'activo'),"+
			"(2, 0, NULL, NULL, NULL, NULL, NULL, NULL, '0000-00-00 00:00:00', NULL, NULL, '0000-00-00', NULL, NULL, b'0', NULL)",
		// What a non-strict schema lets in: partly zero dates.
		"CREATE TABLE malos (id INT, dia DATE, creado DATETIME, sello TIMESTAMP NULL DEFAULT NULL)",
		"INSERT INTO malos VALUES (1, '2024-00-15', '2024-03-00 10:00:00', '2024-03-01 10:20:30'), (2, '0000-00-00', '0000-00-00 00:00:00', NULL)",
		"CREATE TABLE `raro``nombre` (`col``umna` INT)",
		"INSERT INTO `raro``nombre` VALUES (7), (8)",
		"CREATE VIEW vista AS SELECT id FROM registros",
	)
	src := openMySQLTest(t, u)
	ctx := t.Context()

	tables, err := src.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"malos", "raro`nombre", "registros"}; !slices.Equal(tables, want) {
		t.Errorf("Tables = %q, want %q (base tables, no view)", tables, want)
	}
	cols, err := src.Columns(ctx, "registros")
	if err != nil {
		t.Fatal(err)
	}
	wantCols := []string{"id", "activo", "año", "grande", "monto", "razon", "nombre", "notas", "creado", "preciso", "sello", "dia", "hora", "archivo", "bandera", "estado"}
	if !slices.Equal(cols, wantCols) {
		t.Errorf("Columns = %q, want %q", cols, wantCols)
	}
	if _, err := src.Columns(ctx, "REGISTROS"); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Errorf("Columns of REGISTROS (another case) = %v, want not_found", err)
	}
	if n, err := src.Count(ctx, "registros"); err != nil || n != 2 {
		t.Errorf("Count = %d, %v; want 2", n, err)
	}

	// grande does not fit an int64: asked for apart.
	var got [][]any
	err = src.Rows(ctx, "registros", slices.DeleteFunc(slices.Clone(cols), func(c string) bool { return c == "grande" }), func(row []any) error {
		got = append(got, row)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) Naive {
		v, err := time.ParseInLocation("2006-01-02 15:04:05.999999", s, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		return Naive(v)
	}
	// DATETIME and DATE are naive wall clocks; the TIMESTAMP written at
	// 10:20:30 in a -06:00 session is the instant 16:20:30Z.
	want := [][]any{
		{int64(1), int64(1), int64(2024), "1234567.89", 0.25, "Muñoz Ñandú 🍣", "línea 1\nlínea 2", at("2024-03-01 10:20:30"), at("2024-03-01 10:20:30.123456"),
			time.Date(2024, 3, 1, 16, 20, 30, 0, time.UTC), at("2024-03-01 00:00:00"), "838:59:59", []byte{0x00, 0xff, 0x10}, int64(1), "activo"},
		{int64(2), int64(0), nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, int64(0), nil},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Rows:\n got %#v\nwant %#v", got, want)
	}
	for _, row := range got {
		for i, v := range row {
			if tv, ok := v.(time.Time); ok && tv.Location() != time.UTC {
				t.Errorf("column %d: the TIMESTAMP %v is not in UTC", i, tv)
			}
		}
	}

	// A value its type cannot hold is a BadValue naming the column, and
	// the rows go on: the engine skips that row only.
	var bad [][]any
	if err := src.Rows(ctx, "registros", []string{"id", "grande"}, func(row []any) error { bad = append(bad, row); return nil }); err != nil {
		t.Fatalf("BIGINT UNSIGNED beyond int64: %v", err)
	}
	wantBad := [][]any{{int64(1), BadValue{Column: "grande", Problem: "not a whole number within ±2^63"}}, {int64(2), nil}}
	if !reflect.DeepEqual(bad, wantBad) {
		t.Errorf("BIGINT UNSIGNED beyond int64:\n got %#v\nwant %#v", bad, wantBad)
	}
	bad = nil
	if err := src.Rows(ctx, "malos", []string{"id", "dia", "creado", "sello"}, func(row []any) error { bad = append(bad, row); return nil }); err != nil {
		t.Fatalf("partly zero dates: %v", err)
	}
	wantBad = [][]any{
		{int64(1), BadValue{Column: "dia", Problem: "not a valid date"}, BadValue{Column: "creado", Problem: "not a valid date"}, time.Date(2024, 3, 1, 16, 20, 30, 0, time.UTC)},
		{int64(2), nil, nil, nil},
	}
	if !reflect.DeepEqual(bad, wantBad) {
		t.Errorf("partly zero dates:\n got %#v\nwant %#v", bad, wantBad)
	}
	if r := (BadValue{Column: "dia", Problem: "not a valid date"}).Reason(); r != "invalid dia: not a valid date" {
		t.Errorf("Reason = %q", r)
	}

	// Backticks in names are doubled, not an injection.
	var vals []any
	if err := src.Rows(ctx, "raro`nombre", []string{"col`umna"}, func(row []any) error { vals = append(vals, row[0]); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(vals, []any{int64(7), int64(8)}) {
		t.Errorf("raro`nombre: %v", vals)
	}
	if n, err := src.Count(ctx, "raro`nombre"); err != nil || n != 2 {
		t.Errorf("Count raro`nombre = %d, %v", n, err)
	}

	// Missing table and column, and fn's error returned as is.
	if _, err := src.Count(ctx, "nada"); tenant.ErrorCode(err) != tenant.ENotFound || err.Error() != "mysql source "+u.Host+u.Path+`: no table "nada"` {
		t.Errorf("Count of a missing table: %v, want not_found", err)
	}
	if err := src.Rows(ctx, "registros", []string{"falta"}, func([]any) error { return nil }); tenant.ErrorCode(err) != tenant.EInvalid ||
		err.Error() != "mysql source "+u.Host+u.Path+`: table "registros" lacks a column the mapping reads` {
		t.Errorf("Rows of a missing column: %v, want invalid_input, one fixed line", err)
	}
	stop := fmt.Errorf("stop")
	calls := 0
	if err := src.Rows(ctx, "registros", []string{"id"}, func([]any) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("Rows with fn failing: %v after %d calls, want fn's error after 1", err, calls)
	}
	if d := src.Describe(); d != "mysql://"+u.User.Username()+"@"+u.Host+u.Path {
		t.Errorf("Describe = %q", d)
	}
	if pw, _ := u.User.Password(); strings.Contains(src.Describe(), pw) {
		t.Errorf("Describe shows the password")
	}
}

// The SISCA fixture through the source: its tables and counts as built.
func TestMySQLSourceSisca(t *testing.T) {
	t.Parallel()
	opt := importtest.Options{Orphans: 2, Duplicates: 1}
	u, err := url.Parse(importtest.Sisca(t, opt))
	if err != nil {
		t.Fatal(err)
	}
	src := openMySQLTest(t, u)
	tables, err := src.Tables(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := importtest.SiscaTables()
	sort.Strings(want)
	if !slices.Equal(tables, want) {
		t.Fatalf("Tables = %q, want %q", tables, want)
	}
	for table, n := range importtest.SiscaCounts(opt) {
		if got, err := src.Count(t.Context(), table); err != nil || got != n {
			t.Errorf("Count(%s) = %d, %v; want %d", table, got, err, n)
		}
		cols, err := src.Columns(t.Context(), table)
		if err != nil {
			t.Fatal(err)
		}
		rows := int64(0)
		if err := src.Rows(t.Context(), table, cols, func(row []any) error {
			if len(row) != len(cols) {
				return fmt.Errorf("%d values for %d columns", len(row), len(cols))
			}
			rows++
			return nil
		}); err != nil || rows != n {
			t.Errorf("Rows(%s): %d rows, %v; want %d", table, rows, err, n)
		}
	}
	// usuarios: TINYINT(1) as int64, the zero date as nil, ñ in names.
	cols := []string{"nombre_usuario", "contraseña", "bloqueado", "ultimo_acceso", "nombre_completo"}
	seen := map[string][]any{}
	if err := src.Rows(t.Context(), "usuarios", cols, func(row []any) error { seen[row[0].(string)] = row; return nil }); err != nil {
		t.Fatal(err)
	}
	if r := seen["prefecto1"]; r[1] != "prefectura" || r[2] != int64(1) {
		t.Errorf("prefecto1 = %#v", r)
	}
	if r := seen["invitado"]; r[1] != "" || r[3] != nil {
		t.Errorf("invitado = %#v: want an empty password and no last login", r)
	}
	if r := seen["mcastaneda"]; r[4] != "María Castañeda Ibáñez" {
		t.Errorf("mcastaneda = %#v", r)
	}
}

func TestMySQLSourceErrors(t *testing.T) {
	t.Parallel()
	base, err := url.Parse(platformtest.Getenv(t, "PLATFORM_TEST_MYSQL_URL"))
	if err != nil {
		t.Fatal(err)
	}
	const secret = "s3cr3t-Clave-42"
	// A port nothing listens on: taken, then given back.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	existing := mysqlTestDB(t)
	wrongPW := *existing
	wrongPW.User = url.UserPassword(existing.User.Username(), secret)
	noDB := *base
	noDB.Path = "/platformtest_no_such_db"

	for _, tc := range []struct {
		name, url, code, want string
	}{
		{"refused", "mysql://platform_test:" + secret + "@" + closed + "/sisca", tenant.EUnavailable, "mysql source " + closed + "/sisca: connection refused"},
		{"unknown host", "mysql://u:" + secret + "@no-such-host.invalid/sisca", tenant.EUnavailable, "mysql source no-such-host.invalid:3306/sisca: unknown host"},
		{"wrong password", wrongPW.String(), tenant.EInvalid, "mysql source " + existing.Host + existing.Path + ": access denied (check the user and password)"},
		{"no database", noDB.String(), tenant.EInvalid, "mysql source " + base.Host + "/platformtest_no_such_db: no such database"},
		{"no db in path", "mysql://u:" + secret + "@127.0.0.1:3306/", tenant.EInvalid, "mysql source URL: the path must be one database name"},
		{"nested path", "mysql://u:" + secret + "@127.0.0.1/a/b", tenant.EInvalid, "mysql source URL: the path must be one database name"},
		{"no user", "mysql://127.0.0.1/sisca", tenant.EInvalid, "mysql source URL: no user"},
		{"no host", "mysql://u:" + secret + "@/sisca", tenant.EInvalid, "mysql source URL: no host"},
		{"bad port", "mysql://u:" + secret + "@127.0.0.1:99999/sisca", tenant.EInvalid, "mysql source URL: bad port"},
		{"unknown parameter", "mysql://u:" + secret + "@127.0.0.1/sisca?parseTime=true", tenant.EInvalid, `mysql source URL: unknown parameter "parseTime"`},
		{"bad tls", "mysql://u:" + secret + "@127.0.0.1/sisca?tls=maybe", tenant.EInvalid, `mysql source URL: tls="maybe"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, err := url.Parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 2*mysqlConnectTimeout)
			defer cancel()
			src, err := openMySQL(ctx, u, nil)
			if err == nil {
				src.Close()
				t.Fatalf("openMySQL(%s) worked", u.Redacted())
			}
			msg := err.Error()
			if tenant.ErrorCode(err) != tc.code || !strings.HasPrefix(msg, tc.want) {
				t.Errorf("error %s %q, want %s %q…", tenant.ErrorCode(err), msg, tc.code, tc.want)
			}
			if strings.Contains(msg, "\n") || strings.Contains(msg, secret) {
				t.Errorf("error %q: want one line without the password", msg)
			}
		})
	}
}

// TestMySQLSourceLostConnection: the server kills the connection while a
// table streams: one fixed line naming the table, the driver's text in
// the log only.
func TestMySQLSourceLostConnection(t *testing.T) {
	t.Parallel()
	u := mysqlTestDB(t,
		"CREATE TABLE usuarios (id INT PRIMARY KEY, texto VARCHAR(1000))",
		// 20 MB, more than the sockets' buffers hold: the server is still
		// sending when the connection is killed.
		"INSERT INTO usuarios SELECT a.i * 1000 + b.i, REPEAT('x', 1000) FROM"+
			" (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) SELECT i FROM n) AS a,"+
			" (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) SELECT i FROM n) AS b",
	)
	var log bytes.Buffer
	src, err := openMySQL(t.Context(), u, slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	admin := importtest.MySQLDB(t, u.String(), "")
	killed := false
	err = src.Rows(t.Context(), "usuarios", []string{"id", "texto"}, func([]any) error {
		if killed {
			return nil
		}
		killed = true
		// The source's connections to this database (the reading one may
		// look idle: the server has written what the sockets take).
		rows, err := admin.QueryContext(t.Context(), `SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()`)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil || len(ids) == 0 {
			return fmt.Errorf("the source's connections: %v %v", ids, err)
		}
		for _, id := range ids {
			if _, err := admin.ExecContext(t.Context(), fmt.Sprintf("KILL CONNECTION %d", id)); err != nil {
				return err
			}
		}
		return nil
	})
	want := "mysql source " + u.Host + u.Path + ": lost the connection while reading usuarios"
	if tenant.ErrorCode(err) != tenant.EUnavailable || err == nil || err.Error() != want {
		t.Errorf("a killed connection: %v (%s), want unavailable %q", err, tenant.ErrorCode(err), want)
	}
	if !strings.Contains(log.String(), "import source failed") {
		t.Errorf("the cause is not logged: %s", log.String())
	}
}

// Something listens but never greets (not MySQL, or a hung server): the
// open gives up after its timeout with one line, instead of waiting forever.
func TestMySQLSourceSilentServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c // held open, silent, until the test ends
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range accepted {
			c.Close()
		}
	})
	u, err := url.Parse("mysql://u:s3cr3t@" + ln.Addr().String() + "/sisca")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	src, err := mysqlOpenTimeout(t.Context(), u, 500*time.Millisecond, nil)
	if err == nil {
		src.Close()
		t.Fatal("opened a source on a silent server")
	}
	want := "mysql source " + ln.Addr().String() + "/sisca: connection timed out"
	if tenant.ErrorCode(err) != tenant.EUnavailable || err.Error() != want || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error %s %q, want unavailable %q", tenant.ErrorCode(err), err, want)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("gave up after %v, want about the timeout", d)
	}
}

// Reading a million rows through the source (the importer's figures):
//
//	go test ./platform/importer/ -run '^$' -bench MySQLSourceRows -benchtime 3x
func BenchmarkMySQLSourceRows(b *testing.B) {
	const rows = 1_000_000
	u, err := url.Parse(importtest.Sisca(b, importtest.Options{Rows: map[string]int{"auditoria": rows}}))
	if err != nil {
		b.Fatal(err)
	}
	src, err := openMySQL(b.Context(), u, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	cols, err := src.Columns(b.Context(), "auditoria")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		n := 0
		if err := src.Rows(b.Context(), "auditoria", cols, func([]any) error { n++; return nil }); err != nil || n != rows {
			b.Fatalf("%d rows, %v", n, err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// TestMySQLSourceSnapshot: Count and Rows see every table as of the
// source's first read, whatever the legacy app writes meanwhile (a
// parent read before its new child would otherwise make an orphan, and a
// count before the read a mismatch).
func TestMySQLSourceSnapshot(t *testing.T) {
	t.Parallel()
	u := mysqlTestDB(t,
		"CREATE TABLE periodos (id INT PRIMARY KEY) ENGINE=InnoDB",
		"CREATE TABLE grupos (id INT PRIMARY KEY, periodo_id INT) ENGINE=InnoDB",
		"INSERT INTO periodos VALUES (1), (2)",
		"INSERT INTO grupos VALUES (10, 1)")
	src := openMySQLTest(t, u)
	app := importtest.MySQLDB(t, u.String(), "")
	n, err := src.Count(t.Context(), "periodos")
	if err != nil || n != 2 {
		t.Fatalf("count periodos: %d %v", n, err)
	}
	// The app goes on: a new period and a group of it, a deleted period.
	for _, q := range []string{"INSERT INTO periodos VALUES (3)", "INSERT INTO grupos VALUES (11, 3)", "DELETE FROM periodos WHERE id = 2"} {
		if _, err := app.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(table string) []int64 {
		var out []int64
		if err := src.Rows(t.Context(), table, []string{"id"}, func(row []any) error {
			out = append(out, row[0].(int64))
			return nil
		}); err != nil {
			t.Fatalf("rows %s: %v", table, err)
		}
		return out
	}
	if got := ids("periodos"); !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("periodos read after the app wrote: %v, want the snapshot's [1 2]", got)
	}
	if got := ids("grupos"); !slices.Equal(got, []int64{10}) {
		t.Errorf("grupos: %v, want the snapshot's [10]", got)
	}
	if n, err := src.Count(t.Context(), "grupos"); err != nil || n != 1 {
		t.Errorf("count grupos: %d %v, want 1", n, err)
	}
}
