package console_test

import (
	"context"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/console"
	"github.com/tenancy/platform/tenant/domaintest"
	"github.com/tenancy/platform/tenant/restaurant"
)

// menu is a small restaurant: its first branch ("Casa matriz"), a second
// one, and four dishes, the cazuela not available at the first branch.
type menu struct {
	branch, other                    int64
	empanada, pisco, pastel, cazuela int64
}

func restaurantMenu(t *testing.T, admin *domaintest.Client) menu {
	t.Helper()
	var m menu
	branches := admin.Do("GET", "/api/branches", nil).Want(t, 200, "").Items()
	if len(branches) != 1 {
		t.Fatalf("branches %v", branches)
	}
	m.branch = int64(branches[0]["id"].(float64))
	m.other = admin.Do("POST", "/api/branches", map[string]any{"name": "Sucursal Providencia", "seats_per_slot": 10,
		"slot_minutes": 30}).Want(t, 201, "").ID()
	cat := admin.Do("POST", "/api/menu-categories", map[string]any{"name": "Platos"}).Want(t, 201, "").ID()
	item := func(name string, cents int) int64 {
		return admin.Do("POST", "/api/menu-items", map[string]any{"category_id": cat, "name": name, "price_cents": cents}).Want(t, 201, "").ID()
	}
	m.empanada, m.pisco, m.pastel, m.cazuela = item("Empanada de pino", 250000), item("Pisco sour", 450000),
		item("Pastel de choclo", 890000), item("Cazuela", 750000)
	admin.Do("POST", "/api/menu-item-branches", map[string]any{"menu_item_id": m.cazuela, "branch_id": m.branch,
		"available": false}).Want(t, 201, "")
	return m
}

// placed is an order made through the API.
type placed struct {
	id  int64
	at  time.Time
	ids string
}

func placeOrder(t *testing.T, admin *domaintest.Client, branch int64, lines ...int64) placed {
	t.Helper()
	var items []map[string]any
	for i := 0; i+1 < len(lines); i += 2 {
		items = append(items, map[string]any{"menu_item_id": lines[i], "quantity": lines[i+1]})
	}
	r := admin.Do("POST", "/api/orders", map[string]any{"branch_id": branch, "order_type": "takeaway", "items": items,
		"notes": "Sin cebolla"}).Want(t, 201, "")
	at, err := time.Parse(time.RFC3339Nano, r.Str("created_at"))
	if err != nil {
		t.Fatal(err)
	}
	return placed{id: r.ID(), at: at, ids: strconv.FormatInt(r.ID(), 10)}
}

// column is the board's section of status.
func column(t *testing.T, body, status string) string {
	t.Helper()
	mark := `aria-labelledby="col-` + status + `" data-status="` + status + `">`
	i := strings.Index(body, mark)
	if i < 0 {
		t.Fatalf("no %s column in %s", status, body)
	}
	rest := body[i:]
	return rest[:strings.Index(rest, "</section>")]
}

// inColumn reports the status columns holding order id.
func inColumns(t *testing.T, body string, id int64) []string {
	t.Helper()
	var out []string
	for _, st := range []string{"pending", "confirmed", "preparing", "ready", "delivered", "cancelled"} {
		if strings.Contains(column(t, body, st), `id="order-`+strconv.FormatInt(id, 10)+`"`) {
			out = append(out, st)
		}
	}
	return out
}

func dayIn(t *testing.T, at time.Time, zone string) time.Time {
	t.Helper()
	z, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	return at.In(z)
}

func boardPath(branch int64, day time.Time) string {
	return "/orders?branch=" + strconv.FormatInt(branch, 10) + "&day=" + day.Format(time.DateOnly)
}

func statusOf(t *testing.T, admin *domaintest.Client, path string) string {
	t.Helper()
	return admin.Do("GET", path, nil).Want(t, 200, "").Str("status")
}

