package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/importer"
	"github.com/tenancy/platform/platform/opjob"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/httpx"
)

// DefaultMaxUpload bounds an uploaded SQLite file when Config.MaxUpload
// is zero.
const DefaultMaxUpload = 1 << 30

// ImportRequest is an import the operator API runs.
type ImportRequest struct {
	// From is the source: only mysql:// over the API (a sqlite:// or
	// csv:// path would read the server's files: upload the SQLite file
	// instead, as the request body).
	From string `json:"from"`
	// Mapping is a built-in mapping's name (a JSON string) or a mapping
	// itself (a JSON object, the mapping file's content).
	Mapping json.RawMessage `json:"mapping"`
	DryRun  bool            `json:"dry_run"`
	// Source labels the source database among those imported with the
	// same mapping ("": the one; importer.SourceLabelPattern).
	Source string `json:"source"`
}

// sqliteMagic starts every SQLite database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// uploadPath is what Uploads streams: the API's imports and the
// console's import form (platform/opconsole), both POST.
var uploadPath = regexp.MustCompile(`^/(v1/tenants/[^/]+/imports|tenants/[^/]+/import)/?$`)

// IsUpload says whether a request may send a large body (an uploaded
// SQLite file), streamed to its handler.
func IsUpload(c *fiber.Ctx) bool {
	return c.Method() == fiber.MethodPost && uploadPath.MatchString(c.Path())
}

// ImportsEnabled reports whether this server runs imports.
func (a *Ops) ImportsEnabled() bool { return a.cfg.Importer != nil && a.cfg.Jobs != nil }

// MaxUpload is the largest SQLite file an import takes.
func (a *Ops) MaxUpload() int64 { return a.cfg.MaxUpload }

// StartImport checks an import into slug for the operator of ctx and
// runs it as an operator job of kind import, whose result is the report.
// upload, when not nil, is the SQLite file to import instead of req.From:
// it is read into a temporary file (mode 0600, removed when the job
// ends) only once the request passed the checks. A refused request is
// audited and starts no job.
func (a *Ops) StartImport(ctx context.Context, slug string, req ImportRequest, upload io.Reader) (*catalog.OperatorJob, error) {
	if !a.ImportsEnabled() {
		return nil, tenant.Errorf(tenant.EUnavailable, "imports are not configured on this server")
	}
	actor := actorOf(ctx)
	refuse := func(err error) (*catalog.OperatorJob, error) {
		return nil, a.record(ctx, actor, "tenant.import", slug, map[string]any{"refused": true}, err)
	}
	r, err := importRequest(slug, req, upload != nil)
	if err != nil {
		return refuse(err)
	}
	if err := a.cfg.Importer.Check(ctx, r); err != nil {
		return refuse(err)
	}
	var file string
	release := func() {}
	if upload != nil {
		select {
		case a.uploads <- struct{}{}:
			release = func() { <-a.uploads }
		default:
			return refuse(tenant.Errorf(tenant.EUnavailable, "this server holds %d uploads already; try again when one of their imports has ended", cap(a.uploads)))
		}
		var size int64
		if file, size, err = a.spool(upload); err != nil {
			release()
			return refuse(err)
		}
		r.From, r.Describe = "sqlite://"+file, fmt.Sprintf("uploaded SQLite file (%d bytes)", size)
	}
	j, err := a.cfg.Jobs.Start(ctx, catalog.JobImport, slug, "", actor.Name, func(ctx context.Context) (any, error) {
		if file != "" {
			defer release()
			defer os.Remove(file)
		}
		rep, err := a.cfg.Importer.Import(ctx, r) // audited by the importer
		if err != nil {
			return nil, err
		}
		a.cfg.Logger.InfoContext(ctx, "import job done", "job_id", opjob.ID(ctx), "written", rep.Written)
		return rep, nil
	})
	if err != nil && file != "" {
		os.Remove(file)
		release()
	}
	return j, err
}

