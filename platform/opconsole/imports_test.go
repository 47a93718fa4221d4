package opconsole_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/importer/importtest"
	"github.com/tenancy/platform/tenant"
)

// upload posts the import form as a browser does (multipart, Origin set).
func (c *client) upload(t *testing.T, path string, fields map[string]string, file []byte) resp {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
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
// only.
func verificarBranches(t *testing.T) []byte {
	t.Helper()
	path := importtest.SQLite(t,
		`CREATE TABLE branches (id INTEGER PRIMARY KEY, nombre TEXT, direccion TEXT, telefono TEXT, activa INTEGER, deleted INTEGER)`,
		`INSERT INTO branches VALUES (1, 'Sucursal Ñuñoa', 'Av. Irarrázaval 100', '', 1, 0), (2, 'Cerrada', NULL, NULL, 0, 1)`)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestImportScreen: the tenant page links the import form; a dry run
// shows the report and writes nothing; the real import writes; a form
// without the CSRF token does nothing; a source path is refused.
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
	for _, w := range []string{`enctype="multipart/form-data"`, `<option value="verificarsms"`, `<option value="sisca"`, `name="dry_run" type="checkbox" value="1" checked`} {
		if !strings.Contains(form, w) {
			t.Errorf("form lacks %s", w)
		}
	}
	file := verificarBranches(t)
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
	if r := c.upload(t, "/tenants/"+tn.Slug+"/import", map[string]string{"mapping": "verificarsms", "dry_run": "1"}, file); r.Status != 403 {
		t.Errorf("without the CSRF token: %d", r.Status)
	}
	dry := c.upload(t, "/tenants/"+tn.Slug+"/import", map[string]string{"csrf": tok, "mapping": "verificarsms", "dry_run": "1"}, file).want(t, 200).Body
	for _, w := range []string{"Simulación terminada", "customer_messages", "sms_verifications", "1 × skipped by the mapping: deleted in the source", "Cuadran"} {
		if !strings.Contains(dry, w) && !strings.Contains(dry, strings.ReplaceAll(w, "×", "&times;")) {
			t.Errorf("dry run page lacks %q", w)
		}
	}
	if n := branches(); n != before {
		t.Fatalf("dry run wrote: %d → %d branches", before, n)
	}
	c.upload(t, "/tenants/"+tn.Slug+"/import", map[string]string{"csrf": tok, "mapping": "verificarsms"}, file).want(t, 200)
	if n := branches(); n != before+1 {
		t.Errorf("import: %d → %d branches, want one more", before, n)
	}
	bad := c.upload(t, "/tenants/"+tn.Slug+"/import", map[string]string{"csrf": tok, "mapping": "verificarsms", "from": "sqlite:///etc/passwd"}, nil)
	if bad.Status != 422 || !strings.Contains(bad.Body, "mysql://") {
		t.Errorf("a server path: %d %s", bad.Status, bad.Body)
	}
}