// The board shows the day's orders of one branch per status column with
// their items, time and total in the tenant's money; a status change moves
// the card and is audited; a stale or invalid change and a form without
// the token change nothing.
func TestOrdersBoard(t *testing.T) {
	t.Parallel()
	e := newDataEnv(t, tenant.Restaurant)
	admin := e.h.Admin(t, e.tn)
	m := restaurantMenu(t, admin)
	a := placeOrder(t, admin, m.branch, m.empanada, 2, m.pisco, 1) // 2 × 2.500 + 4.500
	b := placeOrder(t, admin, m.branch, m.pastel, 1)
	c := placeOrder(t, admin, m.branch, m.pisco, 3)
	for _, st := range []string{"confirmed", "preparing", "ready", "delivered"} {
		admin.Do("PATCH", "/api/orders/"+c.ids, map[string]any{"status": st}).Want(t, 200, "")
	}
	admin.Do("PATCH", "/api/orders/"+b.ids, map[string]any{"status": "confirmed"}).Want(t, 200, "")
	elsewhere := placeOrder(t, admin, m.other, m.pastel, 1)

	f := e.form(t)
	f.loginData()
	local := dayIn(t, a.at, e.tn.TimeZone)
	r := f.get(boardPath(m.branch, local)).want(t, 200)
	for _, want := range []string{"Tablero de pedidos · Casa matriz", "Empanada de pino × 2", "Pisco sour × 1", "$9.500", "$8.900",
		"Sin cebolla", "Para llevar", local.Format("15:04"), `<h2 id="col-pending">Pendiente`, `rel="prev"`, `rel="next"`,
		`<option value="` + strconv.FormatInt(m.other, 10) + `">Sucursal Providencia</option>`, `aria-current="page"`} {
		if !strings.Contains(r.Body, want) {
			t.Fatalf("board lacks %q: %s", want, r.Body)
		}
	}
	for id, want := range map[int64]string{a.id: "pending", b.id: "confirmed", c.id: "delivered"} {
		if got := inColumns(t, r.Body, id); len(got) != 1 || got[0] != want {
			t.Fatalf("order %d in %v, want %s", id, got, want)
		}
	}
	if strings.Contains(r.Body, `id="order-`+elsewhere.ids+`"`) {
		t.Fatal("the board shows another branch's order")
	}
	// A delivered order has no buttons; a pending one confirm and cancel.
	if strings.Contains(column(t, r.Body, "delivered"), "<button") {
		t.Fatal("a delivered order offers a change")
	}
	pending := column(t, r.Body, "pending")
	if !strings.Contains(pending, `name="status" value="confirmed"`) || !strings.Contains(pending, `name="status" value="cancelled"`) ||
		strings.Contains(pending, `value="ready"`) {
		t.Fatalf("pending card's buttons: %s", pending)
	}
	// Another day shows none of them; the other branch only its own.
	if r := f.get(boardPath(m.branch, local.AddDate(0, 0, 1))).want(t, 200); strings.Contains(r.Body, `id="order-`) ||
		!strings.Contains(r.Body, "0 pedidos") {
		t.Fatalf("next day: %s", r.Body)
	}
	if r := f.get(boardPath(m.other, local)).want(t, 200); !strings.Contains(r.Body, `id="order-`+elsewhere.ids+`"`) ||
		strings.Contains(r.Body, `id="order-`+a.ids+`"`) {
		t.Fatalf("other branch: %s", r.Body)
	}
	f.get("/orders?branch=999999").want(t, 404)
	if r := f.get("/orders?branch="+strconv.FormatInt(m.branch, 10)+"&day=ayer").want(t, 422); !strings.Contains(r.Body, `id="err-day"`) {
		t.Fatalf("bad day: %s", r.Body)
	}

	// Move a: pending → confirmed.
	tok := csrf(t, r.Body)
	move := func(id, from, to string) resp {
		return f.post("/orders/"+id+"/status", url.Values{"csrf": {tok}, "from": {from}, "status": {to},
			"branch": {strconv.FormatInt(m.branch, 10)}, "day": {local.Format(time.DateOnly)}, "back": {"board"}})
	}
	r = move(a.ids, "pending", "confirmed").want(t, 303)
	if want := boardPath(m.branch, local) + "&done=status#order-" + a.ids; r.Location != want {
		t.Fatalf("status change → %q, want %q", r.Location, want)
	}
	r = f.get(strings.TrimSuffix(r.Location, "#order-"+a.ids)).want(t, 200)
	if got := inColumns(t, r.Body, a.id); len(got) != 1 || got[0] != "confirmed" || !strings.Contains(r.Body, "Se cambió el estado.") {
		t.Fatalf("after the move, order in %v: %s", got, r.Body)
	}
	if got := statusOf(t, admin, "/api/orders/"+a.ids); got != "confirmed" {
		t.Fatalf("stored status %q", got)
	}
	audit := string(admin.Do("GET", "/api/audit?entity=order&entity_id="+a.ids, nil).Want(t, 200, "").Raw)
	for _, want := range []string{`"order.update"`, `"actor":"` + e.tn.AdminUsername + `"`, `"from":"pending"`, `"to":"confirmed"`} {
		if !strings.Contains(audit, want) {
			t.Fatalf("audit lacks %s: %s", want, audit)
		}
	}
	// Two people moved the same card: the second, from what it saw, is
	// refused with a message on the board; nothing changes.
	r = move(a.ids, "pending", "cancelled").want(t, 409)
	if !strings.Contains(r.Body, `role="alert" id="board-alert">El pedido #`+a.ids+` ya no está «Pendiente»`) ||
		!strings.Contains(r.Body, "ahora está «Confirmado»") {
		t.Fatalf("stale change: %s", r.Body)
	}
	if got := inColumns(t, r.Body, a.id); len(got) != 1 || got[0] != "confirmed" {
		t.Fatalf("the refused board shows the order in %v", got)
	}
	// A change the flow does not allow.
	r = move(a.ids, "confirmed", "delivered").want(t, 409)
	if !strings.Contains(r.Body, "no puede pasar de «Confirmado» a «Entregado»") {
		t.Fatalf("invalid transition: %s", r.Body)
	}
	// Without the token, or with another one: 403, nothing changes.
	for _, v := range []string{"", tok + "x"} {
		f.post("/orders/"+a.ids+"/status", url.Values{"csrf": {v}, "from": {"confirmed"}, "status": {"preparing"}}).want(t, 403)
	}
	if got := statusOf(t, admin, "/api/orders/"+a.ids); got != "confirmed" {
		t.Fatalf("after refused changes the status is %q", got)
	}
	updates := strings.Count(string(admin.Do("GET", "/api/audit?entity=order&entity_id="+a.ids, nil).Want(t, 200, "").Raw), `"order.update"`)
	if updates != 1 {
		t.Fatalf("%d order.update rows, want 1", updates)
	}
	// From the order's page: its status buttons come back to it.
	r = f.post("/orders/"+a.ids+"/status", url.Values{"csrf": {tok}, "from": {"confirmed"}, "status": {"preparing"}, "back": {"order"}}).want(t, 303)
	if r.Location != "/orders/"+a.ids+"?done=status" {
		t.Fatalf("page status change → %q", r.Location)
	}
	r = f.get(r.Location).want(t, 200)
	for _, want := range []string{`id="order-status">En preparación</dd>`, `id="order-total">$9.500</td>`, "Empanada de pino", "$2.500", "$5.000"} {
		if !strings.Contains(r.Body, want) {
			t.Fatalf("order page lacks %q: %s", want, r.Body)
		}
	}
	// Notes and customer from the order's page.
	cust := admin.Do("POST", "/api/customers", map[string]any{"name": "María José Pérez"}).Want(t, 201, "").ID()
	r = f.post("/orders/"+a.ids, url.Values{"csrf": {tok}, "customer_id": {strconv.FormatInt(cust, 10)}, "notes": {"Con mucho pebre"}}).want(t, 303)
	got := admin.Do("GET", "/api/orders/"+a.ids, nil).Want(t, 200, "")
	if got.Str("notes") != "Con mucho pebre" || got.Body["customer_id"] != float64(cust) {
		t.Fatalf("after the edit: %s", got.Raw)
	}
	if r := f.get("/orders/"+a.ids).want(t, 200); !strings.Contains(r.Body, "María José Pérez") {
		t.Fatalf("order page lacks the customer: %s", r.Body)
	}
	f.get("/orders/999999").want(t, 404)
}

