package restaurant_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/domaintest"
	"github.com/tenancy/platform/tenant/resource"
	"github.com/tenancy/platform/tenant/resource/resourcepg"
	"github.com/tenancy/platform/tenant/restaurant"
)

// env is one restaurant tenant served with the restaurant routes and its
// admin's client.
type env struct {
	h  *domaintest.Harness
	tn *tenanttest.Tenant
	c  *domaintest.Client
}

func newEnv(t *testing.T) env {
	t.Helper()
	h := domaintest.New(t, restaurant.Mount)
	tn := h.Tenant(t, tenant.Restaurant)
	return env{h: h, tn: tn, c: h.Admin(t, tn)}
}

func path(p string, id int64) string { return fmt.Sprintf("%s/%d", p, id) }

// menu makes a category and items of it with the given prices; it
// returns the items' ids.
func (e env) menu(t *testing.T, prices ...int) []int64 {
	t.Helper()
	cat := e.c.Do("POST", "/api/menu-categories", map[string]any{"name": "Cat " + t.Name()}).Want(t, 201, "").ID()
	ids := make([]int64, len(prices))
	for i, p := range prices {
		ids[i] = e.c.Do("POST", "/api/menu-items", map[string]any{"category_id": cat, "name": fmt.Sprintf("Plato %d", i),
			"price_cents": p}).Want(t, 201, "").ID()
	}
	return ids
}

func (e env) branch(t *testing.T, name string, seats int) int64 {
	t.Helper()
	return e.c.Do("POST", "/api/branches", map[string]any{"name": name, "seats_per_slot": seats}).Want(t, 201, "").ID()
}

func (e env) order(t *testing.T, branch int64, items ...int64) domaintest.Resp {
	t.Helper()
	lines := make([]map[string]any, len(items))
	for i, it := range items {
		lines[i] = map[string]any{"menu_item_id": it, "quantity": 1}
	}
	return e.c.Do("POST", "/api/orders", map[string]any{"branch_id": branch, "order_type": "dine_in", "items": lines}).
		Want(t, 201, "")
}

