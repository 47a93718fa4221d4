package opconsole

import (
	"encoding/json"
	"io"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/platform/adminapi"
	"github.com/tenancy/platform/platform/importer"
	"github.com/tenancy/platform/tenant"
)

// maxUpload bounds an uploaded SQLite file (the admin listener's body
// limit is the same).
const maxUpload = 1 << 20

type importData struct {
	T        adminapi.Tenant
	Mappings []string
	Mapping  string
	From     string
	DryRun   bool
	Report   *importer.Report
}

// importForm: GET /tenants/{slug}/import, the form.
func (s *Console) importForm(c *fiber.Ctx) error {
	p := s.page(c, "op.import.title")
	t, err := s.api.Service.Get(c.UserContext(), slugParam(c))
	if err != nil {
		return s.fail(c, p, err)
	}
	p.Data = &importData{T: adminapi.TenantView(s.api.Service, t), Mappings: importer.Embedded(), DryRun: true}
	return s.Render(c, fiber.StatusOK, "import", p)
}

// importRun: POST /tenants/{slug}/import (multipart: mapping, an uploaded
// SQLite file or a mysql:// URL, dry_run), through the API's Import; the
// report is shown under the form, which keeps its choices.
func (s *Console) importRun(c *fiber.Ctx) error {
	p := s.page(c, "op.import.title")
	t, err := s.api.Service.Get(c.UserContext(), slugParam(c))
	if err != nil {
		return s.fail(c, p, err)
	}
	d := &importData{T: adminapi.TenantView(s.api.Service, t), Mappings: importer.Embedded(),
		Mapping: c.FormValue("mapping"), From: c.FormValue("from"), DryRun: c.FormValue("dry_run") != ""}
	p.Data = d
	var upload []byte
	if fh, err := c.FormFile("source"); err == nil && fh.Size > 0 {
		if fh.Size > maxUpload {
			return s.fail(c, p, tenant.Errorf(tenant.EInvalid, "the file is larger than 1 MiB"))
		}
		f, err := fh.Open()
		if err != nil {
			return s.fail(c, p, err)
		}
		upload, err = io.ReadAll(io.LimitReader(f, maxUpload+1))
		f.Close()
		if err != nil {
			return s.fail(c, p, err)
		}
	}
	m, err := json.Marshal(d.Mapping)
	if err != nil {
		return s.fail(c, p, err)
	}
	rep, err := s.ops.Import(c.UserContext(), t.Slug, adminapi.ImportRequest{From: d.From, Mapping: m, DryRun: d.DryRun}, upload)
	if err != nil {
		return s.fail(c, p, err)
	}
	d.Report = rep
	p.Notice = "op.import.done"
	if rep.DryRun {
		p.Notice = "op.import.dry_done"
	}
	return s.Render(c, fiber.StatusOK, "import", p)
}