// importRequest is req as the importer takes it; upload: a SQLite file
// comes instead of req.From.
func importRequest(slug string, req ImportRequest, upload bool) (importer.Request, error) {
	r := importer.Request{Tenant: slug, DryRun: req.DryRun, Source: req.Source}
	switch m := bytes.TrimSpace(req.Mapping); {
	case len(m) == 0:
		return r, tenant.Errorf(tenant.EInvalid, "mapping is required: a built-in name (%s) or a mapping object", strings.Join(importer.Embedded(), ", "))
	case m[0] == '"':
		var name string
		if err := json.Unmarshal(m, &name); err != nil || !slices.Contains(importer.Embedded(), name) {
			return r, tenant.Errorf(tenant.EInvalid, "mapping: not a built-in mapping (%s); send the mapping itself as an object", strings.Join(importer.Embedded(), ", "))
		}
		r.Mapping = name
	case m[0] == '{':
		r.MappingFile, r.MappingBytes = "mapping", m
	default:
		return r, tenant.Errorf(tenant.EInvalid, "mapping: a built-in name or a mapping object")
	}
	switch {
	case upload:
		if req.From != "" {
			return r, tenant.Errorf(tenant.EInvalid, "from: not with an uploaded file")
		}
		r.From = "sqlite://upload" // the scheme, for Check; the file comes later
	case strings.HasPrefix(strings.ToLower(req.From), "mysql://"):
		r.From = req.From
	default:
		return r, tenant.Errorf(tenant.EInvalid, "from: a mysql:// URL, or upload the SQLite file as the request body (Content-Type application/vnd.sqlite3)")
	}
	return r, nil
}

// spool writes an upload to a temporary file: a SQLite database, at most
// MaxUpload bytes (413 beyond, 408 if the client stalls).
func (a *Ops) spool(upload io.Reader) (name string, size int64, err error) {
	dir, err := a.spoolDir()
	if err != nil {
		return "", 0, err
	}
	f, err := os.CreateTemp(dir, "import-*.db") // mode 0600, in a 0700 directory
	if err != nil {
		return "", 0, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	n, err := io.Copy(f, upload)
	var fe *fiber.Error
	switch {
	case errors.As(err, &fe):
		return "", 0, UploadError(fe, a.cfg.MaxUpload)
	case err != nil:
		return "", 0, err
	case n == 0:
		return "", 0, tenant.Errorf(tenant.EInvalid, "request body: the SQLite file is empty")
	}
	head := make([]byte, len(sqliteMagic))
	if _, err := f.ReadAt(head, 0); err != nil || !bytes.Equal(head, sqliteMagic) {
		return "", 0, tenant.Errorf(tenant.EInvalid, "the uploaded file is not a SQLite database")
	}
	return f.Name(), n, nil
}

// UploadError is the error contract's version of a failed upload read
// (httpx.Upload's errors): too large, stalled or broken off.
func UploadError(fe *fiber.Error, max int64) error {
	switch fe.Code {
	case fiber.StatusRequestEntityTooLarge:
		return httpx.UploadTooLarge(max)
	case fiber.StatusRequestTimeout:
		return tenant.Errorf(httpx.ERequestTimeout, "the upload stalled: no data came in time")
	}
	return tenant.Errorf(httpx.EBadRequest, "the upload broke off")
}

// importRun is POST /v1/tenants/{slug}/imports: a JSON ImportRequest, or
// the SQLite file itself as the body (Content-Type
// application/vnd.sqlite3 or application/octet-stream) with
// ?mapping=NAME[&dry_run=true][&source=LABEL], streamed. It answers 202 with the import
// job, whose result is the report.
func (a *Ops) importRun(c *fiber.Ctx) error {
	var req ImportRequest
	var upload io.Reader
	switch ct := strings.ToLower(strings.TrimSpace(strings.Split(c.Get(fiber.HeaderContentType), ";")[0])); ct {
	case "application/vnd.sqlite3", "application/x-sqlite3", "application/octet-stream":
		upload = httpx.Upload(c)
		m, err := json.Marshal(c.Query("mapping"))
		if err != nil {
			return err
		}
		req.Mapping = m
		req.Source = strings.Clone(c.Query("source"))
		switch c.Query("dry_run") {
		case "", "false", "0":
		case "true", "1":
			req.DryRun = true
		default:
			return tenant.Errorf(tenant.EInvalid, "dry_run: true or false")
		}
	default:
		if err := httpx.ReadBody(c, httpx.BodyLimit); err != nil {
			return err
		}
		if err := decode(c, &req); err != nil {
			return err
		}
	}
	j, err := a.StartImport(a.opCtx(c), slug(c), req, upload)
	if err != nil {
		return err
	}
	return accepted(c, j)
}
