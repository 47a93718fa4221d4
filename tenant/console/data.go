package console

// The domain screens, generic over the resource specs the API mounts
// (Config.API): every resource of the tenant's kind gets a list, a create
// form, an item page (the edit form for data.write) and a delete with
// confirmation. Writes build the same JSON body the API takes and go the
// API's way: resource.Decode, then resourcepg.Create/Update/Delete inside
// resourcehttp.API.Write, so each write has its audit row in the same
// transaction.
//
// Routes (dataRoutes; only with Config.API):
//
//	GET  /data/:name                 list (data.read): filters and ?cursor= in the query
//	GET  /data/:name/new             create form (data.write)
//	POST /data/:name/new             create
//	GET  /data/:name/:id             the row; the edit form for data.write
//	POST /data/:name/:id             save
//	GET  /data/:name/:id/delete      what a delete would do (data.write)
//	POST /data/:name/:id/delete      delete; shows what went with it
//
// :name is a spec's Name (menu_items). A resource of the other kind, or one
// not mounted, is the 404 page. Resources whose create or update the API
// serves with custom handlers (orders, reservations) are read-only here:
// list and item pages only.
//
// Page data: Page.Data is a *dataList, *dataForm or *dataDelete.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/i18n"
	"github.com/tenancy/platform/tenant/resource"
	"github.com/tenancy/platform/tenant/resource/resourcehttp"
	"github.com/tenancy/platform/tenant/resource/resourcepg"
)

// The data templates.
const (
	tplDataList   = "data_list"
	tplDataForm   = "data_form"
	tplDataDelete = "data_delete"
)

var dataTemplates = []string{tplDataList, tplDataForm, tplDataDelete}

// dataLocalTime is the datetime-local input's format.
const dataLocalTime = "2006-01-02T15:04"

func (s *Console) dataRoutes(r fiber.Router) {
	if s.cfg.API == nil {
		return
	}
	h := s.headers
	r.Get("/data/:name", h, s.dataList)
	r.Get("/data/:name/new", h, s.dataNewForm)
	r.Post("/data/:name/new", h, s.dataCreate)
	r.Get("/data/:name/:id<int>", h, s.dataShow)
	r.Post("/data/:name/:id<int>", h, s.dataSave)
	r.Get("/data/:name/:id<int>/delete", h, s.dataDeleteForm)
	r.Post("/data/:name/:id<int>/delete", h, s.dataDelete)
}

type principalKey struct{}

// Principal is who a console request acts as, once a data screen has
// authenticated it (nil otherwise). resourcehttp.Config.Principal falls
// back to it so that the audit rows of the console's writes name the user:
//
//	Principal: func(c *fiber.Ctx) *auth.Principal {
//		if p := authhttp.Principal(c); p != nil { return p }
//		return console.Principal(c)
//	}
func Principal(c *fiber.Ctx) *auth.Principal {
	p, _ := c.Locals(principalKey{}).(*auth.Principal)
	return p
}

// dataSpec is the request's resource: mounted, of the tenant's kind.
type dataSpec struct {
	spec                            *resource.Spec
	canCreate, canUpdate, canDelete bool
}

func (s *Console) dataSpecOf(t *tenant.Tenant, name string) *dataSpec {
	sp := s.cfg.API.Specs()[name]
	if sp == nil || sp.Kind != t.Kind {
		return nil
	}
	d := &dataSpec{spec: sp}
	// Only the generic routes count: a custom handler registered with the
	// same Op (a reservation's capacity-checked create) has rules this
	// generic path would skip.
	for _, rt := range s.cfg.API.Routes() {
		if rt.Spec != sp || !rt.Generic {
			continue
		}
		switch rt.Op {
		case resourcehttp.OpCreate:
			d.canCreate = true
		case resourcehttp.OpUpdate:
			d.canUpdate = true
		case resourcehttp.OpDelete:
			d.canDelete = true
		}
	}
	// A resource with custom writes is read-only here.
	if !d.canCreate || !d.canUpdate {
		d.canCreate, d.canUpdate, d.canDelete = false, false, false
	}
	return d
}

