package resourcehttp_test

import (
	"fmt"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/domaintest"
	"github.com/tenancy/platform/tenant/resource"
	"github.com/tenancy/platform/tenant/resource/resourcehttp"
	"github.com/tenancy/platform/tenant/resource/resourcepg"
)

// Test specs over tables the restaurant schema has had since issue 9.
var (
	categories = &resource.Spec{Name: "menu_categories", Entity: "menu_category", Path: "/api/test/categories",
		Table: "menu_categories", Kind: tenant.Restaurant,
		Fields: []resource.Field{
			{Name: "id", Type: resource.Int, ReadOnly: true},
			{Name: "name", Type: resource.String, Required: true, Max: 80},
			{Name: "position", Type: resource.Int, Min: resource.Int64(0), Filter: true},
			{Name: "active", Type: resource.Bool, Filter: true},
			{Name: "created_at", Type: resource.Time, ReadOnly: true},
		},
		Uniques: []resource.Unique{{Constraint: "menu_categories_name_key", Fields: []string{"name"}}},
		Depends: []resource.Dependent{{Resource: "menu_items", Table: "menu_items", Column: "category_id", Action: resource.Restrict}},
	}
	items = &resource.Spec{Name: "menu_items", Entity: "menu_item", Path: "/api/test/items", Table: "menu_items", Kind: tenant.Restaurant,
		Fields: []resource.Field{
			{Name: "id", Type: resource.Int, ReadOnly: true},
			{Name: "category_id", Type: resource.Ref, Ref: "menu_categories", Required: true, Filter: true},
			{Name: "name", Type: resource.String, Required: true},
			{Name: "description", Type: resource.String, Nullable: true},
			{Name: "price_cents", Type: resource.Money, Required: true},
			{Name: "available", Type: resource.Bool, Filter: true},
		},
		Uniques: []resource.Unique{{Constraint: "menu_items_category_id_name_key", Fields: []string{"category_id", "name"}}},
	}
)

func mount(api *resourcehttp.API, r fiber.Router) { api.Mount(r, categories, items) }

// TestCRUD: the five routes of a spec against a real tenant database:
// validation per field, duplicates, a restricted delete naming its
// dependents, keyset pagination, PATCH, kind isolation and permissions.
func TestCRUD(t *testing.T) {
	t.Parallel()
	h := domaintest.New(t, mount)
	tn := h.Tenant(t, tenant.Restaurant)
	c := h.Admin(t, tn)

	r := c.Do("POST", "/api/test/categories", map[string]any{"name": "  Entradas ", "position": 1}).Want(t, 201, "")
	cat := r.ID()
	if r.Str("name") != "Entradas" || r.Header.Get("Location") != fmt.Sprintf("/api/test/categories/%d", cat) {
		t.Fatalf("created %s, Location %q", r.Raw, r.Header.Get("Location"))
	}
	r = c.Do("POST", "/api/test/categories", map[string]any{"name": "", "position": -1, "id": 5, "colour": "red"}).Want(t, 422, "validation_failed")
	for _, f := range []string{"name", "position", "id", "colour"} {
		if r.Fields[f] == nil {
			t.Errorf("no message for %s: %s", f, r.Raw)
		}
	}
	c.Do("POST", "/api/test/categories", map[string]any{"name": "Entradas"}).Want(t, 409, "conflict")
	c.Do("POST", "/api/test/categories", "[1]").Want(t, 400, "invalid_input")
	c.Do("POST", "/api/test/items", map[string]any{"category_id": 999999, "name": "Sopa", "price_cents": 100}).Want(t, 422, "validation_failed")

	it := c.Do("POST", "/api/test/items", map[string]any{"category_id": cat, "name": "Empanada", "price_cents": 1500}).Want(t, 201, "").ID()
	c.Do("PATCH", fmt.Sprintf("/api/test/items/%d", it), map[string]any{"price_cents": 1800, "description": "de pino"}).Want(t, 200, "")
	if r := c.Do("GET", fmt.Sprintf("/api/test/items/%d", it), nil).Want(t, 200, ""); r.Body["price_cents"] != float64(1800) {
		t.Errorf("after patch: %s", r.Raw)
	}
	c.Do("PATCH", fmt.Sprintf("/api/test/items/%d", it), map[string]any{}).Want(t, 422, "validation_failed")
	c.Do("GET", "/api/test/items/999999", nil).Want(t, 404, "not_found")
	c.Do("GET", "/api/test/items/abc", nil).Want(t, 404, "not_found")

	r = c.Do("DELETE", fmt.Sprintf("/api/test/categories/%d", cat), nil).Want(t, 409, "in_use")
	if d, _ := r.Body["error"].(map[string]any)["details"].(map[string]any); d == nil || d["dependents"].(map[string]any)["menu_items"] != float64(1) {
		t.Errorf("in_use details: %s", r.Raw)
	}
	c.Do("DELETE", fmt.Sprintf("/api/test/items/%d", it), nil).Want(t, 200, "")
	c.Do("DELETE", fmt.Sprintf("/api/test/categories/%d", cat), nil).Want(t, 200, "")

	// Pagination: 7 rows in pages of 3, every row once, in id order.
	for i := range 7 {
		c.Do("POST", "/api/test/categories", map[string]any{"name": fmt.Sprintf("C%d", i), "position": i % 2}).Want(t, 201, "")
	}
	var seen []float64
	cursor := ""
	for pages := 0; ; pages++ {
		r := c.Do("GET", "/api/test/categories?limit=3"+cursor, nil).Want(t, 200, "")
		for _, it := range r.Items() {
			seen = append(seen, it["id"].(float64))
		}
		next := r.Str("next_cursor")
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		cursor = "&cursor=" + next
	}
	if len(seen) != 7 {
		t.Fatalf("paged %v, want 7 rows", seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("not in id order: %v", seen)
		}
	}
	if n := len(c.Do("GET", "/api/test/categories?position=1", nil).Want(t, 200, "").Items()); n != 3 {
		t.Errorf("filter position=1: %d rows, want 3", n)
	}
	c.Do("GET", "/api/test/categories?cursor=nope", nil).Want(t, 422, "validation_failed")
	c.Do("GET", "/api/test/categories?colour=red", nil).Want(t, 422, "validation_failed")

	// The other kind: as if the routes did not exist, even unauthenticated.
	other := h.Tenant(t, tenant.Institution)
	h.Client(t, other).Do("GET", "/api/test/categories", nil).Want(t, 404, "route_not_found")
	h.Admin(t, other).Do("GET", "/api/test/categories", nil).Want(t, 404, "route_not_found")
	// Unauthenticated on the right kind.
	h.Client(t, tn).Do("GET", "/api/test/categories", nil).Want(t, 401, "unauthorized")
}