// audit returns the details of the audit rows of action on entity id.
func (e env) audit(t *testing.T, action string, id int64) []map[string]any {
	t.Helper()
	rows, err := e.tn.App.Query(e.h.Env.Ctx, `SELECT details FROM audit_log
		WHERE action = $1 AND entity_id = $2 ORDER BY id`, action, fmt.Sprint(id))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []map[string]any
	for rows.Next() {
		var d map[string]any
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// cascaded reads a delete's audit details: [{resource, count}].
func cascaded(details map[string]any) map[string]float64 {
	out := map[string]float64{}
	list, _ := details["cascaded"].([]any)
	for _, x := range list {
		m, _ := x.(map[string]any)
		res, _ := m["resource"].(string)
		n, _ := m["count"].(float64)
		out[res] = n
	}
	return out
}

// TestSchema: the specs agree with the migrated schema (columns, delete
// rules, unique keys).
func TestSchema(t *testing.T) {
	t.Parallel()
	h := domaintest.New(t)
	tn := h.Tenant(t, tenant.Restaurant)
	problems, err := resourcepg.CheckSchema(h.Env.Ctx, tn.App, append([]*resource.Spec{restaurant.OrderItems}, restaurant.Specs...))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestCRUD: create, get, change, list and delete each plain resource, an
// audit row for each write, and 422 with per-field messages for bad input.
func TestCRUD(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.c
	branch := e.branch(t, "Sucursal Ñuñoa", 40)
	cust := c.Do("POST", "/api/customers", map[string]any{"name": "Pedro Soto", "phone": "+56 9 1111 2222"}).Want(t, 201, "").ID()
	items := e.menu(t, 1000)

	cases := []struct {
		path    string
		entity  string
		create  map[string]any
		patch   map[string]any
		bad     map[string]any
		badKeys []string
	}{
		{"/api/branches", "branch",
			map[string]any{"name": "Sucursal Centro", "address": "Ahumada 100", "time_zone": "America/Santiago", "seats_per_slot": 20},
			map[string]any{"active": false, "slot_minutes": 15},
			map[string]any{"name": "", "seats_per_slot": 0, "slot_minutes": 500, "phone": "abc"},
			[]string{"name", "seats_per_slot", "slot_minutes", "phone"}},
		{"/api/customers", "customer",
			map[string]any{"name": "Ana Muñoz", "email": "ana@example.cl", "notes": "Cliente frecuente"},
			map[string]any{"phone": "+56 2 2222 3333", "email": nil},
			map[string]any{"email": "no-es-correo", "phone": "x", "id": 3},
			[]string{"name", "email", "phone", "id"}},
		{"/api/menu-categories", "menu_category",
			map[string]any{"name": "Postres", "position": 3},
			map[string]any{"active": false},
			map[string]any{"name": strings.Repeat("a", 81), "position": -1, "created_at": "2026-01-01T00:00:00Z"},
			[]string{"name", "position", "created_at"}},
		{"/api/menu-items", "menu_item",
			map[string]any{"category_id": e.c.Do("GET", path("/api/menu-items", items[0]), nil).Body["category_id"], "name": "Sopaipilla", "price_cents": 500},
			map[string]any{"price_cents": 600, "description": "Con pebre"},
			map[string]any{"category_id": 0, "price_cents": -5, "available": "yes"},
			[]string{"category_id", "name", "price_cents", "available"}},
		{"/api/menu-item-branches", "menu_item_branch",
			map[string]any{"menu_item_id": items[0], "branch_id": branch, "available": false},
			map[string]any{"available": true},
			map[string]any{"menu_item_id": "uno"},
			[]string{"menu_item_id", "branch_id", "available"}},
		{"/api/customer-messages", "customer_message",
			map[string]any{"branch_id": branch, "customer_id": cust, "channel": "sms", "purpose": "verification",
				"recipient": "+56911112222", "body": "Su código es 123456"},
			map[string]any{"status": "sent", "provider_ref": "SM123"},
			map[string]any{"channel": "fax", "purpose": "spam", "sent_by": 1},
			[]string{"channel", "purpose", "recipient", "sent_by"}},
		{"/api/reservations", "reservation",
			map[string]any{"branch_id": branch, "customer_id": cust, "party_size": 4, "starts_at": "2026-03-14T21:00:00-03:00"},
			map[string]any{"notes": "Mesa en terraza", "status": "confirmed"},
			map[string]any{"party_size": 0, "starts_at": "mañana", "duration_minutes": 2, "customer_name": 5},
			[]string{"branch_id", "party_size", "starts_at", "duration_minutes", "customer_name"}},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			r := c.Do("POST", tc.path, tc.create).Want(t, 201, "")
			id := r.ID()
			if r.Header.Get("Location") != path(tc.path, id) {
				t.Errorf("Location %q", r.Header.Get("Location"))
			}
			got := c.Do("GET", path(tc.path, id), nil).Want(t, 200, "")
			for k, want := range tc.create {
				if k == "starts_at" {
					continue
				}
				if fmt.Sprint(got.Body[k]) != fmt.Sprint(want) {
					t.Errorf("%s = %v, want %v", k, got.Body[k], want)
				}
			}
			c.Do("PATCH", path(tc.path, id), tc.patch).Want(t, 200, "")
			got = c.Do("GET", path(tc.path, id), nil).Want(t, 200, "")
			for k, want := range tc.patch {
				if want != nil && fmt.Sprint(got.Body[k]) != fmt.Sprint(want) {
					t.Errorf("after patch %s = %v, want %v", k, got.Body[k], want)
				} else if want == nil && got.Body[k] != nil {
					t.Errorf("after patch %s = %v, want null", k, got.Body[k])
				}
			}
			found := false
			for _, it := range c.Do("GET", tc.path+"?limit=200", nil).Want(t, 200, "").Items() {
				found = found || int64(it["id"].(float64)) == id
			}
			if !found {
				t.Errorf("%d not listed", id)
			}

			r = c.Do("POST", tc.path, tc.bad).Want(t, 422, "validation_failed")
			for _, k := range tc.badKeys {
				if r.Fields[k] == nil {
					t.Errorf("no message for %s: %s", k, r.Raw)
				}
			}
			if len(r.Fields) != len(tc.badKeys) {
				t.Errorf("messages %v, want for %v", r.Fields, tc.badKeys)
			}
			c.Do("PATCH", path(tc.path, id), map[string]any{}).Want(t, 422, "validation_failed")
			c.Do("GET", path(tc.path, 99999999), nil).Want(t, 404, "not_found")

			c.Do("DELETE", path(tc.path, id), nil).Want(t, 200, "")
			c.Do("GET", path(tc.path, id), nil).Want(t, 404, "not_found")
			for _, action := range []string{"create", "update", "delete"} {
				if n := len(e.audit(t, tc.entity+"."+action, id)); n != 1 {
					t.Errorf("%d audit rows of %s.%s %d, want 1", n, tc.entity, action, id)
				}
			}
		})
	}

	r := c.Do("POST", "/api/branches", map[string]any{"name": "Sucursal Marte", "time_zone": "Marte/Olimpo"}).Want(t, 422, "validation_failed")
	if r.Fields["time_zone"] == nil {
		t.Errorf("time zone: %s", r.Raw)
	}
	// Duplicates by the real unique keys.
	c.Do("POST", "/api/branches", map[string]any{"name": "Sucursal Ñuñoa"}).Want(t, 409, "conflict")
	c.Do("POST", "/api/menu-item-branches", map[string]any{"menu_item_id": items[0], "branch_id": branch, "available": true}).Want(t, 201, "")
	r = c.Do("POST", "/api/menu-item-branches", map[string]any{"menu_item_id": items[0], "branch_id": branch, "available": false}).
		Want(t, 409, "conflict")
	if msg, _ := r.Body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "menu_item_id and branch_id") {
		t.Errorf("conflict: %s", r.Raw)
	}
	// sent_by is the acting user.
	msg := c.Do("POST", "/api/customer-messages", map[string]any{"channel": "email", "purpose": "other", "recipient": "a@b.cl"}).Want(t, 201, "")
	if msg.Body["sent_by"] == nil || msg.Body["status"] != "queued" {
		t.Errorf("message: %s", msg.Raw)
	}
	if n := len(c.Do("GET", "/api/customer-messages?channel=email", nil).Want(t, 200, "").Items()); n != 1 {
		t.Errorf("filter channel=email: %d", n)
	}
	c.Do("GET", "/api/orders?status=lost", nil).Want(t, 422, "validation_failed")
}

