package importer

import (
	"bytes"
	"log/slog"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/importer/importtest"
	"github.com/tenancy/platform/tenant"
)

func openSQLiteTest(t *testing.T, path string, log *slog.Logger) Source {
	t.Helper()
	src, err := openSQLite(t.Context(), &url.URL{Scheme: "sqlite", Path: path}, "", log)
	if err != nil {
		t.Fatalf("openSQLite: %v", err)
	}
	t.Cleanup(func() {
		if err := src.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return src
}

func readAll(t *testing.T, src Source, table string, cols []string) ([][]any, error) {
	t.Helper()
	var got [][]any
	err := src.Rows(t.Context(), table, cols, func(row []any) error { got = append(got, row); return nil })
	return got, err
}

// TestSQLiteSourceTimes: text in a DATETIME, DATE or TIMESTAMP column is
// a Naive without a zone and an instant with one (the driver's own
// parsing would make both UTC wall clocks and lose the offset); other
// values come as stored.
func TestSQLiteSourceTimes(t *testing.T) {
	t.Parallel()
	path := importtest.SQLite(t,
		`CREATE TABLE t (id INTEGER PRIMARY KEY, creado DATETIME, dia DATE, sello TIMESTAMP, texto TEXT)`,
		`INSERT INTO t VALUES
			(1, '2024-03-01 10:20:30', '2024-03-01', '2024-03-01T16:20:30Z', '2024-03-01 10:20:30'),
			(2, '2024-03-01 10:20:30-06:00', NULL, '2024-03-01 16:20:30.25+00:00', NULL),
			(3, 1709310030, 'ayer', '2024-03-01 10:20:30.5 -0600 CST m=+0.000000001', NULL),
			(4, 'nunca', NULL, NULL, NULL)`,
	)
	src := openSQLiteTest(t, path, nil)
	got, err := readAll(t, src, "t", []string{"id", "creado", "dia", "sello", "texto"})
	if err != nil {
		t.Fatal(err)
	}
	cst := time.FixedZone("", -6*3600)
	want := [][]any{
		{int64(1), Naive(time.Date(2024, 3, 1, 10, 20, 30, 0, time.UTC)), Naive(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)), time.Date(2024, 3, 1, 16, 20, 30, 0, time.UTC), "2024-03-01 10:20:30"},
		{int64(2), time.Date(2024, 3, 1, 10, 20, 30, 0, cst), nil, time.Date(2024, 3, 1, 16, 20, 30, 25e7, time.UTC), nil},
		{int64(3), int64(1709310030), "ayer", time.Date(2024, 3, 1, 10, 20, 30, 5e8, cst), nil},
		{int64(4), "nunca", nil, nil, nil},
	}
	if len(got) != len(want) {
		t.Fatalf("rows: %#v", got)
	}
	for i := range want {
		for j := range want[i] {
			g, w := got[i][j], want[i][j]
			if wt, ok := w.(time.Time); ok {
				if gt, ok := g.(time.Time); !ok || !gt.Equal(wt) {
					t.Errorf("row %d column %d = %#v, want the instant %v", i+1, j, g, wt)
				}
				continue
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("row %d column %d = %#v, want %#v", i+1, j, g, w)
			}
		}
	}
	// The offset is kept: with or without the transform, one instant.
	mx, err := time.LoadLocation("America/Mexico_City")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 3, 1, 16, 20, 30, 0, time.UTC)
	for _, v := range []any{got[0][1], got[1][1], got[2][1], got[0][3]} {
		if tt, ok := toTime(v, mx); !ok || !tt.Equal(at) {
			t.Errorf("%#v is %v, want %v", v, tt, at)
		}
	}
}

// TestSQLiteSourceLimits: a value over 2 MiB is refused with one line
// naming the table and column, never the value; the table is still
// counted, and smaller values read.
func TestSQLiteSourceLimits(t *testing.T) {
	t.Parallel()
	path := importtest.SQLite(t,
		`CREATE TABLE notas (id INTEGER PRIMARY KEY, titulo TEXT, cuerpo TEXT, adjunto BLOB)`,
		`INSERT INTO notas VALUES (1, 'corta', 'hola', x'00ff')`,
		// 2 MiB exactly is allowed; one byte more is not.
		`INSERT INTO notas VALUES (2, 'justa', substr(hex(zeroblob(1048576)), 1), NULL)`,
		`INSERT INTO notas VALUES (3, 'enorme', 'ok', zeroblob(3145728))`,
		`INSERT INTO notas VALUES (4, 'texto', 'Q' || substr(hex(zeroblob(1048576)), 1), NULL)`,
	)
	src := openSQLiteTest(t, path, nil)
	if n, err := src.Count(t.Context(), "notas"); err != nil || n != 4 {
		t.Fatalf("Count = %d, %v", n, err)
	}
	got, err := readAll(t, src, "notas", []string{"id", "titulo", "cuerpo"})
	if err == nil || tenant.ErrorCode(err) != tenant.EInvalid ||
		err.Error() != "sqlite://"+path+`: table "notas" column "cuerpo" holds a value over 2 MiB (the most a source value may be): nothing imported` {
		t.Fatalf("a 2 MiB + 1 text: %v (%s)", err, tenant.ErrorCode(err))
	}
	if len(got) != 3 || len(got[1][2].(string)) != maxValueBytes {
		t.Errorf("rows before the big one: %d", len(got))
	}
	_, err = readAll(t, src, "notas", []string{"id", "adjunto"})
	if err == nil || !strings.Contains(err.Error(), `table "notas" column "adjunto" holds a value over 2 MiB`) || strings.Contains(err.Error(), "\n") {
		t.Errorf("a 3 MiB blob: %v", err)
	}
}

// TestSQLiteSourceDamagedFile: a file whose pages after the first are
// overwritten opens (its schema is intact) but reading its table fails
// with one fixed line; SQLite's own message goes to the log only.
func TestSQLiteSourceDamagedFile(t *testing.T) {
	t.Parallel()
	path := importtest.SQLite(t,
		`CREATE TABLE datos (id INTEGER PRIMARY KEY, texto TEXT)`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
		 INSERT INTO datos SELECT i, 'fila número ' || i FROM n`,
	)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 3*4096 {
		t.Fatalf("the file has %d bytes, want several pages", len(b))
	}
	for i := 4096; i < len(b); i++ {
		b[i] = 0xA5
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	src := openSQLiteTest(t, path, slog.New(slog.NewTextHandler(&log, nil)))
	_, err = src.Count(t.Context(), "datos")
	want := "sqlite://" + path + ": count datos: the file is damaged (a corrupt SQLite database)"
	if tenant.ErrorCode(err) != tenant.EInvalid || err == nil || err.Error() != want {
		t.Errorf("count of a damaged table: %v (%s), want %q", err, tenant.ErrorCode(err), want)
	}
	if !strings.Contains(log.String(), "malformed") {
		t.Errorf("the log lacks SQLite's message: %s", log.String())
	}
}
