package console_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest/browser"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/domaintest"
)

var orderPage = regexp.MustCompile(`/orders/(\d+)\?done=created$`)

// In chromium, in Spanish: an order refused at its fields, fixed, then
// moved across the board column by column to delivered.
func TestOrderBrowserAcrossBoard(t *testing.T) {
	t.Parallel()
	e := newDataEnv(t, tenant.Restaurant)
	admin := e.h.Admin(t, e.tn)
	m := restaurantMenu(t, admin)
	p := adminPage(t, e, false)
	p.ClickText("Pedidos")
	p.WaitText("h1", "Tablero de pedidos")
	p.WaitText(".board-count", "0 pedidos")
	p.NoProblems()
	p.ClickText("Nuevo pedido")
	p.WaitText("h1", "Nuevo pedido")
	p.NoProblems()
	p.Fill("items[0].menu_item_id", strconv.FormatInt(m.empanada, 10))
	p.Fill("items[0].quantity", "0")
	p.Fill("items[1].menu_item_id", strconv.FormatInt(m.pisco, 10))
	p.Fill("notes", "Sin ají")
	p.ClickText("Crear pedido")
	p.WaitText(`[id="err-items[0].quantity"]`, "Debe ser al menos 1.")
	p.WaitText("#err-order_type", "obligatorio")
	if d := browser.Eval[string](p, `document.getElementById("f-items[0].quantity").getAttribute("aria-describedby")`); d != "err-items[0].quantity" {
		t.Fatalf("aria-describedby %q", d)
	}
	if v := browser.Eval[string](p, `document.getElementById("f-notes").value`); v != "Sin ají" {
		t.Fatalf("the notes were lost: %q", v)
	}
	onlyRefusedForms(t, p, "/orders/new")
	p.Fill("order_type", "takeaway")
	p.Fill("items[0].quantity", "2")
	p.ClickText("Crear pedido")
	p.WaitText(".notice", "Se creó el pedido.")
	p.WaitText("#order-total", "$9.500")
	p.NoProblems()
	mm := orderPage.FindStringSubmatch(p.URL())
	if mm == nil {
		t.Fatalf("after the create the page is %s", p.URL())
	}
	card := "#order-" + mm[1]
	p.ClickText("Volver al tablero")
	p.WaitText(`section[data-status="pending"] `+card, "Empanada de pino × 2")
	p.NoProblems()
	// With JavaScript the moves swap the page in place (htmx): the
	// document, and this mark on it, stay.
	if !browser.Eval[bool](p, `window.boardMark = true`) {
		t.Fatal("mark not set")
	}
	for _, step := range []struct{ button, to string }{
		{"Confirmar", "confirmed"}, {"Preparar", "preparing"}, {"Marcar listo", "ready"}, {"Entregar", "delivered"},
	} {
		p.Click(card + ` button[value="` + step.to + `"]`)
		p.WaitText(".notice", "Se cambió el estado.")
		p.WaitText(`section[data-status="`+step.to+`"]`, "Pedido #"+mm[1])
		if got := browser.Eval[string](p, `document.querySelector("`+card+`").closest("section").dataset.status`); got != step.to {
			t.Fatalf("after %s the card is in %q", step.button, got)
		}
		if !browser.Eval[bool](p, `window.boardMark === true && typeof htmx === "object"`) {
			t.Fatalf("after %s the board was loaded anew, not swapped in place", step.button)
		}
		p.NoProblems()
	}
	if got := admin.Do("GET", "/api/orders/"+mm[1], nil).Want(t, 200, "").Str("status"); got != "delivered" {
		t.Fatalf("stored status %q", got)
	}
	if browser.Eval[bool](p, `document.querySelector("`+card+` button") !== null`) {
		t.Fatal("a delivered order offers a change")
	}
}