// TestPagination: pages of a list by limit and cursor give every row once,
// in id order, and filters (a date range of reservations) narrow them.
func TestPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	branch := e.branch(t, "Sucursal Paginada", 1000)
	day := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range 7 {
		e.c.Do("POST", "/api/reservations", map[string]any{"branch_id": branch, "customer_name": fmt.Sprintf("Cliente %d", i),
			"party_size": 2, "starts_at": day.Add(time.Duration(i%2) * 24 * time.Hour).Format(time.RFC3339)}).Want(t, 201, "")
	}
	var seen []int64
	cursor := ""
	for pages := 0; ; pages++ {
		r := e.c.Do("GET", fmt.Sprintf("/api/reservations?branch_id=%d&limit=3%s", branch, cursor), nil).Want(t, 200, "")
		if n := len(r.Items()); n > 3 {
			t.Fatalf("page of %d", n)
		}
		for _, it := range r.Items() {
			seen = append(seen, int64(it["id"].(float64)))
		}
		if r.Str("next_cursor") == "" {
			break
		}
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		cursor = "&cursor=" + r.Str("next_cursor")
	}
	if len(seen) != 7 {
		t.Fatalf("paged %v, want 7 rows", seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("not in id order: %v", seen)
		}
	}
	// The reservations of one day.
	r := e.c.Do("GET", fmt.Sprintf("/api/reservations?branch_id=%d&starts_at_from=2026-05-01T00:00:00Z&starts_at_to=2026-05-02T00:00:00Z", branch), nil).
		Want(t, 200, "")
	if n := len(r.Items()); n != 4 {
		t.Errorf("reservations of 1 May: %d, want 4", n)
	}
	e.c.Do("GET", "/api/reservations?limit=0", nil).Want(t, 422, "validation_failed")
	e.c.Do("GET", "/api/reservations?starts_at_from=ayer", nil).Want(t, 422, "validation_failed")
}