// newLocaleEnv is newDataEnv on a restaurant whose console sees the
// tenant with the locale, currency and time zone settings given, as an
// operator would set them.
func newLocaleEnv(t *testing.T, locale, currency, zone string) *env {
	t.Helper()
	h := domaintest.NewWith(t, domaintest.Options{Principal: console.Principal, Pages: func(d domaintest.Deps, r fiber.Router) {
		settings := map[string]any{tenant.SettingLocale: locale, tenant.SettingCurrency: currency}
		tenantOf := func(c *fiber.Ctx) *tenant.Tenant {
			tn := d.Tenant(c)
			if tn == nil {
				return nil
			}
			cp := *tn
			cp.TimeZone, cp.Settings = zone, settings
			return &cp
		}
		if _, err := console.Mount(r, console.Config{Service: d.Service, Sessions: d.Sessions, Secrets: d.Secrets,
			Pools: d.Pools, Proxies: d.Proxies, Tenant: tenantOf, Logger: d.Logger, API: d.API}); err != nil {
			t.Fatal(err)
		}
	}}, restaurant.Mount)
	tn := h.Tenant(t, tenant.Restaurant)
	_, port, err := net.SplitHostPort(h.Addr())
	if err != nil {
		t.Fatal(err)
	}
	return &env{h: h, tn: tn, base: "http://" + tn.Slug + ".localhost:" + port}
}