// TestCheckSchema: the test specs agree with the schema, and a wrong
// declaration is reported.
func TestCheckSchema(t *testing.T) {
	t.Parallel()
	h := domaintest.New(t)
	tn := h.Tenant(t, tenant.Restaurant)
	ctx := h.Env.Ctx
	// The restaurant schema since 000005 also points menu_item_branches
	// and order_items at menu_items.
	good := *items
	good.Depends = []resource.Dependent{
		{Resource: "order_items", Table: "order_items", Column: "menu_item_id", Action: resource.Restrict},
		{Resource: "menu_item_branches", Table: "menu_item_branches", Column: "menu_item_id", Action: resource.Cascade},
	}
	problems, err := resourcepg.CheckSchema(ctx, tn.App, []*resource.Spec{categories, &good})
	if err != nil || len(problems) != 0 {
		t.Fatalf("good specs: %v %v", problems, err)
	}
	bad := good
	bad.Depends = []resource.Dependent{{Resource: "order_items", Table: "order_items", Column: "menu_item_id", Action: resource.Cascade}}
	bad.Fields = append([]resource.Field{}, good.Fields...)
	bad.Fields = append(bad.Fields, resource.Field{Name: "colour", Type: resource.String})
	bad.Uniques = []resource.Unique{{Constraint: "no_such_key", Fields: []string{"name"}}}
	problems, err = resourcepg.CheckSchema(ctx, tn.App, []*resource.Spec{&bad})
	if err != nil || len(problems) != 4 {
		t.Fatalf("bad spec: %d problems %v %v, want 4 (column, action, undeclared, unique)", len(problems), problems, err)
	}
}

// TestAppendListMatchesList: the list routes' direct encoding writes the
// same bytes as List's rows encoded, on every page, nulls and all.
func TestAppendListMatchesList(t *testing.T) {
	t.Parallel()
	h := domaintest.New(t, mount)
	tn := h.Tenant(t, tenant.Restaurant)
	c := h.Admin(t, tn)
	cat := c.Do("POST", "/api/test/categories", map[string]any{"name": "Postres"}).Want(t, 201, "").ID()
	for i := range 5 {
		body := map[string]any{"category_id": cat, "name": fmt.Sprintf("Leche asada \"%d\" ñ\n", i), "price_cents": 1000 + i}
		if i%2 == 0 {
			body["description"] = "con <caramelo> & \u2028 canela"
		}
		c.Do("POST", "/api/test/items", body).Want(t, 201, "")
	}
	ctx := h.Env.Ctx
	for _, p := range []resource.ListParams{{Limit: 2}, {Limit: 2, After: 2}, {Limit: 50}, {Limit: 1, Filters: []resource.Filter{{Field: "available", Op: "=", Value: true}}}} {
		page, err := resourcepg.List(ctx, tn.App, items, p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := resourcepg.AppendList(ctx, tn.App, items, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := page.AppendJSON(nil); string(got) != string(want) {
			t.Errorf("params %+v:\n got %s\nwant %s", p, got, want)
		}
	}
}