// TestDeleteRules: each restricted delete is 409 in_use naming the
// dependent and its count; each cascade is counted in the response and
// the audit row; set-null dependents stay.
func TestDeleteRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.c
	items := e.menu(t, 1000, 2000)
	cat := int64(c.Do("GET", path("/api/menu-items", items[0]), nil).Body["category_id"].(float64))
	branch := e.branch(t, "Sucursal Borrable", 40)
	cust := c.Do("POST", "/api/customers", map[string]any{"name": "Lucía Díaz"}).Want(t, 201, "").ID()
	order := e.order(t, branch, items[0], items[0]).ID()
	c.Do("PATCH", path("/api/orders", order), map[string]any{"customer_id": cust}).Want(t, 200, "")
	msg := c.Do("POST", "/api/customer-messages", map[string]any{"order_id": order, "branch_id": branch, "channel": "whatsapp",
		"purpose": "order_update", "recipient": "+56900000000"}).Want(t, 201, "").ID()
	c.Do("POST", "/api/reservations", map[string]any{"branch_id": branch, "customer_name": "X", "party_size": 2,
		"starts_at": "2026-06-01T20:00:00Z"}).Want(t, 201, "")
	c.Do("POST", "/api/menu-item-branches", map[string]any{"menu_item_id": items[1], "branch_id": branch, "available": false}).Want(t, 201, "")

	restricted := []struct {
		path string
		id   int64
		deps map[string]float64
	}{
		{"/api/menu-items", items[0], map[string]float64{"order_items": 2}},
		{"/api/menu-categories", cat, map[string]float64{"menu_items": 2}},
		{"/api/branches", branch, map[string]float64{"orders": 1, "reservations": 1}},
	}
	for _, tc := range restricted {
		r := c.Do("DELETE", path(tc.path, tc.id), nil).Want(t, 409, "in_use")
		d, _ := r.Body["error"].(map[string]any)["details"].(map[string]any)["dependents"].(map[string]any)
		if len(d) != len(tc.deps) {
			t.Errorf("DELETE %s: dependents %v, want %v", tc.path, d, tc.deps)
		}
		for k, n := range tc.deps {
			if d[k] != n {
				t.Errorf("DELETE %s: dependents %v, want %v", tc.path, d, tc.deps)
			}
		}
	}

	// Customer: set null on the order.
	c.Do("DELETE", path("/api/customers", cust), nil).Want(t, 200, "")
	if o := c.Do("GET", path("/api/orders", order), nil).Want(t, 200, ""); o.Body["customer_id"] != nil {
		t.Errorf("order after its customer went: %s", o.Raw)
	}
	// Order: its items cascade, the message stays without it.
	r := c.Do("DELETE", path("/api/orders", order), nil).Want(t, 200, "")
	if r.Body["cascaded"].(map[string]any)["order_items"] != float64(2) {
		t.Errorf("order delete: %s", r.Raw)
	}
	if a := e.audit(t, "order.delete", order); len(a) != 1 || cascaded(a[0])["order_items"] != 2 {
		t.Errorf("order delete audit: %v", a)
	}
	if m := c.Do("GET", path("/api/customer-messages", msg), nil).Want(t, 200, ""); m.Body["order_id"] != nil {
		t.Errorf("message after its order went: %s", m.Raw)
	}
	// Branch without orders and reservations: its availability rows cascade.
	res := c.Do("GET", fmt.Sprintf("/api/reservations?branch_id=%d", branch), nil).Want(t, 200, "").Items()
	c.Do("DELETE", path("/api/reservations", int64(res[0]["id"].(float64))), nil).Want(t, 200, "")
	r = c.Do("DELETE", path("/api/branches", branch), nil).Want(t, 200, "")
	if cas := r.Body["cascaded"].(map[string]any); len(cas) != 1 || cas["menu_item_branches"] != float64(1) {
		t.Errorf("branch delete: %s", r.Raw)
	}
	if a := e.audit(t, "branch.delete", branch); len(a) != 1 || cascaded(a[0])["menu_item_branches"] != 1 {
		t.Errorf("branch delete audit: %v", a)
	}
	if m := c.Do("GET", path("/api/customer-messages", msg), nil).Want(t, 200, ""); m.Body["branch_id"] != nil {
		t.Errorf("message after its branch went: %s", m.Raw)
	}
	// Menu item with an availability row and no orders: cascade.
	b2 := e.branch(t, "Sucursal Dos", 40)
	c.Do("POST", "/api/menu-item-branches", map[string]any{"menu_item_id": items[1], "branch_id": b2, "available": true}).Want(t, 201, "")
	r = c.Do("DELETE", path("/api/menu-items", items[1]), nil).Want(t, 200, "")
	if r.Body["cascaded"].(map[string]any)["menu_item_branches"] != float64(1) {
		t.Errorf("menu item delete: %s", r.Raw)
	}
}