// dataStart authenticates a data screen's request (perm) and finds its
// resource; ok false: the answer is given.
func (s *Console) dataStart(c *fiber.Ctx, perm string) (*tenant.Tenant, *session, *Page, *dataSpec, bool, error) {
	t, sess, p, ok, err := s.authed(c, "data.title", perm)
	if !ok {
		return nil, nil, nil, nil, false, err
	}
	c.Locals(principalKey{}, sess.principal)
	d := s.dataSpecOf(t, c.Params("name"))
	if d == nil {
		return nil, nil, nil, nil, false, s.notFound(c, p)
	}
	p.Title = "data.title"
	p.Data = nil
	if to, ok := restaurantScreens[d.spec.Name]; ok && t.Kind == tenant.Restaurant && c.Method() == fiber.MethodGet {
		// Orders and reservations have screens of their own (restaurant.go).
		switch id := c.Params("id"); {
		case id != "":
			to += "/" + id
		case strings.HasSuffix(c.Path(), "/new"):
			to += "/new"
		}
		return nil, nil, nil, nil, false, see(c, to)
	}
	return t, sess, p, d, true, nil
}

// restaurantScreens are the resources with screens of their own: the
// generic ones redirect there.
var restaurantScreens = map[string]string{"orders": "/orders", "reservations": "/reservations"}

func (s *Console) notFound(c *fiber.Ctx, p *Page) error {
	p.Title, p.FormError = "error.title", "error.not_found"
	return s.Render(c, fiber.StatusNotFound, tplError, p)
}

// resourceTitle is a resource's heading: nav.<name> or data.res.<name> when
// the catalog has it, else its words.
func (s *Console) resourceTitle(p *Page, name string) string {
	for _, k := range []string{"data.res." + name, "nav." + name} {
		if m, err := p.L.T(k); err == nil {
			return m
		}
	}
	return resource.Words(name)
}

// fieldLabel is field.<name> from the catalog (field.the_<name> for the
// names the catalog's format reserves: id, description), else the
// humanised name.
func fieldLabel(p *Page, name string) string {
	key := "field." + name
	if name == "id" || name == "description" {
		key = "field.the_" + name
	}
	if m, err := p.L.T(key); err == nil {
		return m
	}
	w := strings.ReplaceAll(name, "_", " ")
	return strings.ToUpper(w[:1]) + w[1:]
}

// --- list --------------------------------------------------------------

type dataList struct {
	Name, Heading string
	Columns       []string // labels
	Rows          []dataRow
	Filters       []dataInput
	NextURL       string
	CanCreate     bool
	Filtered      bool
}

type dataRow struct {
	Href  string
	Cells []dataCell
}

type dataCell struct {
	Text, Href string
}

// listed reports whether f is a column of the list: not JSON, not long text.
func listed(f *resource.Field) bool {
	if f.Type == resource.JSON {
		return false
	}
	return f.Type != resource.String || (f.Max > 0 && f.Max <= 300) || (f.Max == 0 && f.Name != "notes" && f.Name != "description" && f.Name != "content")
}

