package opconsole_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/importer/importtest"
	"github.com/tenancy/platform/tenant"
)

// upload posts the import form as a browser does (multipart, Origin set,
// the fields in the form's order: csrf first, the file last).
func (c *client) upload(t *testing.T, path string, fields [][2]string, file []byte) resp {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if file != nil {
		fw, err := w.CreateFormFile("source", "app.db")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(file); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", c.base+path, &b)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Origin", c.base)
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp{Status: res.StatusCode, Header: res.Header, Body: string(body), Location: res.Header.Get("Location")}
}

// verificarBranches is a SQLite file with VerificarSMS's branches table
// only; pad bytes of a table no mapping reads make it larger.
func verificarBranches(t *testing.T, pad int) []byte {
	t.Helper()
	path := importtest.SQLite(t,
		`CREATE TABLE branches (id INTEGER PRIMARY KEY, nombre TEXT, direccion TEXT, telefono TEXT, activa INTEGER, deleted INTEGER)`,
		`INSERT INTO branches VALUES (1, 'Sucursal Ñuñoa', 'Av. Irarrázaval 100', '', 1, 0), (2, 'Cerrada', NULL, NULL, 0, 1)`,
		`CREATE TABLE padding (b BLOB)`, fmt.Sprintf(`INSERT INTO padding VALUES (randomblob(%d))`, pad))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestImportScreen: the tenant page links the import form; an import is
// a job whose page shows the report: a dry run writes nothing, the real
// import (a file over 1 MiB, streamed) writes; a form without the CSRF
// token, or with the file before it, does nothing; a source path is
// refused.
func TestImportScreen(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	tn := e.te.Create(t, tenant.Restaurant)
	c := e.client(t)
	tok := c.login(testToken)
	if page := c.get("/tenants/"+tn.Slug).want(t, 200).Body; !strings.Contains(page, `href="/tenants/`+tn.Slug+`/import"`) {
		t.Fatalf("the tenant page has no import link:\n%s", page)
	}
	form := c.get("/tenants/"+tn.Slug+"/import").want(t, 200).Body
	for _, w := range []string{`enctype="multipart/form-data"`, `<option value="verificarsms"`, `<option value="sisca"`,
		`name="dry_run" type="checkbox" value="1" checked`, "hasta 1 GiB"} {
		if !strings.Contains(form, w) {
			t.Errorf("form lacks %s", w)
		}
	}
	if strings.Index(form, `name="source"`) < strings.Index(form, `name="dry_run"`) {
		t.Errorf("the file comes before the options: the console reads them first")
	}
	file := verificarBranches(t, 2<<20)
	branches := func() int {
		var n int
		if err := e.te.Admin.In(e.te.Ctx, tn.Database, tenant.OwnerRole(tn.Slug), func(conn *pgx.Conn) error {
			return conn.QueryRow(e.te.Ctx, `SELECT count(*) FROM branches`).Scan(&n)
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := branches()
	path := "/tenants/" + tn.Slug + "/import"
	if r := c.upload(t, path, [][2]string{{"mapping", "verificarsms"}, {"dry_run", "1"}}, file); r.Status != 403 {
		t.Errorf("without the CSRF token: %d", r.Status)
	}
	wrong := "0" + tok[1:]
	if wrong == tok {
		wrong = "1" + tok[1:]
	}
	if r := c.upload(t, path, [][2]string{{"csrf", wrong}, {"mapping", "verificarsms"}}, file); r.Status != 403 {
		t.Errorf("with a wrong CSRF token: %d", r.Status)
	}
	dry, j := c.waitJob(t, e, jobOf(t, c.upload(t, path, [][2]string{{"csrf", tok}, {"mapping", "verificarsms"}, {"dry_run", "1"}}, file)))
	if j.Kind != catalog.JobImport || j.Status != catalog.JobSucceeded || j.Actor == "" {
		t.Fatalf("dry run job: %+v", j)
	}
	for _, w := range []string{"Simulación terminada", "customer_messages", "sms_verifications", "1 × skipped by the mapping: deleted in the source",
		"Cuadran", "uploaded SQLite file (", `href="/tenants/` + tn.Slug + `/import"`, `id="import-examples"`, "<td>branches</td><td>2</td>"} {
		if !strings.Contains(dry, w) && !strings.Contains(dry, strings.ReplaceAll(w, "×", "&times;")) {
			t.Errorf("dry run page lacks %q", w)
		}
	}
	if strings.Contains(dry, "<pre>") {
		t.Errorf("the report is shown as JSON, not as a table")
	}
	if n := branches(); n != before {
		t.Fatalf("dry run wrote: %d → %d branches", before, n)
	}
	done, j := c.waitJob(t, e, jobOf(t, c.upload(t, path, [][2]string{{"csrf", tok}, {"mapping", "verificarsms"}}, file)))
	if j.Status != catalog.JobSucceeded || !strings.Contains(done, "Importado.") {
		t.Fatalf("import job: %+v", j)
	}
	if n := branches(); n != before+1 {
		t.Errorf("import: %d → %d branches, want one more", before, n)
	}
	bad := c.upload(t, path, [][2]string{{"csrf", tok}, {"mapping", "verificarsms"}, {"from", "sqlite:///etc/passwd"}}, nil)
	if bad.Status != 422 || !strings.Contains(bad.Body, "mysql://") {
		t.Errorf("a server path: %d %s", bad.Status, bad.Body)
	}
	if r := c.upload(t, path, [][2]string{{"csrf", tok}, {"mapping", "verificarsms"}}, []byte("not a database")); r.Status != 422 || !strings.Contains(r.Body, "not a SQLite database") {
		t.Errorf("a text file: %d %s", r.Status, r.Body)
	}
}