// TestOrders: prices captured at order time, totals by the server, the
// items in the answer and in GET, availability per branch, per-item
// messages.
func TestOrders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.c
	items := e.menu(t, 1250, 3990, 700)
	branch := e.branch(t, "Sucursal Pedidos", 40)
	other := e.branch(t, "Sucursal Otra", 40)

	r := c.Do("POST", "/api/orders", map[string]any{"branch_id": branch, "order_type": "takeaway", "notes": "Para llevar",
		"items": []map[string]any{{"menu_item_id": items[0], "quantity": 3}, {"menu_item_id": items[1], "quantity": 2, "notes": "sin sal"}}}).
		Want(t, 201, "")
	id := r.ID()
	if r.Body["total_cents"] != float64(3*1250+2*3990) || r.Body["status"] != "pending" || r.Header.Get("Location") != path("/api/orders", id) {
		t.Fatalf("created: %s", r.Raw)
	}
	lines, _ := r.Body["items"].([]any)
	if len(lines) != 2 || lines[0].(map[string]any)["unit_price_cents"] != float64(1250) ||
		lines[1].(map[string]any)["notes"] != "sin sal" || lines[1].(map[string]any)["order_id"] != float64(id) {
		t.Fatalf("items: %s", r.Raw)
	}
	// A later price change leaves the order as it was.
	c.Do("PATCH", path("/api/menu-items", items[0]), map[string]any{"price_cents": 9999}).Want(t, 200, "")
	g := c.Do("GET", path("/api/orders", id), nil).Want(t, 200, "")
	if g.Body["total_cents"] != float64(3*1250+2*3990) || g.Body["items"].([]any)[0].(map[string]any)["unit_price_cents"] != float64(1250) {
		t.Errorf("after the price change: %s", g.Raw)
	}
	if n := e.order(t, branch, items[0]).Body["total_cents"]; n != float64(9999) {
		t.Errorf("new order at the new price: %v", n)
	}
	// Lists give orders without items; filters by branch and status.
	list := c.Do("GET", fmt.Sprintf("/api/orders?branch_id=%d&status=pending", branch), nil).Want(t, 200, "").Items()
	if len(list) != 2 || list[0]["items"] != nil {
		t.Errorf("list: %v", list)
	}
	for q, want := range map[string]int{"created_at_from=2000-01-01T00:00:00Z": 2, "created_at_to=2000-01-01T00:00:00Z": 0} {
		if n := len(c.Do("GET", fmt.Sprintf("/api/orders?branch_id=%d&%s", branch, q), nil).Want(t, 200, "").Items()); n != want {
			t.Errorf("orders ?%s: %d, want %d", q, n, want)
		}
	}
	if a := e.audit(t, "order.create", id); len(a) != 1 || a[0]["items"] != float64(2) {
		t.Errorf("audit: %v", a)
	}

	// Availability: the item's own, overridden per branch.
	c.Do("PATCH", path("/api/menu-items", items[2]), map[string]any{"available": false}).Want(t, 200, "")
	c.Do("POST", "/api/menu-item-branches", map[string]any{"menu_item_id": items[2], "branch_id": other, "available": true}).Want(t, 201, "")
	c.Do("POST", "/api/menu-item-branches", map[string]any{"menu_item_id": items[1], "branch_id": other, "available": false}).Want(t, 201, "")
	e.order(t, other, items[2])
	for _, tc := range []struct {
		branch int64
		items  []int64
		bad    string
	}{
		{branch, []int64{items[0], items[2]}, "items[1].menu_item_id"},
		{other, []int64{items[1]}, "items[0].menu_item_id"},
		{other, []int64{items[0], 99999999}, "items[1].menu_item_id"},
	} {
		lines := []map[string]any{}
		for _, it := range tc.items {
			lines = append(lines, map[string]any{"menu_item_id": it, "quantity": 1})
		}
		r := c.Do("POST", "/api/orders", map[string]any{"branch_id": tc.branch, "order_type": "dine_in", "items": lines}).
			Want(t, 422, "validation_failed")
		if len(r.Fields) != 1 || r.Fields[tc.bad] == nil {
			t.Errorf("%v at %d: %s, want a message for %s", tc.items, tc.branch, r.Raw, tc.bad)
		}
	}

	// Bad bodies: messages per field, nothing stored.
	before := len(c.Do("GET", "/api/orders", nil).Want(t, 200, "").Items())
	many := make([]map[string]any, restaurant.MaxOrderItems+1)
	for i := range many {
		many[i] = map[string]any{"menu_item_id": items[0], "quantity": 1}
	}
	for _, tc := range []struct {
		body any
		keys []string
	}{
		{map[string]any{}, []string{"branch_id", "order_type", "items"}},
		{map[string]any{"branch_id": branch, "order_type": "dine_in", "items": []any{}}, []string{"items"}},
		{map[string]any{"branch_id": branch, "order_type": "dine_in", "items": many}, []string{"items"}},
		{map[string]any{"branch_id": branch, "order_type": "dine_in", "items": "x"}, []string{"items"}},
		{map[string]any{"branch_id": 99999999, "order_type": "picnic", "status": "ready", "total_cents": 1, "items": []any{
			map[string]any{"menu_item_id": items[0], "quantity": 0, "unit_price_cents": 1},
			map[string]any{"quantity": 2},
			7,
		}}, []string{"order_type", "status", "total_cents", "items[0].quantity", "items[0].unit_price_cents", "items[1].menu_item_id", "items[2]"}},
	} {
		r := c.Do("POST", "/api/orders", tc.body).Want(t, 422, "validation_failed")
		if len(r.Fields) != len(tc.keys) {
			t.Errorf("%v: %s, want messages for %v", tc.body, r.Raw, tc.keys)
		}
		for _, k := range tc.keys {
			if r.Fields[k] == nil {
				t.Errorf("no message for %s: %s", k, r.Raw)
			}
		}
	}
	r = c.Do("POST", "/api/orders", map[string]any{"branch_id": 99999999, "order_type": "dine_in",
		"items": []any{map[string]any{"menu_item_id": items[0], "quantity": 1}}}).Want(t, 422, "validation_failed")
	if r.Fields["branch_id"] == nil {
		t.Errorf("unknown branch: %s", r.Raw)
	}
	r = c.Do("POST", "/api/orders", map[string]any{"branch_id": branch, "customer_id": 99999999, "order_type": "dine_in",
		"items": []any{map[string]any{"menu_item_id": items[0], "quantity": 1}}}).Want(t, 422, "validation_failed")
	if r.Fields["customer_id"] == nil {
		t.Errorf("unknown customer: %s", r.Raw)
	}
	c.Do("POST", "/api/orders", "{").Want(t, 400, "invalid_input")
	c.Do("POST", "/api/orders", `{"branch_id": 1} {}`).Want(t, 400, "invalid_input")
	if n := len(c.Do("GET", "/api/orders", nil).Want(t, 200, "").Items()); n != before {
		t.Errorf("%d orders after refused ones, want %d", n, before)
	}
	// PATCH: branch and type are fixed; notes change.
	c.Do("PATCH", path("/api/orders", id), map[string]any{"branch_id": other, "order_type": "delivery"}).Want(t, 422, "validation_failed")
	if r := c.Do("PATCH", path("/api/orders", id), map[string]any{"notes": "Retira Juan"}).Want(t, 200, ""); r.Body["notes"] != "Retira Juan" {
		t.Errorf("patch notes: %s", r.Raw)
	}
	c.Do("PATCH", path("/api/branches", other), map[string]any{"active": false}).Want(t, 200, "")
	r = c.Do("POST", "/api/orders", map[string]any{"branch_id": other, "order_type": "dine_in",
		"items": []any{map[string]any{"menu_item_id": items[2], "quantity": 1}}}).Want(t, 422, "validation_failed")
	if r.Fields["branch_id"] == nil {
		t.Errorf("inactive branch: %s", r.Raw)
	}
	c.Do("GET", "/api/orders/99999999", nil).Want(t, 404, "not_found")
	c.Do("PATCH", "/api/orders/99999999", map[string]any{"notes": "x"}).Want(t, 404, "not_found")
}