// dataList: GET /data/:name?filters…&cursor=.
func (s *Console) dataList(c *fiber.Ctx) error {
	t, _, p, d, ok, err := s.dataStart(c, auth.PermDataRead)
	if !ok {
		return err
	}
	sp := d.spec
	// The form's inputs: empty ones are no filter; datetime-local values
	// become RFC 3339 in the tenant's zone.
	zone := p.L.Locale().Zone()
	q := url.Values{}
	var names []string
	raw := map[string]string{}
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		key, val := string(k), strings.TrimSpace(string(v))
		raw[key] = val
		if val == "" {
			return
		}
		if f := filterField(sp, key); f != nil && f.Type == resource.Time {
			if tm, err := time.ParseInLocation(dataLocalTime, val, zone); err == nil {
				val = tm.Format(time.RFC3339)
			}
		}
		if _, dup := q[key]; !dup {
			names = append(names, key)
		}
		q.Set(key, val)
	})
	lp, err := resource.ParseList(sp, names, q.Get)
	if err != nil {
		for k, m := range fieldsOf(err) {
			p.Errors[k] = m
		}
		p.FormError = "validation.form_has_errors"
	}
	data := &dataList{Name: sp.Name, Heading: s.resourceTitle(p, sp.Name), CanCreate: d.canCreate && can(p, auth.PermDataWrite)}
	for i := range sp.Fields {
		f := &sp.Fields[i]
		if listed(f) {
			data.Columns = append(data.Columns, fieldLabel(p, f.Name))
		}
		if !f.Filter {
			continue
		}
		if f.Type == resource.Date || f.Type == resource.Time {
			for _, suf := range []string{"_from", "_to"} {
				in := s.input(p, f, f.Name+suf, raw[f.Name+suf], true)
				in.Label = fieldLabel(p, f.Name) + " " + s.t(p, "data.range"+suf)
				data.Filters = append(data.Filters, in)
			}
			continue
		}
		data.Filters = append(data.Filters, s.input(p, f, f.Name, raw[f.Name], true))
	}
	for k := range raw {
		if k != "cursor" && raw[k] != "" {
			data.Filtered = true
		}
	}
	p.Data = data
	if err != nil {
		return s.Render(c, fiber.StatusUnprocessableEntity, tplDataList, p)
	}
	var page resource.Page
	err = s.cfg.API.Conn(c, func(ctx context.Context, db resourcepgConn) error {
		page, err = resourcepg.List(ctx, db, sp, lp)
		return err
	})
	if err != nil {
		return s.serviceError(c, p, err)
	}
	for _, r := range page.Items {
		row := dataRow{Href: "/data/" + sp.Name + "/" + strconv.FormatInt(r.ID(), 10)}
		for i := range sp.Fields {
			f := &sp.Fields[i]
			if listed(f) {
				row.Cells = append(row.Cells, s.cell(p, t.Kind, f, r.Vals[i]))
			}
		}
		data.Rows = append(data.Rows, row)
	}
	if page.NextCursor != "" {
		next := url.Values{}
		for k, v := range raw {
			if k != "cursor" && v != "" {
				next.Set(k, v)
			}
		}
		next.Set("cursor", page.NextCursor)
		data.NextURL = "/data/" + sp.Name + "?" + next.Encode()
	}
	return s.Render(c, fiber.StatusOK, tplDataList, p)
}

// resourcepgConn is the connection API.Conn hands out.
type resourcepgConn = *pgxpool.Conn

func filterField(sp *resource.Spec, key string) *resource.Field {
	if f := sp.Field(key); f != nil {
		return f
	}
	for _, suf := range []string{"_from", "_to"} {
		if base, ok := strings.CutSuffix(key, suf); ok {
			return sp.Field(base)
		}
	}
	return nil
}

func can(p *Page, perm string) bool { return p.User != nil && p.User.Can(perm) }

