package importer

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenancy/platform/tenant"
)

// TestCSVSourceLimits: a field over 2 MiB is refused naming its table and
// column; a record over 8 MiB (many large fields, or an unclosed quote
// that would make the rest of the file one field) is refused before it is
// read whole; parse errors name the line, never a value. Each is one line.
func TestCSVSourceLimits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const secret = "valor-secreto-123"
	mib := strings.Repeat("x", 1<<20)
	files := map[string]string{
		"justa.csv":     "id,nota\n1," + strings.Repeat(mib, 2) + "\n2,ok\n",
		"grande.csv":    "id,titulo,nota\n1,corta,ok\n2,larga," + secret + strings.Repeat(mib, 2) + "\n",
		"ancha.csv":     "a,b,c,d,e\n1,2,3,4,5\n" + strings.Repeat(strings.Repeat(mib, 2)+",", 4) + strings.Repeat(mib, 2) + "\n",
		"comilla.csv":   "id,nota\n1,ok\n2,\"" + secret + " sin cerrar\n" + strings.Repeat(mib+"\n", 12),
		"campos.csv":    "id,nota\n1,ok\n2,dos,tres\n",
		"cabecera.csv":  strings.Repeat("h", 9<<20) + "\n1\n",
		"comillas.csv":  "id,nota\n1,a\"b" + secret + "\n",
		"utf8.csv":      "\ufeffid , nota\n1,ñandú\n",
		"vacio.csv":     "",
		"sin_filas.csv": "id,nota\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	src, err := openCSV(&url.URL{Scheme: "csv", Path: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	desc := "csv://" + dir
	for _, c := range []struct {
		table, code, want string
	}{
		{"justa", "", ""},
		{"utf8", "", ""},
		{"sin_filas", "", ""},
		{"grande", tenant.EInvalid, desc + `: table "grande" column "nota" holds a value over 2 MiB (the most a source value may be): nothing imported`},
		{"ancha", tenant.EInvalid, desc + ": ancha.csv: row 2 is over 8 MiB (an unclosed quote?)"},
		{"comilla", tenant.EInvalid, desc + ": comilla.csv: row 2 is over 8 MiB (an unclosed quote?)"},
		{"cabecera", tenant.EInvalid, desc + ": cabecera.csv: the header row is over 8 MiB (an unclosed quote?)"},
		{"campos", tenant.EInvalid, desc + ": campos.csv: line 3: wrong number of fields"},
		{"comillas", tenant.EInvalid, desc + `: comillas.csv: line 2: a bare " in a field without quotes`},
		{"vacio", tenant.EInvalid, desc + ": vacio.csv is empty (want a header row)"},
	} {
		cols, err := src.Columns(t.Context(), c.table)
		rows := 0
		if err == nil {
			err = src.Rows(t.Context(), c.table, cols, func(row []any) error {
				rows++
				for _, v := range row {
					if len(v.(string)) > maxValueBytes {
						t.Errorf("%s: a value of %d bytes", c.table, len(v.(string)))
					}
				}
				return nil
			})
		}
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.table, err)
			}
			continue
		}
		if err == nil || tenant.ErrorCode(err) != c.code || err.Error() != c.want {
			t.Errorf("%s: %v (%s), want %s %q", c.table, err, tenant.ErrorCode(err), c.code, c.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error quotes a value", c.table)
		}
		if _, cerr := src.Count(t.Context(), c.table); cerr == nil || cerr.Error() != c.want {
			t.Errorf("%s: Count: %v, want the same error", c.table, cerr)
		}
	}
	if cols, err := src.Columns(t.Context(), "utf8"); err != nil || strings.Join(cols, ",") != "id,nota" {
		t.Errorf("utf8 header: %q, %v", cols, err)
	}
}