// TestOrderTransitions: every (from, to) pair of statuses, allowed exactly
// along the flow; refused ones are 409 invalid_transition naming both and
// change nothing.
func TestOrderTransitions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	items := e.menu(t, 100)
	branch := e.branch(t, "Sucursal Flujo", 40)
	// How to reach each status from pending.
	reach := map[string][]string{
		"pending":   nil,
		"confirmed": {"confirmed"},
		"preparing": {"confirmed", "preparing"},
		"ready":     {"confirmed", "preparing", "ready"},
		"delivered": {"confirmed", "preparing", "ready", "delivered"},
		"cancelled": {"cancelled"},
	}
	allowed := map[[2]string]bool{
		{"pending", "confirmed"}: true, {"confirmed", "preparing"}: true, {"preparing", "ready"}: true, {"ready", "delivered"}: true,
		{"pending", "cancelled"}: true, {"confirmed", "cancelled"}: true, {"preparing", "cancelled"}: true, {"ready", "cancelled"}: true,
	}
	statuses := []string{"pending", "confirmed", "preparing", "ready", "delivered", "cancelled"}
	for _, from := range statuses {
		for _, to := range statuses {
			id := e.order(t, branch, items[0]).ID()
			for _, s := range reach[from] {
				e.c.Do("PATCH", path("/api/orders", id), map[string]any{"status": s}).Want(t, 200, "")
			}
			r := e.c.Do("PATCH", path("/api/orders", id), map[string]any{"status": to, "notes": "cambio"})
			if from == to { // no change of status: allowed
				if r.Want(t, 200, ""); r.Body["status"] != to {
					t.Errorf("%s → %s: %s", from, to, r.Raw)
				}
				continue
			}
			if allowed[[2]string{from, to}] {
				r.Want(t, 200, "")
				if r.Body["status"] != to {
					t.Errorf("%s → %s: %s", from, to, r.Raw)
				}
				if a := e.audit(t, "order.update", id); fmt.Sprint(a[len(a)-1]["status"]) != fmt.Sprint(map[string]any{"from": from, "to": to}) {
					t.Errorf("%s → %s audit: %v", from, to, a)
				}
				continue
			}
			r.Want(t, 409, "invalid_transition")
			d, _ := r.Body["error"].(map[string]any)["details"].(map[string]any)
			if d["from"] != from || d["to"] != to {
				t.Errorf("%s → %s: %s", from, to, r.Raw)
			}
			if g := e.c.Do("GET", path("/api/orders", id), nil).Want(t, 200, ""); g.Body["status"] != from || g.Body["notes"] != nil {
				t.Errorf("%s → %s refused but changed: %s", from, to, g.Raw)
			}
		}
	}
}