func fieldsOf(err error) map[string]string {
	var e *tenant.Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// cell is one value of the list, formatted for the reader.
func (s *Console) cell(p *Page, kind tenant.Kind, f *resource.Field, v any) dataCell {
	if v == nil {
		return dataCell{Text: "—"}
	}
	switch f.Type {
	case resource.Money:
		n, _ := v.(int64)
		return dataCell{Text: p.L.Money(n)}
	case resource.Bool:
		if b, _ := v.(bool); b {
			return dataCell{Text: s.t(p, "users.yes")}
		}
		return dataCell{Text: s.t(p, "users.no")}
	case resource.Time:
		tm, _ := v.(time.Time)
		return dataCell{Text: p.L.DateTime(tm)}
	case resource.Date:
		ds, _ := v.(string)
		d, _ := p.L.Day(ds) // a calendar day: not moved into the tenant's zone
		return dataCell{Text: d}
	case resource.Ref:
		n, _ := v.(int64)
		c := dataCell{Text: strconv.FormatInt(n, 10)}
		if rs := s.cfg.API.Specs()[f.Ref]; rs != nil && rs.Kind == kind {
			c.Href = "/data/" + rs.Name + "/" + c.Text
		}
		return c
	case resource.Int:
		n, _ := v.(int64)
		return dataCell{Text: strconv.FormatInt(n, 10)}
	}
	return dataCell{Text: fmt.Sprint(v)}
}

// --- forms -------------------------------------------------------------

// dataInput is one input of a form (or of the list's filters).
type dataInput struct {
	Name, Label, Type, Value, Error string
	Checked, Required, Disabled     bool
	Options                         []dataOption // select
	Min, Max                        string
	Textarea                        bool
}

type dataOption struct {
	Value, Label string
	Selected     bool
}

type dataForm struct {
	Name, Heading, Action string
	ID                    int64
	Inputs                []dataInput
	ReadOnly              []dataInput // the server's fields, shown as text
	Editable, CanDelete   bool
	Created               bool
}

// input is the input of f named name with the raw value (the form's, or
// the stored value formatted for the input).
func (s *Console) input(p *Page, f *resource.Field, name, value string, filter bool) dataInput {
	in := dataInput{Name: name, Label: fieldLabel(p, f.Name), Value: value, Error: p.Errors[name], Type: "text"}
	if !filter {
		in.Required = f.Required
	}
	switch f.Type {
	case resource.Money:
		// An amount in the tenant's currency as people write it
		// ("4.500", "45,50"): not a number input, which takes neither.
		in.Type = "text"
	case resource.Int, resource.Ref:
		in.Type = "number"
		if f.Min != nil {
			in.Min = strconv.FormatInt(*f.Min, 10)
		} else if f.Type != resource.Int {
			in.Min = map[bool]string{true: "1", false: "0"}[f.Type == resource.Ref]
		}
		if f.Max > 0 && f.Type == resource.Int {
			in.Max = strconv.Itoa(f.Max)
		}
	case resource.Bool:
		if filter {
			in.Type = "select"
			in.Options = []dataOption{{Value: "", Label: "—"}, {Value: "true", Label: s.t(p, "users.yes")}, {Value: "false", Label: s.t(p, "users.no")}}
			for i := range in.Options {
				in.Options[i].Selected = in.Options[i].Value == value
			}
		} else {
			in.Type, in.Checked, in.Required = "checkbox", value == "true" || value == "on", false
		}
	case resource.Date:
		in.Type = "date"
	case resource.Time:
		in.Type = "datetime-local"
	case resource.Email:
		in.Type = "email"
	case resource.Phone:
		in.Type = "tel"
	case resource.Enum:
		in.Type = "select"
		in.Options = append(in.Options, dataOption{Value: "", Label: "—"})
		for _, e := range f.Enum {
			in.Options = append(in.Options, dataOption{Value: e, Label: e, Selected: e == value})
		}
	case resource.JSON:
		in.Textarea = true
	case resource.String:
		if maxLen(f) > 300 {
			in.Textarea = true
		}
	}
	return in
}

func maxLen(f *resource.Field) int {
	switch {
	case f.Max > 0:
		return f.Max
	case f.Name == "notes" || f.Name == "description" || f.Name == "content":
		return 10000
	}
	return 200
}

// writable reports whether f is an input of the create (or update) form.
func writable(f *resource.Field, create bool) bool {
	return !f.ReadOnly && !f.ByUser && (create || !f.Immutable)
}

// inputValue is a stored value as its input shows it.
func inputValue(f *resource.Field, v any, zone *time.Location) string {
	switch x := v.(type) {
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		if f.Type == resource.Time {
			return x.In(zone).Format(dataLocalTime)
		}
		return x.Format(time.RFC3339)
	case json.RawMessage:
		return string(x)
	}
	return fmt.Sprint(v)
}

// formBody builds the API's JSON body from the posted form: what the
// console posts is what a client of the API would send.
// Money fields are read as amounts of the tenant's currency
// (i18n.Locale.ParseMoney): the ones that do not parse are in bad, by
// field, with the reader's message.
func (s *Console) formBody(c *fiber.Ctx, p *Page, sp *resource.Spec, create bool) (body []byte, values, bad map[string]string) {
	loc := p.L.Locale()
	zone := loc.Zone()
	obj := map[string]any{}
	values, bad = map[string]string{}, map[string]string{}
	for i := range sp.Fields {
		f := &sp.Fields[i]
		if !writable(f, create) {
			continue
		}
		raw := strings.Clone(c.FormValue(f.Name))
		values[f.Name] = raw
		val := strings.TrimSpace(raw)
		if f.Type == resource.Bool {
			obj[f.Name] = val != ""
			values[f.Name] = strconv.FormatBool(val != "")
			continue
		}
		if val == "" {
			switch {
			case f.Nullable && !create:
				obj[f.Name] = nil
			case f.Required && f.Type != resource.String:
				// Absent: Decode says it is required.
			case f.Required:
				obj[f.Name] = ""
			}
			continue
		}
		switch f.Type {
		case resource.Money:
			if n, err := loc.ParseMoney(val); err == nil {
				obj[f.Name] = n
			} else {
				bad[f.Name] = s.amountMessage(p, err)
			}
		case resource.Int, resource.Ref:
			if n, err := strconv.ParseInt(val, 10, 64); err == nil {
				obj[f.Name] = n
			} else {
				obj[f.Name] = val // Decode: must be a whole number
			}
		case resource.Time:
			if tm, err := time.ParseInLocation(dataLocalTime, val, zone); err == nil {
				obj[f.Name] = tm.Format(time.RFC3339)
			} else {
				obj[f.Name] = val
			}
		case resource.JSON:
			if json.Valid([]byte(val)) {
				obj[f.Name] = json.RawMessage(val)
			} else {
				obj[f.Name] = val
			}
		default:
			obj[f.Name] = val
		}
	}
	b, err := json.Marshal(obj)
	if err != nil { // a JSON value that Valid accepted always marshals
		return []byte("{}"), values, bad
	}
	return b, values, bad
}

// amountMessage is the reader's message of a ParseMoney error.
func (s *Console) amountMessage(p *Page, err error) string {
	switch {
	case errors.Is(err, i18n.ErrAmountDecimals) && p.L.Locale().Digits() == 0:
		return s.t(p, "orders.amount_no_decimals")
	case errors.Is(err, i18n.ErrAmountDecimals):
		return s.t(p, "orders.amount_two_decimals")
	case errors.Is(err, i18n.ErrAmountTooLarge):
		return s.t(p, "orders.amount_too_large")
	}
	return s.t(p, "orders.amount_invalid")
}

// withAmounts adds the form's unreadable amounts (bad) to a decode's
// refusal err (nil: none): the field's own message wins.
func withAmounts(err error, bad map[string]string) error {
	if len(bad) == 0 {
		return err
	}
	all := map[string]string{}
	for k, m := range fieldsOf(err) {
		all[k] = m
	}
	for k, m := range bad {
		all[k] = m
	}
	return tenant.Invalid(all)
}

// form is the form page's data for the row (nil: the create form).
func (s *Console) form(p *Page, d *dataSpec, row *resource.Row, values map[string]string, refs map[string][]dataOption) *dataForm {
	sp, zone := d.spec, p.L.Locale().Zone()
	create := row == nil
	fd := &dataForm{Name: sp.Name, Heading: s.resourceTitle(p, sp.Name), Action: "/data/" + sp.Name + "/new"}
	fd.Editable = can(p, auth.PermDataWrite) && ((create && d.canCreate) || (!create && d.canUpdate))
	if !create {
		fd.ID = row.ID()
		fd.Action = "/data/" + sp.Name + "/" + strconv.FormatInt(fd.ID, 10)
		fd.CanDelete = d.canDelete && can(p, auth.PermDataWrite)
	}
	for i := range sp.Fields {
		f := &sp.Fields[i]
		var v string
		if row != nil {
			v = inputValue(f, row.Vals[i], zone)
			if n, ok := row.Vals[i].(int64); ok && f.Type == resource.Money {
				v = p.L.Locale().Amount(n)
			}
		}
		if x, ok := values[f.Name]; ok {
			v = x
		}
		if fd.Editable && writable(f, create) {
			in := s.input(p, f, f.Name, v, false)
			if opts, ok := refs[f.Name]; ok {
				in.Type, in.Min, in.Options = "select", "", []dataOption{{Value: "", Label: "—"}}
				for _, o := range opts {
					o.Selected = o.Value == v
					in.Options = append(in.Options, o)
				}
			}
			fd.Inputs = append(fd.Inputs, in)
			continue
		}
		if row != nil {
			in := dataInput{Name: f.Name, Label: fieldLabel(p, f.Name), Value: s.cell(p, sp.Kind, f, row.Vals[i]).Text}
			if f.Type == resource.Ref && row.Vals[i] != nil {
				in.Value = inputValue(f, row.Vals[i], zone)
				if rs := s.cfg.API.Specs()[f.Ref]; rs != nil && rs.Kind == sp.Kind {
					in.Type = "/data/" + rs.Name + "/" + in.Value // the link
				}
			}
			if f.Type == resource.JSON && row.Vals[i] != nil {
				in.Value = inputValue(f, row.Vals[i], zone)
			}
			fd.ReadOnly = append(fd.ReadOnly, in)
		}
	}
	return fd
}

// maxRefChoices is the most rows a reference's select offers; a resource
// with more is a number input (the id).
const maxRefChoices = 100

// refChoices are the selects of the form's references: for each writable
// Ref field to a mounted resource of the kind with at most maxRefChoices
// rows, its rows as "id · name" (or code, full name).
func (s *Console) refChoices(c *fiber.Ctx, d *dataSpec, create bool) (map[string][]dataOption, error) {
	out := map[string][]dataOption{}
	if pr := Principal(c); pr == nil || !pr.Can(auth.PermDataWrite) {
		return out, nil
	}
	err := s.cfg.API.Conn(c, func(ctx context.Context, db resourcepgConn) error {
		for i := range d.spec.Fields {
			f := &d.spec.Fields[i]
			rs := s.cfg.API.Specs()[f.Ref]
			if f.Type != resource.Ref || !writable(f, create) || rs == nil || rs.Kind != d.spec.Kind {
				continue
			}
			page, err := resourcepg.List(ctx, db, rs, resource.ListParams{Limit: maxRefChoices})
			if err != nil {
				return err
			}
			if page.NextCursor != "" {
				continue
			}
			opts := make([]dataOption, 0, len(page.Items))
			for _, r := range page.Items {
				id := strconv.FormatInt(r.ID(), 10)
				label := id
				for _, n := range []string{"name", "code", "full_name"} {
					if v, ok := r.Get(n).(string); ok && v != "" {
						label += " · " + v
						break
					}
				}
				opts = append(opts, dataOption{Value: id, Label: label})
			}
			out[f.Name] = opts
		}
		return nil
	})
	return out, err
}

// dataNewForm: GET /data/:name/new.
func (s *Console) dataNewForm(c *fiber.Ctx) error {
	_, _, p, d, ok, err := s.dataStart(c, auth.PermDataWrite)
	if !ok {
		return err
	}
	if !d.canCreate {
		return s.notFound(c, p)
	}
	refs, err := s.refChoices(c, d, true)
	if err != nil {
		return s.serviceError(c, p, err)
	}
	p.Data = s.form(p, d, nil, nil, refs)
	return s.Render(c, fiber.StatusOK, tplDataForm, p)
}

// writeFailed renders a refused write: per-field messages (422, or 409
// with fields) on the form, other refusals as the page's alert.
func (s *Console) writeFailed(c *fiber.Ctx, p *Page, d *dataSpec, row *resource.Row, values map[string]string, err error) error {
	code := tenant.ErrorCode(err)
	if code != tenant.EValidation && code != tenant.EConflict && code != tenant.EInUse {
		return s.serviceError(c, p, err)
	}
	for k, m := range fieldsOf(err) {
		if sp := d.spec.Field(k); sp != nil {
			p.Errors[k] = fieldLabel(p, k) + ": " + s.decodeMessage(p, m)
		}
	}
	p.FormError = "validation.form_has_errors"
	status := fiber.StatusUnprocessableEntity
	if code != tenant.EValidation {
		status = fiber.StatusConflict
		if len(p.Errors) == 0 {
			p.FormError = "data.conflict"
		}
	}
	refs, rerr := s.refChoices(c, d, row == nil)
	if rerr != nil {
		return s.serviceError(c, p, rerr)
	}
	p.Data = s.form(p, d, row, values, refs)
	return s.Render(c, status, tplDataForm, p)
}

// dataCreate: POST /data/:name/new.
func (s *Console) dataCreate(c *fiber.Ctx) error {
	_, _, p, d, ok, err := s.dataStart(c, auth.PermDataWrite)
	if !ok {
		return err
	}
	if !d.canCreate {
		return s.notFound(c, p)
	}
	sp := d.spec
	body, values, bad := s.formBody(c, p, sp, true)
	v, err := resource.Decode(sp, body, nil)
	if err != nil && tenant.ErrorCode(err) != tenant.EValidation {
		return s.writeFailed(c, p, d, nil, values, err)
	}
	if err := withAmounts(err, bad); err != nil {
		return s.writeFailed(c, p, d, nil, values, err)
	}
	row, err := s.cfg.API.CreateRow(c, sp, v)
	if err != nil {
		return s.writeFailed(c, p, d, nil, values, err)
	}
	return see(c, "/data/"+sp.Name+"/"+strconv.FormatInt(row.ID(), 10)+"?done=created")
}

// dataID is the :id of the request.
func dataID(c *fiber.Ctx) int64 {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id < 1 {
		return 0
	}
	return id
}

func (s *Console) getRow(c *fiber.Ctx, sp *resource.Spec, id int64) (resource.Row, error) {
	var row resource.Row
	if id < 1 {
		return row, resourcepg.NotFound(sp, id)
	}
	err := s.cfg.API.Conn(c, func(ctx context.Context, db resourcepgConn) (err error) {
		row, err = resourcepg.Get(ctx, db, sp, id, false)
		return err
	})
	return row, err
}

// dataShow: GET /data/:name/:id.
func (s *Console) dataShow(c *fiber.Ctx) error {
	_, _, p, d, ok, err := s.dataStart(c, auth.PermDataRead)
	if !ok {
		return err
	}
	row, err := s.getRow(c, d.spec, dataID(c))
	if err != nil {
		return s.serviceError(c, p, err)
	}
	switch c.Query("done") {
	case "created":
		p.Notice = "data.created"
	case "saved":
		p.Notice = "data.saved"
	}
	refs, err := s.refChoices(c, d, false)
	if err != nil {
		return s.serviceError(c, p, err)
	}
	p.Data = s.form(p, d, &row, nil, refs)
	return s.Render(c, fiber.StatusOK, tplDataForm, p)
}

// dataSave: POST /data/:name/:id.
func (s *Console) dataSave(c *fiber.Ctx) error {
	_, _, p, d, ok, err := s.dataStart(c, auth.PermDataWrite)
	if !ok {
		return err
	}
	if !d.canUpdate {
		return s.notFound(c, p)
	}
	sp, id := d.spec, dataID(c)
	body, values, bad := s.formBody(c, p, sp, false)
	if len(bad) > 0 {
		// Nothing is written; the stored row is shown beside the messages.
		cur, err := s.getRow(c, sp, id)
		if err != nil {
			return s.serviceError(c, p, err)
		}
		return s.writeFailed(c, p, d, &cur, values, withAmounts(nil, bad))
	}
	_, cur, err := s.cfg.API.UpdateRow(c, sp, id, body)
	if err != nil {
		if tenant.ErrorCode(err) == tenant.ENotFound {
			return s.serviceError(c, p, err)
		}
		return s.writeFailed(c, p, d, &cur, values, err)
	}
	return see(c, "/data/"+sp.Name+"/"+strconv.FormatInt(id, 10)+"?done=saved")
}

// decodeMessage is the reader's language for the engine's field messages
// (fieldmsg.go); one it does not know is shown as the API words it.
func (s *Console) decodeMessage(p *Page, m string) string {
	t, _ := s.engineMessage(p, m)
	return t
}

// --- delete --------------------------------------------------------------

type dataDelete struct {
	Name, Heading, Action, Back string
	ID                          int64
	Blocking, Cascaded          []dataCount
	Done                        bool
}

type dataCount struct {
	Resource string
	Count    int64
	Text     string
}

func (s *Console) counts(p *Page, m map[string]int64) []dataCount {
	out := make([]dataCount, 0, len(m))
	for k, n := range m {
		text, err := p.L.N("count."+k, n)
		if err != nil {
			text = strconv.FormatInt(n, 10) + " " + strings.ToLower(s.resourceTitle(p, k))
		}
		out = append(out, dataCount{Resource: k, Count: n, Text: text})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Resource < out[j].Resource })
	return out
}

