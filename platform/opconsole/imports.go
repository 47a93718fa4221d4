package opconsole

import (
	"bufio"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/platform/adminapi"
	"github.com/tenancy/platform/platform/importer"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/httpx"
)

type importData struct {
	T         adminapi.Tenant
	Mappings  []string
	DryRun    bool
	MaxUpload string // e.g. "1 GiB"
}

// importForm: GET /tenants/{slug}/import, the form.
func (s *Console) importForm(c *fiber.Ctx) error {
	p := s.page(c, "op.import.title")
	t, err := s.api.Service.Get(c.UserContext(), slugParam(c))
	if err != nil {
		return s.fail(c, p, err)
	}
	p.Data = &importData{T: adminapi.TenantView(s.api.Service, t), Mappings: importer.Embedded(), DryRun: true,
		MaxUpload: httpx.SizeText(s.ops.MaxUpload())}
	return s.Render(c, fiber.StatusOK, "import", p)
}

// maxField bounds a form field other than the file.
const maxField = 64 << 10

// importRun: POST /tenants/{slug}/import, the form as multipart (csrf
// first, as the form puts it; mapping, from, source_label, dry_run; the SQLite file
// "source" last), read as it arrives: the file is streamed by the API's
// StartImport, after the token and the other fields are checked, into
// an import job whose page shows the report.
func (s *Console) importRun(c *fiber.Ctx) error {
	p := s.page(c, "op.import.title")
	sess, _ := c.Locals(sessionKey).(*session)
	_, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if sess == nil || err != nil || params["boundary"] == "" {
		return s.forbidden(c, p)
	}
	mr := multipart.NewReader(httpx.Upload(c), params["boundary"])
	fields := map[string]string{}
	var file io.Reader
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return s.fail(c, p, s.uploadFailed(err))
		}
		name := part.FormName()
		if _, ok := fields[CSRFField]; !ok && name != CSRFField {
			return s.forbidden(c, p) // the token comes first: nothing is read before it
		}
		if name == "source" && part.FileName() != "" {
			file = part // the last part: the rest of the body is the file
			break
		}
		v, err := io.ReadAll(io.LimitReader(part, maxField+1))
		if err != nil {
			return s.fail(c, p, s.uploadFailed(err))
		}
		if len(v) > maxField {
			return s.fail(c, p, tenant.Errorf(tenant.EInvalid, "the form field %s is too long", name))
		}
		fields[name] = string(v)
		if name == CSRFField && !hmac.Equal(v, []byte(sess.csrf)) {
			return s.forbidden(c, p)
		}
	}
	if _, ok := fields[CSRFField]; !ok {
		return s.forbidden(c, p)
	}
	m, err := json.Marshal(fields["mapping"])
	if err != nil {
		return s.fail(c, p, err)
	}
	req := adminapi.ImportRequest{From: strings.TrimSpace(fields["from"]), Mapping: m, DryRun: fields["dry_run"] != "",
		Source: strings.TrimSpace(fields["source_label"])}
	if file != nil {
		// A browser sends an empty part for a file input left empty.
		br := bufio.NewReaderSize(file, 64<<10)
		if _, err := br.Peek(1); err == io.EOF {
			file = nil
		} else {
			file = br // an error comes again on its first read
		}
	}
	j, err := s.ops.StartImport(c.UserContext(), slugParam(c), req, file)
	if err != nil {
		return s.fail(c, p, err)
	}
	return see(c, "/jobs/"+j.ID)
}

// uploadFailed is a broken multipart body as the error contract has it.
func (s *Console) uploadFailed(err error) error {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		return adminapi.UploadError(fe, s.ops.MaxUpload())
	}
	return tenant.Errorf(httpx.EBadRequest, "the form could not be read: the upload broke off or is not a form")
}