// An MXN tenant's board and forms write and read amounts with two
// decimals; a CLP tenant's forms take none.
func TestRestaurantMoney(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, locale, currency, zone string
		price, stored, shown         string
		bad, badMsg                  string
		cents                        float64
	}{
		{"clp", "es-CL", "CLP", "America/Santiago", "4500", "4.500", "$9.000", "4,5", "Los montos en pesos chilenos no llevan decimales.", 450000},
		{"mxn", "es-MX", "MXN", "America/Mexico_City", "45,50", "45.50", "$91.00", "45.5055", "Escribe como máximo dos decimales.", 4550},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newLocaleEnv(t, tc.locale, tc.currency, tc.zone)
			admin := e.h.Admin(t, e.tn)
			cat := admin.Do("POST", "/api/menu-categories", map[string]any{"name": "Bebidas"}).Want(t, 201, "").ID()
			f := e.form(t)
			tok := f.loginData()
			form := url.Values{"csrf": {tok}, "category_id": {strconv.FormatInt(cat, 10)}, "name": {"Agua"}, "available": {"on"}, "price_cents": {tc.bad}}
			r := f.post("/data/menu_items/new", form).want(t, 422)
			if !strings.Contains(r.Body, tc.badMsg) || !strings.Contains(r.Body, `value="`+tc.bad+`"`) {
				t.Fatalf("bad amount %q: %s", tc.bad, r.Body)
			}
			form.Set("price_cents", "cuarenta")
			if r := f.post("/data/menu_items/new", form).want(t, 422); !strings.Contains(r.Body, "Escribe un monto") {
				t.Fatalf("not an amount: %s", r.Body)
			}
			form.Set("price_cents", tc.price)
			r = f.post("/data/menu_items/new", form).want(t, 303)
			id := regexp.MustCompile(`^/data/menu_items/(\d+)\?`).FindStringSubmatch(r.Location)
			if id == nil {
				t.Fatalf("create → %q", r.Location)
			}
			item := admin.Do("GET", "/api/menu-items/"+id[1], nil).Want(t, 200, "")
			if item.Body["price_cents"] != tc.cents {
				t.Fatalf("stored %v, want %v", item.Body["price_cents"], tc.cents)
			}
			if r := f.get("/data/menu_items/"+id[1]).want(t, 200); !strings.Contains(r.Body, `name="price_cents" type="text" value="`+tc.stored+`"`) {
				t.Fatalf("the edit form does not show the amount: %s", r.Body)
			}
			// An edit with a bad amount changes nothing.
			form.Set("price_cents", tc.bad)
			f.post("/data/menu_items/"+id[1], form).want(t, 422)
			if got := admin.Do("GET", "/api/menu-items/"+id[1], nil).Want(t, 200, "").Body["price_cents"]; got != tc.cents {
				t.Fatalf("a refused edit stored %v", got)
			}
			branch := int64(admin.Do("GET", "/api/branches", nil).Want(t, 200, "").Items()[0]["id"].(float64))
			o := placeOrder(t, admin, branch, item.ID(), 2)
			r = f.get(boardPath(branch, dayIn(t, o.at, tc.zone))).want(t, 200)
			if !strings.Contains(column(t, r.Body, "pending"), `<p class="card-total">`+tc.shown+`</p>`) {
				t.Fatalf("board total not %s: %s", tc.shown, r.Body)
			}
		})
	}
}