func (s *Console) deleteData(p *Page, sp *resource.Spec, id int64) *dataDelete {
	ids := strconv.FormatInt(id, 10)
	return &dataDelete{Name: sp.Name, Heading: s.resourceTitle(p, sp.Name), ID: id,
		Action: "/data/" + sp.Name + "/" + ids + "/delete", Back: "/data/" + sp.Name + "/" + ids}
}

// dataDeleteForm: GET /data/:name/:id/delete, what a delete would do.
func (s *Console) dataDeleteForm(c *fiber.Ctx) error {
	_, _, p, d, ok, err := s.dataStart(c, auth.PermDataWrite)
	if !ok {
		return err
	}
	if !d.canDelete {
		return s.notFound(c, p)
	}
	sp, id := d.spec, dataID(c)
	var pv resourcepg.Preview
	err = s.cfg.API.Conn(c, func(ctx context.Context, db resourcepgConn) (err error) {
		pv, err = resourcepg.PreviewDelete(ctx, db, s.cfg.API.Specs(), sp, id)
		return err
	})
	if err != nil {
		return s.serviceError(c, p, err)
	}
	dd := s.deleteData(p, sp, id)
	dd.Blocking, dd.Cascaded = s.counts(p, pv.Blocking), s.counts(p, pv.Cascaded)
	p.Data = dd
	return s.Render(c, fiber.StatusOK, tplDataDelete, p)
}