// In chromium, in English: a reservation refused for the branch's
// capacity, then made with a smaller party.
func TestReservationBrowserCapacity(t *testing.T) {
	t.Parallel()
	e := newDataEnv(t, tenant.Restaurant)
	admin := e.h.Admin(t, e.tn)
	m := restaurantMenu(t, admin) // m.other: 10 seats per 30 minutes
	zone, err := time.LoadLocation(e.tn.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(zone).AddDate(0, 0, 2)
	at := time.Date(day.Year(), day.Month(), day.Day(), 20, 0, 0, 0, zone)
	admin.Do("POST", "/api/reservations", map[string]any{"branch_id": m.other, "customer_name": "Rojas family",
		"party_size": 8, "starts_at": at.Format(time.RFC3339), "duration_minutes": 60}).Want(t, 201, "")
	p := adminPage(t, e, true)
	p.ClickText("Reservations")
	p.WaitText("h1", "Reservations of the day")
	p.NoProblems()
	p.Navigate(e.base + "/reservations?branch=" + strconv.FormatInt(m.other, 10) + "&day=" + at.Format(time.DateOnly))
	p.WaitText("table.reservations", "Rojas family")
	p.WaitText("ul.slots", "8 of 10 seats")
	p.NoProblems()
	p.ClickText("New reservation")
	p.WaitText("h1", "New reservation")
	p.NoProblems()
	p.Fill("Name on the reservation", "Pedro Soto")
	p.Fill("Guests", "3")
	setValue(p, "f-starts_at", at.Add(30*time.Minute).Format("2006-01-02T15:04"))
	p.Fill("Duration (minutes)", "60")
	p.ClickText("Create reservation")
	p.WaitText("#reservation-alert", "No room: the 8:30 PM slot has 2 of 10 seats left.")
	if v := browser.Eval[string](p, `document.getElementById("f-customer_name").value`); v != "Pedro Soto" {
		t.Fatalf("the name was lost: %q", v)
	}
	onlyRefusedForms(t, p, "/reservations/new")
	if n := len(admin.Do("GET", "/api/reservations?branch_id="+strconv.FormatInt(m.other, 10), nil).Want(t, 200, "").Items()); n != 1 {
		t.Fatalf("%d reservations after the refusal", n)
	}
	p.Fill("Guests", "2")
	p.ClickText("Create reservation")
	p.WaitText(".notice", "The reservation was created.")
	p.NoProblems()
	p.ClickText("Back to the day's reservations")
	p.WaitText("table.reservations", "Pedro Soto")
	p.WaitText("ul.slots", "10 of 10 seats")
	p.NoProblems()
}

// restaurantDay seeds a small, realistic day at the first branch: orders
// in every status with customers and notes, reservations in the evening.
func restaurantDay(t *testing.T, admin *domaintest.Client, zone *time.Location) (m menu, day time.Time) {
	t.Helper()
	m = restaurantMenu(t, admin)
	cat := admin.Do("POST", "/api/menu-categories", map[string]any{"name": "Bebidas"}).Want(t, 201, "").ID()
	bebida := admin.Do("POST", "/api/menu-items", map[string]any{"category_id": cat, "name": "Mote con huesillo", "price_cents": 200000}).Want(t, 201, "").ID()
	var customers []int64
	for _, n := range []string{"María José Pérez", "Juan Carlos Muñoz", "Camila Rojas"} {
		customers = append(customers, admin.Do("POST", "/api/customers", map[string]any{"name": n}).Want(t, 201, "").ID())
	}
	flow := []string{"confirmed", "preparing", "ready", "delivered"}
	orders := []struct {
		typ   string
		notes any
		steps int
		lines []int64
	}{
		{"dine_in", "Mesa 4", 0, []int64{m.empanada, 2, m.pisco, 2}},
		{"takeaway", nil, 0, []int64{m.pastel, 1}},
		{"delivery", "Timbre no funciona: llamar", 1, []int64{m.empanada, 6, bebida, 2}},
		{"dine_in", nil, 2, []int64{m.pastel, 2, m.pisco, 1}},
		{"takeaway", "Sin cebolla", 2, []int64{m.empanada, 3}},
		{"dine_in", nil, 3, []int64{bebida, 4}},
		{"delivery", nil, 4, []int64{m.pastel, 1, m.empanada, 1}},
		{"takeaway", nil, -1, []int64{m.pisco, 2}},
	}
	var at time.Time
	for i, o := range orders {
		var items []map[string]any
		for j := 0; j+1 < len(o.lines); j += 2 {
			items = append(items, map[string]any{"menu_item_id": o.lines[j], "quantity": o.lines[j+1]})
		}
		body := map[string]any{"branch_id": m.branch, "order_type": o.typ, "items": items, "notes": o.notes}
		if i%2 == 0 {
			body["customer_id"] = customers[i%len(customers)]
		}
		r := admin.Do("POST", "/api/orders", body).Want(t, 201, "")
		if at, _ = time.Parse(time.RFC3339Nano, r.Str("created_at")); o.steps < 0 {
			admin.Do("PATCH", "/api/orders/"+strconv.FormatInt(r.ID(), 10), map[string]any{"status": "cancelled"}).Want(t, 200, "")
		}
		for _, st := range flow[:max(o.steps, 0)] {
			admin.Do("PATCH", "/api/orders/"+strconv.FormatInt(r.ID(), 10), map[string]any{"status": st}).Want(t, 200, "")
		}
	}
	day = at.In(zone)
	evening := time.Date(day.Year(), day.Month(), day.Day(), 20, 0, 0, 0, zone)
	for i, r := range []struct {
		name  string
		party int
		at    time.Duration
		notes any
	}{
		{"Familia Rojas", 6, 0, "Cumpleaños"}, {"Andrés Tapia", 2, 30 * time.Minute, nil},
		{"Equipo Ventas", 12, time.Hour, "Mesa larga"}, {"Lucía Fernández", 4, 90 * time.Minute, nil},
	} {
		rr := admin.Do("POST", "/api/reservations", map[string]any{"branch_id": m.branch, "customer_name": r.name, "party_size": r.party,
			"starts_at": evening.Add(r.at).Format(time.RFC3339), "notes": r.notes}).Want(t, 201, "")
		if i == 0 {
			admin.Do("PATCH", "/api/reservations/"+strconv.FormatInt(rr.ID(), 10), map[string]any{"status": "confirmed"}).Want(t, 200, "")
		}
	}
	return m, day
}

// The restaurant screens in es and en: each renders without a problem,
// never scrolls sideways (the board's columns scroll in their own box),
// and a screenshot goes to -screenshots (else a temporary directory).
func TestRestaurantScreenshots(t *testing.T) {
	t.Parallel()
	dir := *screenshots
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e := newDataEnv(t, tenant.Restaurant)
	admin := e.h.Admin(t, e.tn)
	zone, err := time.LoadLocation(e.tn.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	m, day := restaurantDay(t, admin, zone)
	q := "?branch=" + strconv.FormatInt(m.branch, 10) + "&day=" + day.Format(time.DateOnly)
	for _, shotOf := range []struct {
		name, path, lang string
		size             browser.Viewport
		h1               string
	}{
		{"orders-board-es-desktop", "/orders" + q, "es", browser.Desktop, "Tablero de pedidos"},
		{"orders-board-en-desktop", "/orders" + q, "en", browser.Desktop, "Orders board"},
		{"orders-board-es-phone", "/orders" + q, "es", browser.Phone, "Tablero de pedidos"},
		{"order-new-es-desktop", "/orders/new?branch=" + strconv.FormatInt(m.branch, 10), "es", browser.Desktop, "Nuevo pedido"},
		{"order-new-en-desktop", "/orders/new?branch=" + strconv.FormatInt(m.branch, 10), "en", browser.Desktop, "New order"},
		{"reservations-day-es-desktop", "/reservations" + q, "es", browser.Desktop, "Reservas del día"},
		{"reservations-day-en-desktop", "/reservations" + q, "en", browser.Desktop, "Reservations of the day"},
	} {
		p := adminPage(t, e, shotOf.lang == "en", browser.Size(shotOf.size))
		p.Navigate(e.base + shotOf.path)
		p.WaitText("h1", shotOf.h1)
		if browser.Eval[bool](p, `document.documentElement.scrollWidth > window.innerWidth`) {
			t.Errorf("%s scrolls sideways", shotOf.name)
		}
		if strings.HasPrefix(shotOf.name, "orders-board") && browser.Eval[int](p, `document.querySelectorAll("article.card").length`) != 6 {
			t.Errorf("%s: not the 6 open orders", shotOf.name)
		}
		if shotOf.size == browser.Phone && strings.HasPrefix(shotOf.name, "orders-board") {
			// The phone's first screen is the navigation: show the board.
			browser.Eval[bool](p, `(document.querySelector(".day-nav").scrollIntoView(), true)`)
		}
		shot(t, p, filepath.Join(dir, shotOf.name+".png"))
		p.NoProblems()
	}
}