var orderCreated = regexp.MustCompile(`^/orders/(\d+)\?done=created$`)

// The order form: per-line errors with the values kept, blank rows
// ignored, an item not available at the branch refused, more rows; the
// total is the server's.
func TestOrderCreate(t *testing.T) {
	t.Parallel()
	e := newDataEnv(t, tenant.Restaurant)
	admin := e.h.Admin(t, e.tn)
	m := restaurantMenu(t, admin)
	f := e.form(t)
	tok := f.loginData()
	br := strconv.FormatInt(m.branch, 10)
	r := f.get("/orders/new?branch="+br).want(t, 200)
	if n := strings.Count(r.Body, `<select id="f-items[`); n != 6 {
		t.Fatalf("%d line rows, want 6", n)
	}
	if !strings.Contains(r.Body, "Empanada de pino · $2.500") || strings.Contains(r.Body, "Cazuela") {
		t.Fatalf("the menu of the branch: %s", r.Body)
	}
	if r := f.get("/orders/new?branch=" + strconv.FormatInt(m.other, 10)); !strings.Contains(r.Body, "Cazuela · $7.500") {
		t.Fatalf("the other branch's menu lacks the cazuela: %s", r.Body)
	}
	if n := strings.Count(f.get("/orders/new?lines=12").want(t, 200).Body, `<select id="f-items[`); n != 12 {
		t.Fatalf("?lines=12 gives %d rows", n)
	}
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	bad := url.Values{"csrf": {tok}, "lines": {"6"}, "branch_id": {br}, "notes": {"Para las 13:00"},
		"items[0].menu_item_id": {id(m.empanada)}, "items[0].quantity": {"0"},
		"items[1].menu_item_id": {""}, "items[1].quantity": {"1"},
		"items[2].menu_item_id": {id(m.pisco)}, "items[2].quantity": {"muchos"},
		"items[3].menu_item_id": {""}, "items[3].quantity": {"4"}}
	r = f.post("/orders/new", bad).want(t, 422)
	for _, want := range []string{`id="err-order_type"`, `<p class="field-error" id="err-items[0].quantity">Debe ser al menos 1.</p>`,
		`aria-describedby="err-items[0].quantity"`, `id="err-items[2].quantity"`, `value="muchos"`, `id="err-items[3].menu_item_id"`,
		`<option value="` + id(m.pisco) + `" selected>`, "Para las 13:00", `role="alert"`} {
		if !strings.Contains(r.Body, want) {
			t.Fatalf("refused create lacks %q: %s", want, r.Body)
		}
	}
	if strings.Contains(r.Body, `id="err-items[1].`) {
		t.Fatal("a blank row has an error")
	}
	// No line at all.
	r = f.post("/orders/new", url.Values{"csrf": {tok}, "lines": {"6"}, "branch_id": {br}, "order_type": {"dine_in"}}).want(t, 422)
	if !strings.Contains(r.Body, `<p class="field-error" id="err-items">Agrega al menos un producto.</p>`) {
		t.Fatalf("no lines: %s", r.Body)
	}
	// The cazuela is not available at this branch (posted anyway).
	r = f.post("/orders/new", url.Values{"csrf": {tok}, "lines": {"6"}, "branch_id": {br}, "order_type": {"dine_in"},
		"items[1].menu_item_id": {id(m.cazuela)}, "items[1].quantity": {"1"}}).want(t, 422)
	if !strings.Contains(r.Body, `<p class="field-error" id="err-items[1].menu_item_id">Este producto no está disponible en esta sucursal.</p>`) {
		t.Fatalf("unavailable item: %s", r.Body)
	}
	if n := len(admin.Do("GET", "/api/orders", nil).Want(t, 200, "").Items()); n != 0 {
		t.Fatalf("%d orders stored by refused forms", n)
	}
	// More rows: the values stay, nothing is created.
	more := url.Values{"csrf": {tok}, "lines": {"6"}, "branch_id": {br}, "order_type": {"dine_in"}, "more": {"1"},
		"items[0].menu_item_id": {id(m.pastel)}, "items[0].quantity": {"2"}}
	r = f.post("/orders/new", more).want(t, 200)
	if n := strings.Count(r.Body, `<select id="f-items[`); n != 12 || !strings.Contains(r.Body, `<option value="`+id(m.pastel)+`" selected>`) ||
		!strings.Contains(r.Body, `name="lines" value="12"`) {
		t.Fatalf("more rows (%d): %s", n, r.Body)
	}
	// Fixed: rows 0 and 2 (row 1 blank), through the API's create.
	bad.Set("order_type", "dine_in")
	bad.Set("items[0].quantity", "2")
	bad.Set("items[2].quantity", "3")
	bad.Set("items[3].quantity", "1")
	r = f.post("/orders/new", bad).want(t, 303)
	mm := orderCreated.FindStringSubmatch(r.Location)
	if mm == nil {
		t.Fatalf("create → %q", r.Location)
	}
	got := admin.Do("GET", "/api/orders/"+mm[1], nil).Want(t, 200, "")
	items, _ := got.Body["items"].([]any)
	if got.Body["total_cents"] != float64(2*250000+3*450000) || len(items) != 2 || got.Str("notes") != "Para las 13:00" || got.Str("status") != "pending" {
		t.Fatalf("stored %s", got.Raw)
	}
	r = f.get(r.Location).want(t, 200)
	if !strings.Contains(r.Body, "Se creó el pedido.") || !strings.Contains(r.Body, `id="order-total">$18.500</td>`) {
		t.Fatalf("order page: %s", r.Body)
	}
	audit := string(admin.Do("GET", "/api/audit?entity=order&action=order.create", nil).Want(t, 200, "").Raw)
	if !strings.Contains(audit, `"entity_id":"`+mm[1]+`"`) || !strings.Contains(audit, `"actor":"`+e.tn.AdminUsername+`"`) {
		t.Fatalf("audit: %s", audit)
	}
}