// dataDelete: POST /data/:name/:id/delete.
func (s *Console) dataDelete(c *fiber.Ctx) error {
	_, _, p, d, ok, err := s.dataStart(c, auth.PermDataWrite)
	if !ok {
		return err
	}
	if !d.canDelete {
		return s.notFound(c, p)
	}
	sp, id := d.spec, dataID(c)
	del, err := s.cfg.API.DeleteRow(c, sp, id)
	dd := s.deleteData(p, sp, id)
	p.Data = dd
	if tenant.ErrorCode(err) == tenant.EInUse {
		blocking := map[string]int64{}
		for k, v := range tenant.ErrorDetails(err) {
			if k != "dependents" {
				continue
			}
			if m, ok := v.(map[string]any); ok {
				for r, n := range m {
					if x, ok := n.(int64); ok {
						blocking[r] = x
					}
				}
			}
		}
		dd.Blocking = s.counts(p, blocking)
		return s.Render(c, fiber.StatusConflict, tplDataDelete, p)
	}
	if err != nil {
		return s.serviceError(c, p, err)
	}
	dd.Done, dd.Cascaded = true, s.counts(p, del.Cascaded)
	p.Notice = "data.deleted"
	return s.Render(c, fiber.StatusOK, tplDataDelete, p)
}
