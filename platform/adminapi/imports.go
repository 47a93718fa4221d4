package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/platform/importer"
	"github.com/tenancy/platform/tenant"
)

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
}

// Import runs an import into slug (synchronously: the report is the
// answer) with the operator actor of ctx. upload, when not nil, is a
// SQLite file to import instead of req.From.
func (a *Ops) Import(ctx context.Context, slug string, req ImportRequest, upload []byte) (*importer.Report, error) {
	if a.cfg.Importer == nil {
		return nil, tenant.Errorf(tenant.EUnavailable, "imports are not configured on this server")
	}
	r := importer.Request{Tenant: slug, DryRun: req.DryRun}
	var name string
	switch m := bytes.TrimSpace(req.Mapping); {
	case len(m) == 0:
		return nil, tenant.Errorf(tenant.EInvalid, "mapping is required: a built-in name (%s) or a mapping object", strings.Join(importer.Embedded(), ", "))
	case m[0] == '"':
		if err := json.Unmarshal(m, &name); err != nil || !contains(importer.Embedded(), name) {
			return nil, tenant.Errorf(tenant.EInvalid, "mapping: not a built-in mapping (%s); send the mapping itself as an object", strings.Join(importer.Embedded(), ", "))
		}
		r.Mapping = name
	case m[0] == '{':
		r.MappingFile, r.MappingBytes = "mapping", m
	default:
		return nil, tenant.Errorf(tenant.EInvalid, "mapping: a built-in name or a mapping object")
	}
	switch {
	case upload != nil:
		if req.From != "" {
			return nil, tenant.Errorf(tenant.EInvalid, "from: not with an uploaded file")
		}
		f, err := os.CreateTemp("", "platform-import-*.db") // mode 0600
		if err != nil {
			return nil, err
		}
		defer os.Remove(f.Name())
		if _, err := f.Write(upload); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		r.From = "sqlite://" + f.Name()
	case strings.HasPrefix(strings.ToLower(req.From), "mysql://"):
		r.From = req.From
	default:
		return nil, tenant.Errorf(tenant.EInvalid, "from: a mysql:// URL, or upload the SQLite file as the request body (Content-Type application/vnd.sqlite3)")
	}
	return a.cfg.Importer.Import(ctx, r)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// importRun is POST /v1/tenants/{slug}/imports: a JSON ImportRequest, or
// the SQLite file itself as the body (Content-Type
// application/vnd.sqlite3 or application/octet-stream) with
// ?mapping=NAME[&dry_run=true]. It answers the report.
func (a *Ops) importRun(c *fiber.Ctx) error {
	var req ImportRequest
	var upload []byte
	switch ct := strings.ToLower(strings.TrimSpace(strings.Split(c.Get(fiber.HeaderContentType), ";")[0])); ct {
	case "application/vnd.sqlite3", "application/x-sqlite3", "application/octet-stream":
		if len(c.Body()) == 0 {
			return tenant.Errorf(tenant.EInvalid, "request body: the SQLite file is empty")
		}
		upload = bytes.Clone(c.Body())
		m, err := json.Marshal(c.Query("mapping"))
		if err != nil {
			return err
		}
		req.Mapping = m
		switch c.Query("dry_run") {
		case "", "false", "0":
		case "true", "1":
			req.DryRun = true
		default:
			return tenant.Errorf(tenant.EInvalid, "dry_run: true or false")
		}
	default:
		if err := decode(c, &req); err != nil {
			return err
		}
	}
	rep, err := a.Import(a.opCtx(c), slug(c), req, upload)
	if err != nil {
		return err
	}
	return c.JSON(rep)
}