// The reservations of a day by time with the seats booked per slot; a
// form over the capacity names the slot and the seats left and stores
// nothing; status buttons along the flow.
func TestReservationsDay(t *testing.T) {
	t.Parallel()
	e := newDataEnv(t, tenant.Restaurant)
	admin := e.h.Admin(t, e.tn)
	m := restaurantMenu(t, admin) // m.other: 10 seats per 30 minutes
	zone, err := time.LoadLocation(e.tn.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(zone).AddDate(0, 0, 3)
	at := time.Date(day.Year(), day.Month(), day.Day(), 20, 0, 0, 0, zone)
	rid := admin.Do("POST", "/api/reservations", map[string]any{"branch_id": m.other, "customer_name": "Familia Rojas",
		"party_size": 8, "starts_at": at.Format(time.RFC3339), "duration_minutes": 60, "notes": "Cumpleaños"}).Want(t, 201, "").ID()
	admin.Do("POST", "/api/reservations", map[string]any{"branch_id": m.branch, "customer_name": "Otra sucursal",
		"party_size": 2, "starts_at": at.Format(time.RFC3339)}).Want(t, 201, "")
	f := e.form(t)
	tok := f.loginData()
	dayPath := "/reservations?branch=" + strconv.FormatInt(m.other, 10) + "&day=" + at.Format(time.DateOnly)
	r := f.get(dayPath).want(t, 200)
	for _, want := range []string{"Familia Rojas", "8 personas", "20:00–21:00", "Cumpleaños", "Pendiente", "8 de 10 asientos",
		"Capacidad: 10 asientos por turno de 30 minutos.", `name="status" value="confirmed"`} {
		if !strings.Contains(r.Body, want) {
			t.Fatalf("day lacks %q: %s", want, r.Body)
		}
	}
	if strings.Contains(r.Body, "Otra sucursal") {
		t.Fatal("the day shows another branch's reservation")
	}
	if r := f.get("/reservations?branch=" + strconv.FormatInt(m.other, 10) + "&day=" + at.AddDate(0, 0, 1).Format(time.DateOnly)); !strings.Contains(r.Body, "No hay reservas este día.") {
		t.Fatalf("next day: %s", r.Body)
	}
	count := func() int { return len(admin.Do("GET", "/api/reservations", nil).Want(t, 200, "").Items()) }
	before := count()
	form := url.Values{"csrf": {tok}, "branch_id": {strconv.FormatInt(m.other, 10)}, "customer_name": {"Pedro Soto"},
		"party_size": {"3"}, "starts_at": {at.Add(30 * time.Minute).Format("2006-01-02T15:04")}, "duration_minutes": {"60"}, "status": {"pending"}}
	r = f.post("/reservations/new", form).want(t, 409)
	if !strings.Contains(r.Body, "No hay lugar: en el turno de las 20:30 quedan 2 de 10 asientos.") || !strings.Contains(r.Body, `value="Pedro Soto"`) {
		t.Fatalf("capacity refusal: %s", r.Body)
	}
	if count() != before {
		t.Fatal("a refused reservation was stored")
	}
	r = f.post("/reservations/new", url.Values{"csrf": {tok}, "branch_id": {strconv.FormatInt(m.other, 10)}, "party_size": {""},
		"starts_at": {"mañana"}, "duration_minutes": {"60"}, "status": {"pending"}}).want(t, 422)
	for _, want := range []string{`id="err-party_size">Este campo es obligatorio.`, `id="err-starts_at">Escribe una hora válida.`, `value="mañana"`} {
		if !strings.Contains(r.Body, want) {
			t.Fatalf("refused form lacks %q: %s", want, r.Body)
		}
	}
	noName := url.Values{}
	for k, v := range form {
		noName[k] = v
	}
	noName.Del("customer_name")
	if r := f.post("/reservations/new", noName).want(t, 422); !strings.Contains(r.Body, `id="err-customer_name">Escribe un nombre o elige un cliente.`) {
		t.Fatalf("no name: %s", r.Body)
	}
	form.Set("party_size", "2")
	r = f.post("/reservations/new", form).want(t, 303)
	made := regexp.MustCompile(`^/reservations/(\d+)\?done=created$`).FindStringSubmatch(r.Location)
	if made == nil {
		t.Fatalf("create → %q", r.Location)
	}
	got := admin.Do("GET", "/api/reservations/"+made[1], nil).Want(t, 200, "")
	if st, _ := time.Parse(time.RFC3339, got.Str("starts_at")); !st.Equal(at.Add(30 * time.Minute)) {
		t.Fatalf("stored start %s, want %s", got.Str("starts_at"), at.Add(30*time.Minute))
	}
	r = f.get(r.Location).want(t, 200)
	if !strings.Contains(r.Body, "Se creó la reserva.") || !strings.Contains(r.Body, `value="`+at.Add(30*time.Minute).Format("2006-01-02T15:04")+`"`) {
		t.Fatalf("reservation page: %s", r.Body)
	}
	// The edit form over capacity: refused, nothing changed.
	form.Set("party_size", "5")
	if r := f.post("/reservations/"+made[1], form).want(t, 409); !strings.Contains(r.Body, "quedan 2 de 10 asientos") {
		t.Fatalf("edit over capacity: %s", r.Body)
	}
	if got := admin.Do("GET", "/api/reservations/"+made[1], nil).Want(t, 200, "").Body["party_size"]; got != float64(2) {
		t.Fatalf("party after a refused edit: %v", got)
	}
	// Status along the flow from the day's page.
	rs := strconv.FormatInt(rid, 10)
	move := url.Values{"csrf": {tok}, "from": {"pending"}, "status": {"confirmed"}, "branch": {strconv.FormatInt(m.other, 10)},
		"day": {at.Format(time.DateOnly)}, "back": {"day"}}
	r = f.post("/reservations/"+rs+"/status", move).want(t, 303)
	if r.Location != dayPath+"&done=status" {
		t.Fatalf("status change → %q", r.Location)
	}
	if got := statusOf(t, admin, "/api/reservations/"+rs); got != "confirmed" {
		t.Fatalf("status %q", got)
	}
	if r := f.post("/reservations/"+rs+"/status", move).want(t, 409); !strings.Contains(r.Body, "ya no está «Pendiente»") {
		t.Fatalf("stale change: %s", r.Body)
	}
	audit := string(admin.Do("GET", "/api/audit?entity=reservation&entity_id="+rs, nil).Want(t, 200, "").Raw)
	if !strings.Contains(audit, `"reservation.update"`) || !strings.Contains(audit, `"to":"confirmed"`) {
		t.Fatalf("audit: %s", audit)
	}
}

// A reader (data.read only) sees the screens without buttons and gets 403
// on every form; an institution has no such screens.
func TestRestaurantScreensDenied(t *testing.T) {
	t.Parallel()
	e := newDataEnv(t, tenant.Restaurant)
	admin := e.h.Admin(t, e.tn)
	m := restaurantMenu(t, admin)
	o := placeOrder(t, admin, m.branch, m.pisco, 1)
	res := strconv.FormatInt(admin.Do("POST", "/api/reservations", map[string]any{"branch_id": m.branch, "customer_name": "Ana Díaz",
		"party_size": 2, "starts_at": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)}).Want(t, 201, "").ID(), 10)
	// A read-only role: the restaurant's own roles all write.
	ctx := context.Background()
	if _, err := e.tn.App.Exec(ctx, `INSERT INTO roles (name, description) VALUES ('viewer', 'Reads data')`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tn.App.Exec(ctx, `INSERT INTO role_permissions (role_id, permission_id)
		SELECT r.id, p.id FROM roles r JOIN permissions p ON p.code = 'data.read' WHERE r.name = 'viewer'`); err != nil {
		t.Fatal(err)
	}
	admin.Do("POST", "/api/users", map[string]any{"username": "vera", "email": "vera@example.test", "full_name": "Vera",
		"password": domaintest.Password, "roles": []string{"viewer"}, "must_change_password": false}).Want(t, 201, "")
	anon := e.form(t)
	if r := anon.get("/orders").want(t, 303); r.Location != "/login" {
		t.Fatalf("anonymous → %q", r.Location)
	}
	f := e.form(t)
	f.loginAs("vera", domaintest.Password)
	local := dayIn(t, o.at, e.tn.TimeZone)
	r := f.get(boardPath(m.branch, local)).want(t, 200)
	if !strings.Contains(r.Body, `id="order-`+o.ids+`"`) || strings.Contains(r.Body, `name="status"`) || strings.Contains(r.Body, "/orders/new") {
		t.Fatalf("the reader's board: %s", r.Body)
	}
	tok := csrf(t, r.Body)
	if r := f.get("/orders/"+o.ids).want(t, 200); strings.Contains(r.Body, `action="/orders/`+o.ids) {
		t.Fatal("the reader gets the order's forms")
	}
	if r := f.get("/reservations").want(t, 200); strings.Contains(r.Body, "/reservations/new") {
		t.Fatal("the reader is offered a reservation")
	}
	if r := f.get("/reservations/"+res).want(t, 200); strings.Contains(r.Body, `action="/reservations/`+res) ||
		!strings.Contains(r.Body, "<dd>Casa matriz</dd>") || !strings.Contains(r.Body, "<dd>Ana Díaz</dd>") {
		t.Fatalf("the reader's reservation page: %s", r.Body)
	}
	for _, path := range []string{"/orders/new", "/reservations/new"} {
		f.get(path).want(t, 403)
	}
	for _, path := range []string{"/orders/new", "/orders/" + o.ids, "/orders/" + o.ids + "/status", "/reservations/new",
		"/reservations/" + res, "/reservations/" + res + "/status"} {
		f.post(path, url.Values{"csrf": {tok}, "from": {"pending"}, "status": {"confirmed"}}).want(t, 403)
	}
	if got := statusOf(t, admin, "/api/orders/"+o.ids); got != "pending" {
		t.Fatalf("a reader changed the status to %q", got)
	}
	if got := statusOf(t, admin, "/api/reservations/"+res); got != "pending" {
		t.Fatalf("a reader changed the reservation to %q", got)
	}
	// Institutions: the page does not exist.
	ie := newDataEnv(t, tenant.Institution)
	ie.h.Admin(t, ie.tn)
	g := ie.form(t)
	g.loginData()
	for _, path := range []string{"/orders", "/orders/new", "/reservations", "/orders/1"} {
		if r := g.get(path).want(t, 404); !strings.Contains(r.Body, "No encontramos") {
			t.Fatalf("%s on an institution: %.300s", path, r.Body)
		}
	}
	if r := g.get("/").want(t, 200); strings.Contains(r.Body, `href="/orders"`) {
		t.Fatal("an institution's navigation links the orders")
	}
}
