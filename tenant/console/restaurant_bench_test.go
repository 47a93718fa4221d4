package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/console"
	"github.com/tenancy/platform/tenant/domaintest"
	"github.com/tenancy/platform/tenant/institution"
	"github.com/tenancy/platform/tenant/restaurant"
)

// benchOrders is the day's orders of the board the benchmarks read.
const benchOrders = 200

// boardBench is a restaurant tenant with benchOrders orders today at its
// first branch, the board's and the JSON list's paths, and a client
// logged in (its session cookie serves both).
type boardBench struct {
	hc          *http.Client
	base        string
	board, list string
}

func newBoardBench(b *testing.B) *boardBench {
	b.Helper()
	h := domaintest.NewWith(b, domaintest.Options{Principal: console.Principal, Pages: func(d domaintest.Deps, r fiber.Router) {
		if _, err := console.Mount(r, console.Config{Service: d.Service, Sessions: d.Sessions, Secrets: d.Secrets,
			Pools: d.Pools, Proxies: d.Proxies, Tenant: d.Tenant, Logger: d.Logger, API: d.API,
			// One client sends every request: no per-IP limit.
			DefaultLimit: auth.Limit{Rate: -1, Period: time.Minute}}); err != nil {
			b.Fatal(err)
		}
	}}, restaurant.Mount, institution.Mount)
	tn := h.Tenant(b, tenant.Restaurant)
	admin := h.Admin(b, tn)
	branch := int64(admin.Do("GET", "/api/branches", nil).Want(b, 200, "").Items()[0]["id"].(float64))
	cat := admin.Do("POST", "/api/menu-categories", map[string]any{"name": "Platos"}).Want(b, 201, "").ID()
	var items []int64
	for i, name := range []string{"Empanada de pino", "Pisco sour", "Pastel de choclo", "Cazuela", "Mote con huesillo"} {
		items = append(items, admin.Do("POST", "/api/menu-items", map[string]any{"category_id": cat, "name": name,
			"price_cents": 190000 + 70000*i}).Want(b, 201, "").ID())
	}
	var first, last time.Time
	for i := range benchOrders {
		lines := []map[string]any{{"menu_item_id": items[i%len(items)], "quantity": 1 + i%3},
			{"menu_item_id": items[(i+2)%len(items)], "quantity": 1}}
		r := admin.Do("POST", "/api/orders", map[string]any{"branch_id": branch, "order_type": []string{"dine_in", "takeaway", "delivery"}[i%3],
			"items": lines, "notes": "Mesa " + strconv.Itoa(1+i%20)}).Want(b, 201, "")
		at, err := time.Parse(time.RFC3339Nano, r.Str("created_at"))
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			first = at
		}
		last = at
		if st := []string{"", "confirmed", "confirmed"}[i%3]; st != "" {
			admin.Do("PATCH", "/api/orders/"+strconv.FormatInt(r.ID(), 10), map[string]any{"status": st}).Want(b, 200, "")
		}
	}
	zone, err := time.LoadLocation(tn.TimeZone)
	if err != nil {
		b.Fatal(err)
	}
	day := first.In(zone)
	if d := last.In(zone); d.YearDay() != day.YearDay() {
		b.Skip("the orders straddle midnight in the tenant's zone; run again")
	}
	from := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, zone)
	_, port, err := net.SplitHostPort(h.Addr())
	if err != nil {
		b.Fatal(err)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 16, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", h.Addr())
	}}
	b.Cleanup(tr.CloseIdleConnections)
	bb := &boardBench{hc: &http.Client{Jar: jar, Transport: tr, Timeout: time.Minute}, base: "http://" + tn.Slug + ".localhost:" + port,
		board: fmt.Sprintf("/orders?branch=%d&day=%s", branch, from.Format(time.DateOnly)),
		list: fmt.Sprintf("/api/orders?branch_id=%d&created_at_from=%s&created_at_to=%s&limit=%d", branch,
			url.QueryEscape(from.Format(time.RFC3339)), url.QueryEscape(from.AddDate(0, 0, 1).Format(time.RFC3339)), benchOrders)}
	body, err := json.Marshal(map[string]string{"username": tn.AdminUsername, "password": domaintest.Password})
	if err != nil {
		b.Fatal(err)
	}
	res, err := bb.hc.Post(bb.base+"/api/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		b.Fatalf("login: %d", res.StatusCode)
	}
	// Both answers hold every order, or the comparison means nothing.
	if page := bb.get(b, bb.board); strings.Count(page, `<article class="card"`) != benchOrders {
		b.Fatalf("the board shows %d cards, want %d", strings.Count(page, `<article class="card"`), benchOrders)
	}
	var list struct{ Items []json.RawMessage }
	if err := json.Unmarshal([]byte(bb.get(b, bb.list)), &list); err != nil || len(list.Items) != benchOrders {
		b.Fatalf("the JSON list has %d orders (%v), want %d", len(list.Items), err, benchOrders)
	}
	return bb
}

func (bb *boardBench) get(b *testing.B, path string) string {
	res, err := bb.hc.Get(bb.base + path)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.Fatal(err)
	}
	if res.StatusCode != 200 {
		b.Fatalf("GET %s: %d %.300s", path, res.StatusCode, body)
	}
	return string(body)
}

func (bb *boardBench) run(b *testing.B, path string) {
	var n int64
	b.ResetTimer()
	for b.Loop() {
		n += int64(len(bb.get(b, path)))
	}
	b.ReportMetric(float64(n)/float64(b.N), "bytes/page")
}

// BenchmarkOrdersBoard is the orders board of a day with benchOrders
// orders (each with its items), rendered by the console over HTTP; see
// BenchmarkOrdersBoardJSON for the API's list of the same orders.
//
//	go test -run '^$' -bench OrdersBoard ./tenant/console/
func BenchmarkOrdersBoard(b *testing.B) {
	bb := newBoardBench(b)
	bb.run(b, bb.board)
}

// BenchmarkOrdersBoardJSON is GET /api/orders of the same branch and day
// (the list has no items: the board reads more).
func BenchmarkOrdersBoardJSON(b *testing.B) {
	bb := newBoardBench(b)
	bb.run(b, bb.list)
}