// TestReservations: the customer's name as the default, the capacity per
// slot (cancelled ones hold no seats, slots of slot_minutes), the flow.
func TestReservations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.c
	branch := c.Do("POST", "/api/branches", map[string]any{"name": "Sucursal Reservas", "seats_per_slot": 10, "slot_minutes": 30}).
		Want(t, 201, "").ID()
	other := e.branch(t, "Sucursal Vecina", 10)
	cust := c.Do("POST", "/api/customers", map[string]any{"name": "Familia Rojas"}).Want(t, 201, "").ID()
	res := func(party int, at string, minutes int) map[string]any {
		return map[string]any{"branch_id": branch, "customer_name": "Cliente", "party_size": party, "starts_at": at, "duration_minutes": minutes}
	}

	r := c.Do("POST", "/api/reservations", map[string]any{"branch_id": branch, "customer_id": cust, "party_size": 8,
		"starts_at": "2026-07-01T20:00:00Z", "duration_minutes": 30}).Want(t, 201, "")
	if r.Str("customer_name") != "Familia Rojas" || r.Str("status") != "pending" {
		t.Errorf("default name: %s", r.Raw)
	}
	a := r.ID()
	c.Do("POST", "/api/reservations", map[string]any{"branch_id": branch, "customer_id": 99999999, "party_size": 2,
		"starts_at": "2026-07-01T20:00:00Z"}).Want(t, 422, "validation_failed")
	c.Do("POST", "/api/reservations", res(8, "2026-07-01T20:30:00Z", 30)).Want(t, 201, "")
	// 20:00–21:00 meets 8 guests in each half hour: 2 fit, 3 do not (a
	// sum over the whole hour would say 16).
	r = c.Do("POST", "/api/reservations", res(3, "2026-07-01T20:00:00Z", 60)).Want(t, 409, "capacity_exceeded")
	if d := r.Body["error"].(map[string]any)["details"].(map[string]any); d["booked"] != float64(8) || d["seats_per_slot"] != float64(10) ||
		d["seats_left"] != float64(2) || d["slot_start"] != "2026-07-01T20:00:00Z" {
		t.Errorf("details: %s", r.Raw)
	}
	two := c.Do("POST", "/api/reservations", res(2, "2026-07-01T20:00:00Z", 60)).Want(t, 201, "").ID()
	// Full now; before and after, and at another branch, there is room.
	c.Do("POST", "/api/reservations", res(1, "2026-07-01T20:15:00Z", 30)).Want(t, 409, "capacity_exceeded")
	c.Do("POST", "/api/reservations", res(10, "2026-07-01T21:00:00Z", 90)).Want(t, 201, "")
	c.Do("POST", "/api/reservations", res(10, "2026-07-01T18:30:00Z", 90)).Want(t, 201, "")
	c.Do("POST", "/api/reservations", map[string]any{"branch_id": other, "customer_name": "Otra", "party_size": 10,
		"starts_at": "2026-07-01T20:00:00Z"}).Want(t, 201, "")
	// Growing a party is checked; a change of notes is not.
	c.Do("PATCH", path("/api/reservations", two), map[string]any{"party_size": 3}).Want(t, 409, "capacity_exceeded")
	c.Do("PATCH", path("/api/reservations", two), map[string]any{"notes": "Silla de bebé", "party_size": 1}).Want(t, 200, "")
	late := c.Do("POST", "/api/reservations", res(4, "2026-07-01T23:00:00Z", 60)).Want(t, 201, "").ID()
	c.Do("PATCH", path("/api/reservations", late), map[string]any{"starts_at": "2026-07-01T20:30:00Z"}).Want(t, 409, "capacity_exceeded")
	c.Do("PATCH", path("/api/reservations", late), map[string]any{"branch_id": other, "starts_at": "2026-07-01T22:00:00Z"}).Want(t, 200, "")
	c.Do("PATCH", path("/api/reservations", two), map[string]any{"party_size": 2}).Want(t, 200, "")
	// A cancelled reservation frees its seats; it cannot come back.
	c.Do("POST", "/api/reservations", res(2, "2026-07-01T20:00:00Z", 30)).Want(t, 409, "capacity_exceeded")
	c.Do("PATCH", path("/api/reservations", a), map[string]any{"status": "cancelled"}).Want(t, 200, "")
	c.Do("POST", "/api/reservations", res(2, "2026-07-01T20:00:00Z", 30)).Want(t, 201, "")
	r = c.Do("PATCH", path("/api/reservations", a), map[string]any{"status": "confirmed"}).Want(t, 409, "invalid_transition")
	// The flow.
	for _, s := range []string{"confirmed", "seated", "completed"} {
		c.Do("PATCH", path("/api/reservations", two), map[string]any{"status": s}).Want(t, 200, "")
	}
	c.Do("PATCH", path("/api/reservations", two), map[string]any{"status": "seated"}).Want(t, 409, "invalid_transition")
	c.Do("POST", "/api/reservations", map[string]any{"branch_id": branch, "customer_name": "Z", "party_size": 1,
		"starts_at": "2026-07-02T20:00:00Z", "status": "completed"}).Want(t, 422, "validation_failed")
	r = c.Do("POST", "/api/reservations", map[string]any{"branch_id": branch, "party_size": 1, "starts_at": "2026-07-02T20:00:00Z"}).
		Want(t, 422, "validation_failed")
	if r.Fields["customer_name"] == nil {
		t.Errorf("no name: %s", r.Raw)
	}
	c.Do("PATCH", path("/api/branches", other), map[string]any{"active": false}).Want(t, 200, "")
	r = c.Do("POST", "/api/reservations", map[string]any{"branch_id": other, "customer_name": "Z", "party_size": 1,
		"starts_at": "2026-07-02T20:00:00Z"}).Want(t, 422, "validation_failed")
	if r.Fields["branch_id"] == nil {
		t.Errorf("inactive branch: %s", r.Raw)
	}
}

// TestReservationCapacityConcurrent: 8 simultaneous parties of 3 for 10
// seats: exactly 3 are booked, the others refused, whatever the timing.
func TestReservationCapacityConcurrent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	branch := e.branch(t, "Sucursal Concurrida", 10)
	const n = 8
	var wg sync.WaitGroup
	start := make(chan struct{})
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i] = e.c.Do("POST", "/api/reservations", map[string]any{"branch_id": branch,
				"customer_name": fmt.Sprintf("Grupo %d", i), "party_size": 3, "starts_at": "2026-08-01T21:00:00Z"}).Status
		}()
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[201] != 3 || count[409] != n-3 {
		t.Fatalf("statuses %v, want 3 × 201 and %d × 409", count, n-3)
	}
	rows := e.c.Do("GET", fmt.Sprintf("/api/reservations?branch_id=%d", branch), nil).Want(t, 200, "").Items()
	if len(rows) != 3 {
		t.Fatalf("%d reservations stored, want 3", len(rows))
	}
}

// TestAccess: the other kind gets route_not_found on every restaurant
// route; a user without a role is forbidden to read and write; staff may
// write.
func TestAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inst := e.h.Tenant(t, tenant.Institution)
	ia := e.h.Admin(t, inst)
	anon := e.h.Client(t, inst)
	for _, rt := range e.h.API.Routes() {
		p := strings.ReplaceAll(rt.Path, "{id}", "1")
		var body any
		if rt.Method != "GET" && rt.Method != "DELETE" {
			body = map[string]any{}
		}
		ia.Do(rt.Method, p, body).Want(t, 404, "route_not_found")
		anon.Do(rt.Method, p, body).Want(t, 404, "route_not_found")
	}

	nobody := e.h.User(t, e.tn, e.c, "sinrol")
	staff := e.h.User(t, e.tn, e.c, "ana", "staff")
	items := e.menu(t, 500)
	for _, rq := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/branches", nil},
		{"GET", "/api/orders/1", nil},
		{"POST", "/api/customers", map[string]any{"name": "X"}},
		{"POST", "/api/orders", map[string]any{"branch_id": 1, "order_type": "dine_in", "items": []any{map[string]any{"menu_item_id": items[0], "quantity": 1}}}},
		{"PATCH", "/api/reservations/1", map[string]any{"notes": "x"}},
		{"DELETE", "/api/menu-items/1", nil},
	} {
		nobody.Do(rq.method, rq.path, rq.body).Want(t, 403, "forbidden")
	}
	staff.Do("GET", "/api/branches", nil).Want(t, 200, "")
	staff.Do("POST", "/api/customers", map[string]any{"name": "Cliente de Ana"}).Want(t, 201, "")
	o := staff.Do("POST", "/api/orders", map[string]any{"branch_id": 1, "order_type": "dine_in",
		"items": []any{map[string]any{"menu_item_id": items[0], "quantity": 2}}}).Want(t, 201, "")
	var actor string
	if err := e.tn.App.QueryRow(e.h.Env.Ctx, `SELECT actor FROM audit_log WHERE action = 'order.create' AND entity_id = $1`,
		fmt.Sprint(o.ID())).Scan(&actor); err != nil || actor != "ana" {
		t.Errorf("audit actor %q %v", actor, err)
	}
	h := e.h.Client(t, e.tn)
	h.Do("GET", "/api/orders", nil).Want(t, 401, "unauthorized")
}

// The document's example of POST /api/orders is a body the route takes.
func TestOrderExample(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.menu(t, 1000, 2000) // ids 1 and 2 of a new tenant
	for _, rt := range e.h.API.Routes() {
		if rt.Method == "POST" && rt.Path == "/api/orders" {
			b, err := json.Marshal(rt.Example)
			if err != nil {
				t.Fatal(err)
			}
			e.c.Do("POST", "/api/orders", string(b)).Want(t, 201, "")
			return
		}
	}
	t.Fatal("no POST /api/orders route")
}
