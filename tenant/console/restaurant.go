package console

// The restaurant screens: the orders board of a branch's day with the
// status changes, the order form and page, the reservations of a day and
// their forms. Reads use restaurantpg's queries; every write is the
// domain's own operation (restaurant.CreateOrder, UpdateOrder,
// CreateReservation, UpdateReservation: the API's handlers call the same)
// inside resourcehttp.API.Write, so each has its audit row in the same
// transaction. Forms build the JSON body the API takes and decode it the
// API's way.
//
// Routes (restaurantRoutes; restaurant tenants only, with Config.API):
//
//	GET  /orders?branch=&day=          the board (data.read)
//	GET  /orders/new?branch=&lines=    the order form (data.write)
//	POST /orders/new                   create (or more line rows)
//	GET  /orders/:id                   the order; notes and customer form for data.write
//	POST /orders/:id                   save notes and customer
//	POST /orders/:id/status            move along the flow (from: the status the page showed)
//	GET  /reservations?branch=&day=    the day's reservations and seats per slot
//	GET  /reservations/new?branch=&day=
//	POST /reservations/new
//	GET  /reservations/:id
//	POST /reservations/:id
//	POST /reservations/:id/status
//
// A status button posts the status its page showed (from) with the one
// wanted: when someone else moved the row meanwhile, the change is refused
// with a message on the page and nothing changes.

import (
	"context"
	"encoding/json"
	"html/template"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/i18n"
	"github.com/tenancy/platform/tenant/resource"
	"github.com/tenancy/platform/tenant/resource/resourcehttp"
	"github.com/tenancy/platform/tenant/resource/resourcepg"
	"github.com/tenancy/platform/tenant/restaurant"
	"github.com/tenancy/platform/tenant/restaurant/restaurantpg"
)

// The restaurant templates.
const (
	tplOrdersBoard      = "orders_board"
	tplOrdersNew        = "orders_new"
	tplOrdersShow       = "orders_show"
	tplReservationsDay  = "reservations_day"
	tplReservationsForm = "reservations_form"
)

// restaurantTemplates are the restaurant screens' templates: the orders
// board and order forms, the reservations of a day and their forms.
var restaurantTemplates = []string{tplOrdersBoard, tplOrdersNew, tplOrdersShow, tplReservationsDay, tplReservationsForm}

// Order form line rows: the default, the step of "more lines", the most.
const (
	orderLines     = 6
	orderLinesStep = 6
)

// maxCustomerChoices is the most customers a select offers; with more,
// the customer is a number input (the id).
const maxCustomerChoices = 200

// openStatuses are the board's columns; the others are listed after.
var openStatuses = []string{"pending", "confirmed", "preparing", "ready"}

// restaurantRoutes adds the restaurant screens (restaurant tenants only).
func (s *Console) restaurantRoutes(r fiber.Router) {
	if s.cfg.API == nil {
		return
	}
	h := s.headers
	r.Get("/orders", h, s.ordersBoard)
	r.Get("/orders/new", h, s.orderNewForm)
	r.Post("/orders/new", h, s.orderCreate)
	r.Get("/orders/:id<int>", h, s.orderShow)
	r.Post("/orders/:id<int>", h, s.orderSave)
	r.Post("/orders/:id<int>/status", h, s.orderStatus)
	r.Get("/reservations", h, s.reservationsDay)
	r.Get("/reservations/new", h, s.reservationNewForm)
	r.Post("/reservations/new", h, s.reservationCreate)
	r.Get("/reservations/:id<int>", h, s.reservationShow)
	r.Post("/reservations/:id<int>", h, s.reservationSave)
	r.Post("/reservations/:id<int>/status", h, s.reservationStatus)
}

// restStart authenticates a restaurant screen's request (perm); another
// kind of tenant gets the 404 page, as for a page that does not exist.
func (s *Console) restStart(c *fiber.Ctx, title, perm string) (*Page, bool, error) {
	if t := s.cfg.Tenant(c); t != nil && t.Kind != tenant.Restaurant {
		_, _, p, done := s.start(c, "error.title")
		if p == nil || done != nil {
			return nil, false, done
		}
		return nil, false, s.notFound(c, p)
	}
	_, sess, p, ok, err := s.authed(c, title, perm)
	if !ok {
		return nil, false, err
	}
	c.Locals(principalKey{}, sess.principal)
	return p, true, nil
}

// --- shared pieces --------------------------------------------------------

// statusButton is one allowed next status of a card or page.
type statusButton struct {
	Status, Label string
	Danger        bool
}

func (s *Console) statusLabel(p *Page, prefix, status string) string {
	return s.t(p, prefix+".status."+status)
}

func (s *Console) buttons(p *Page, prefix string, next []string) []statusButton {
	out := make([]statusButton, 0, len(next))
	for _, n := range next {
		out = append(out, statusButton{Status: n, Label: s.t(p, prefix+".to."+n),
			Danger: n == "cancelled" || n == "no_show"})
	}
	return out
}

// dayOf reads ?day= (YYYY-MM-DD) as the start of that day in zone
// (empty: today there); ok false: not a date.
func dayOf(raw string, zone *time.Location, now time.Time) (time.Time, bool) {
	if raw == "" {
		n := now.In(zone)
		return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, zone), true
	}
	d, err := time.ParseInLocation(time.DateOnly, raw, zone)
	if err != nil {
		return time.Time{}, false
	}
	return d, true
}

// nextDay is the start of the day after day in its zone (a day with a
// DST change is not 24 hours long; Chile's begins at 01:00 on some).
func nextDay(day time.Time) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, day.Location())
}

// branchesOf reads the branches; chosen is the one raw names (a ?branch=;
// empty: the first active one). ok false: no such branch.
func (s *Console) branchesOf(c *fiber.Ctx, raw string) (all []restaurantpg.BranchInfo, chosen restaurantpg.BranchInfo, ok bool, err error) {
	err = s.cfg.API.Conn(c, func(ctx context.Context, db resourcepgConn) error {
		all, err = restaurantpg.ListBranches(ctx, db)
		return err
	})
	if err != nil {
		return nil, chosen, false, err
	}
	if raw == "" {
		for _, b := range all {
			if b.Active {
				return all, b, true, nil
			}
		}
		if len(all) > 0 {
			return all, all[0], true, nil
		}
		return all, chosen, false, nil
	}
	id, perr := strconv.ParseInt(raw, 10, 64)
	for _, b := range all {
		if perr == nil && b.ID == id {
			return all, b, true, nil
		}
	}
	return all, chosen, false, nil
}

// branchOptions are the active branches (and chosen, should it be
// inactive) for a select.
func branchOptions(all []restaurantpg.BranchInfo, chosen int64) []dataOption {
	var out []dataOption
	for _, b := range all {
		if b.Active || b.ID == chosen {
			out = append(out, dataOption{Value: strconv.FormatInt(b.ID, 10), Label: b.Name, Selected: b.ID == chosen})
		}
	}
	return out
}

// zoned is p's Localizer in the branch's time zone (the tenant's when the
// branch has none, or one the localizer cannot load).
func (s *Console) zoned(p *Page, b restaurantpg.BranchInfo) *i18n.Localizer {
	if b.TimeZone == nil || *b.TimeZone == "" || s.cfg.Catalog == nil {
		return p.L
	}
	loc := p.L.Locale()
	z, err := i18n.NewLocale(loc.Tag(), loc.Currency(), *b.TimeZone)
	if err != nil {
		return p.L
	}
	return s.cfg.Catalog.Localizer(p.L.Lang(), z)
}

// restMessage is the reader's language for the restaurant's own messages
// (availability, the reservation's rules), else decodeMessage's, else the
// bounds'.
func (s *Console) restMessage(p *Page, m string) string {
	switch {
	case m == "is not available at this branch":
		return s.t(p, "orders.msg.unavailable")
	case strings.HasPrefix(m, "is not active"):
		return s.t(p, "orders.msg.branch_inactive")
	case strings.HasPrefix(m, "must have at least one item"):
		return s.t(p, "orders.msg.no_items")
	case strings.HasPrefix(m, "must have at most"):
		return s.t(p, "orders.msg.too_many_items", "Max", restaurant.MaxOrderItems)
	case m == "is required unless customer_id is given":
		return s.t(p, "reservations.msg.name_required")
	case m == "must be pending or confirmed for a new reservation":
		return s.t(p, "reservations.msg.new_status")
	}
	// The engine's messages (bounds included) are the domain screens'.
	return s.decodeMessage(p, m)
}

// failedFields puts a refused write's per-field messages on the page
// (keys renamed by rename when given) and reports whether there were any.
func (s *Console) failedFields(p *Page, err error, rename func(string) string) bool {
	fields := fieldsOf(err)
	for k, m := range fields {
		if rename != nil {
			k = rename(k)
		}
		p.Errors[k] = s.restMessage(p, m)
	}
	return len(fields) > 0
}

// userError reports whether err is the user's to fix (shown on the form)
// rather than a failure.
func userError(err error) bool {
	switch tenant.ErrorCode(err) {
	case tenant.EValidation, tenant.EConflict, tenant.EInvalidTransition, tenant.ECapacityExceeded, tenant.EInvalid:
		return true
	}
	return false
}

// customerChoices is the customer select's options, or nil with more
// customers than a select shows (the form asks for the id then).
func (s *Console) customerChoices(c *fiber.Ctx, chosen string) ([]dataOption, error) {
	var list []restaurantpg.CustomerChoice
	var more bool
	err := s.cfg.API.Conn(c, func(ctx context.Context, db resourcepgConn) (err error) {
		list, more, err = restaurantpg.Customers(ctx, db, maxCustomerChoices)
		return err
	})
	if err != nil || more {
		return nil, err
	}
	out := []dataOption{{Value: "", Label: "—", Selected: chosen == ""}}
	for _, cu := range list {
		id := strconv.FormatInt(cu.ID, 10)
		out = append(out, dataOption{Value: id, Label: cu.Name, Selected: id == chosen})
	}
	return out, nil
}

// formInt is a form's whole number as the API's JSON takes it: the number,
// else the text (Decode says what is wrong).
func formInt(raw string) any {
	if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
		return n
	}
	return raw
}

// --- the board ---------------------------------------------------------------

type boardData struct {
	Branches         []dataOption
	BranchID         int64
	BranchName       string
	Day, DayLabel    string
	PrevURL, NextURL string
	TodayURL, NewURL string
	Columns          []boardColumn
	Closed           []boardColumn
	Count            string
	CanWrite         bool
	Alert            string
	DayError         string
	ReservationsURL  string
	Empty            bool
}

type boardColumn struct {
	Status, Label, Count string
	Cards                []orderCard
}

type orderCard struct {
	ID                         int64
	Title                      string // "Pedido #12"
	Href, Time, Type, Total    string
	Status, StatusLabel, Notes string
	Customer                   string
	Items                      []cardItem
	Next                       []statusButton
	// HTML is the card's markup (board_html.go): the article of an open
	// order, the line of a closed one.
	HTML template.HTML
}

type cardItem struct {
	Name     string
	Quantity int64
}

// labels memoises a page's messages: a board renders the same few for
// hundreds of cards.
type labels struct {
	s *Console
	p *Page
	m map[string]string
}

func (l *labels) t(key string) string {
	if m, ok := l.m[key]; ok {
		return m
	}
	m := l.s.t(l.p, key)
	l.m[key] = m
	return m
}

func (s *Console) card(p *Page, lb *labels, buttons map[string][]statusButton, o restaurantpg.BoardOrder) orderCard {
	id := strconv.FormatInt(o.ID, 10)
	next, ok := buttons[o.Status]
	if !ok {
		next = s.buttons(p, "orders", restaurant.OrderNext(o.Status))
		buttons[o.Status] = next
	}
	cd := orderCard{ID: o.ID, Title: lb.t("orders.number") + id, Href: "/orders/" + id, Time: p.L.Time(o.CreatedAt),
		Type: lb.t("orders.type." + o.OrderType), Total: p.L.Money(o.TotalCents), Status: o.Status,
		StatusLabel: lb.t("orders.status." + o.Status), Next: next}
	if o.Notes != nil {
		cd.Notes = *o.Notes
	}
	if o.CustomerName != nil {
		cd.Customer = *o.CustomerName
	}
	for _, it := range o.Items {
		cd.Items = append(cd.Items, cardItem{Name: it.Name, Quantity: it.Quantity})
	}
	return cd
}

func boardURL(path string, branch int64, day time.Time) string {
	return boardURLRaw(path, strconv.FormatInt(branch, 10), day.Format(time.DateOnly))
}

// renderBoard renders the board of branchRaw's dayRaw with status (a
// refused change: 409 with alert).
func (s *Console) renderBoard(c *fiber.Ctx, p *Page, branchRaw, dayRaw string, status int, alert string) error {
	all, b, ok, err := s.branchesOf(c, branchRaw)
	if err != nil {
		return s.serviceError(c, p, err)
	}
	if !ok {
		return s.notFound(c, p)
	}
	p.Title = "board.title"
	zone := p.L.Locale().Zone()
	data := &boardData{Branches: branchOptions(all, b.ID), BranchID: b.ID, BranchName: b.Name,
		CanWrite: can(p, auth.PermDataWrite), Alert: alert, NewURL: "/orders/new?branch=" + strconv.FormatInt(b.ID, 10)}
	p.Data = data
	day, ok := dayOf(dayRaw, zone, s.cfg.Now())
	if !ok {
		data.Day, data.DayError = dayRaw, s.t(p, "validation.invalid_date")
		p.Errors["day"] = data.DayError
		p.FormError = "validation.form_has_errors"
		return s.Render(c, fiber.StatusUnprocessableEntity, tplOrdersBoard, p)
	}
	data.Day, data.DayLabel = day.Format(time.DateOnly), p.L.LongDate(day)
	data.PrevURL, data.NextURL = boardURL("/orders", b.ID, day.AddDate(0, 0, -1)), boardURL("/orders", b.ID, nextDay(day))
	data.TodayURL = "/orders?branch=" + strconv.FormatInt(b.ID, 10)
	data.ReservationsURL = boardURL("/reservations", b.ID, day)
	var orders []restaurantpg.BoardOrder
	err = s.cfg.API.Conn(c, func(ctx context.Context, db resourcepgConn) (err error) {
		orders, err = restaurantpg.Board(ctx, db, b.ID, day, nextDay(day))
		return err
	})
	if err != nil {
		return s.serviceError(c, p, err)
	}
	byStatus := map[string][]orderCard{}
	lb, buttons := &labels{s: s, p: p, m: map[string]string{}}, map[string][]statusButton{}
	for _, o := range orders {
		byStatus[o.Status] = append(byStatus[o.Status], s.card(p, lb, buttons, o))
	}
	for _, st := range restaurant.OrderStatuses() {
		col := boardColumn{Status: st, Label: s.statusLabel(p, "orders", st), Cards: byStatus[st],
			Count: s.n(p, "board.count", len(byStatus[st]))}
		if slices.Contains(openStatuses, st) {
			data.Columns = append(data.Columns, col)
		} else {
			data.Closed = append(data.Closed, col)
		}
	}
	f := &cardForm{CanWrite: data.CanWrite, CSRF: p.CSRF, Branch: strconv.FormatInt(data.BranchID, 10), Day: data.Day}
	cardsHTML(data.Columns, true, f)
	cardsHTML(data.Closed, false, f)
	data.Count, data.Empty = s.n(p, "board.count", len(orders)), len(orders) == 0
	return s.Render(c, status, tplOrdersBoard, p)
}

// ordersBoard: GET /orders?branch=&day=.
func (s *Console) ordersBoard(c *fiber.Ctx) error {
	p, ok, err := s.restStart(c, "board.title", auth.PermDataRead)
	if !ok {
		return err
	}
	if c.Query("done") == "status" {
		p.Notice = "board.moved"
	}
	return s.renderBoard(c, p, c.Query("branch"), c.Query("day"), fiber.StatusOK, "")
}

// transitionAlert is the message of a refused status change of what #id.
func (s *Console) transitionAlert(p *Page, prefix string, id int64, err error) string {
	d := tenant.ErrorDetails(err)
	from, _ := d["from"].(string)
	to, _ := d["to"].(string)
	if exp, ok := d["expected"].(string); ok && exp != "" {
		return s.t(p, prefix+".stale", "ID", id, "Expected", s.statusLabel(p, prefix, exp), "Now", s.statusLabel(p, prefix, from))
	}
	if from != "" && to != "" {
		return s.t(p, prefix+".invalid_transition", "ID", id, "From", s.statusLabel(p, prefix, from), "To", s.statusLabel(p, prefix, to))
	}
	return s.t(p, prefix+".change_refused", "ID", id)
}

// orderStatus: POST /orders/:id/status (status, from; back=order|board
// with branch and day).
func (s *Console) orderStatus(c *fiber.Ctx) error {
	p, ok, err := s.restStart(c, "board.title", auth.PermDataWrite)
	if !ok {
		return err
	}
	id := dataID(c)
	to, from := strings.Clone(c.FormValue("status")), strings.Clone(c.FormValue("from"))
	branch, day, back := strings.Clone(c.FormValue("branch")), strings.Clone(c.FormValue("day")), c.FormValue("back")
	body, _ := json.Marshal(map[string]string{"status": to})
	err = s.cfg.API.Write(c, func(ctx context.Context, tx resourcepg.DBTX) (ch resourcehttp.Change, err error) {
		_, ch, err = restaurant.UpdateOrder(ctx, tx, id, body, from)
		return ch, err
	})
	switch {
	case err == nil && back == "order":
		return see(c, "/orders/"+strconv.FormatInt(id, 10)+"?done=status")
	case err == nil:
		return see(c, "/orders?"+url.Values{"branch": {branch}, "day": {day}, "done": {"status"}}.Encode()+"#order-"+strconv.FormatInt(id, 10))
	case !userError(err):
		return s.serviceError(c, p, err)
	}
	alert := s.transitionAlert(p, "orders", id, err)
	if back == "order" {
		return s.renderOrder(c, p, id, fiber.StatusConflict, alert, nil)
	}
	return s.renderBoard(c, p, branch, day, fiber.StatusConflict, alert)
}

// --- the order page -----------------------------------------------------------

type orderPage struct {
	ID                                   int64
	Time, Type, Total, Status, StatusKey string
	BranchName, Customer, NotesText      string
	BoardURL                             string
	Lines                                []orderPageLine
	Next                                 []statusButton
	CanWrite                             bool
	Alert                                string
	CustomerInput, Notes                 dataInput
}

type orderPageLine struct {
	Name, Unit, Sum string
	Quantity        int64
	Notes           string
}

// renderOrder renders the order page; values are a refused form's.
func (s *Console) renderOrder(c *fiber.Ctx, p *Page, id int64, status int, alert string, values map[string]string) error {
	var o restaurantpg.BoardOrder
	var branches []restaurantpg.BranchInfo
	err := s.cfg.API.Conn(c, func(ctx context.Context, db resourcepgConn) (err error) {
		if o, err = restaurantpg.Order(ctx, db, id); err != nil {
			return err
		}
		branches, err = restaurantpg.ListBranches(ctx, db)
		return err
	})
	if err != nil {
		return s.serviceError(c, p, err)
	}
	p.Title = "orders.title_one"
	d := &orderPage{ID: o.ID, Time: p.L.DateTime(o.CreatedAt), Type: s.t(p, "orders.type."+o.OrderType),
		Total: p.L.Money(o.TotalCents), Status: s.statusLabel(p, "orders", o.Status), StatusKey: o.Status,
		Next: s.buttons(p, "orders", restaurant.OrderNext(o.Status)), CanWrite: can(p, auth.PermDataWrite), Alert: alert,
		BoardURL: boardURL("/orders", o.BranchID, o.CreatedAt.In(p.L.Locale().Zone()))}
	for _, b := range branches {
		if b.ID == o.BranchID {
			d.BranchName = b.Name
		}
	}
	if o.CustomerName != nil {
		d.Customer = *o.CustomerName
	}
	if values == nil {
		values = map[string]string{}
		if o.CustomerID != nil {
			values["customer_id"] = strconv.FormatInt(*o.CustomerID, 10)
		}
		if o.Notes != nil {
			values["notes"] = *o.Notes
		}
	}
	if o.Notes != nil {
		d.NotesText = *o.Notes
	}
	for _, it := range o.Items {
		l := orderPageLine{Name: it.Name, Quantity: it.Quantity, Unit: p.L.Money(it.UnitPriceCents), Sum: p.L.Money(it.Quantity * it.UnitPriceCents)}
		if it.Notes != nil {
			l.Notes = *it.Notes
		}
		d.Lines = append(d.Lines, l)
	}
	if d.CanWrite {
		if d.CustomerInput, err = s.customerInput(c, p, values["customer_id"]); err != nil {
			return s.serviceError(c, p, err)
		}
		d.Notes = dataInput{Name: "notes", Label: s.t(p, "orders.notes"), Value: values["notes"], Error: p.Errors["notes"], Textarea: true}
	}
	p.Data = d
	return s.Render(c, status, tplOrdersShow, p)
}

// orderShow: GET /orders/:id.
func (s *Console) orderShow(c *fiber.Ctx) error {
	p, ok, err := s.restStart(c, "orders.title_one", auth.PermDataRead)
	if !ok {
		return err
	}
	switch c.Query("done") {
	case "created":
		p.Notice = "orders.created"
	case "saved":
		p.Notice = "orders.saved"
	case "status":
		p.Notice = "board.moved"
	}
	return s.renderOrder(c, p, dataID(c), fiber.StatusOK, "", nil)
}

// orderSave: POST /orders/:id, notes and customer.
func (s *Console) orderSave(c *fiber.Ctx) error {
	p, ok, err := s.restStart(c, "orders.title_one", auth.PermDataWrite)
	if !ok {
		return err
	}
	id := dataID(c)
	values := map[string]string{"customer_id": strings.Clone(c.FormValue("customer_id")), "notes": strings.Clone(c.FormValue("notes"))}
	obj := map[string]any{"customer_id": nil, "notes": nil}
	if v := strings.TrimSpace(values["customer_id"]); v != "" {
		obj["customer_id"] = formInt(v)
	}
	if v := strings.TrimSpace(values["notes"]); v != "" {
		obj["notes"] = v
	}
	body, _ := json.Marshal(obj)
	err = s.cfg.API.Write(c, func(ctx context.Context, tx resourcepg.DBTX) (ch resourcehttp.Change, err error) {
		_, ch, err = restaurant.UpdateOrder(ctx, tx, id, body, "")
		return ch, err
	})
	if err == nil {
		return see(c, "/orders/"+strconv.FormatInt(id, 10)+"?done=saved")
	}
	if !userError(err) {
		return s.serviceError(c, p, err)
	}
	s.failedFields(p, err, nil)
	p.FormError = "validation.form_has_errors"
	return s.renderOrder(c, p, id, fiber.StatusUnprocessableEntity, "", values)
}

// --- the order form --------------------------------------------------------------

type orderForm struct {
	Type, Customer, Notes dataInput
	BranchError           string
	BranchID              int64
	BranchName            string
	Lines                 []orderLine
	LinesCount            int
	CanMore               bool
	ItemsError            string
	BoardURL              string
	Branches              []dataOption // the menu-of-a-branch switch
}

type orderLine struct {
	N         int // 1-based
	Item, Qty dataInput
}

// lineKey is a line's field name: items[2].quantity, as the API's
// messages name it.
func lineKey(i int, field string) string { return "items[" + strconv.Itoa(i) + "]." + field }

// lineCount reads a requested number of line rows, bounded.
func lineCount(raw string) int {
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return orderLines
	}
	return min(n, restaurant.MaxOrderItems)
}

// choose marks the option with value as selected; a value not among
// opts is added (kept as posted: its message says why).
func choose(opts []dataOption, value string) []dataOption {
	out := make([]dataOption, 0, len(opts)+1)
	found := false
	for _, o := range opts {
		o.Selected = o.Value == value
		found = found || o.Selected
		out = append(out, o)
	}
	if !found && value != "" {
		out = append(out, dataOption{Value: value, Label: "#" + value, Selected: true})
	}
	return out
}

// customerInput is the customer field: a select of them, or the id.
func (s *Console) customerInput(c *fiber.Ctx, p *Page, value string) (dataInput, error) {
	in := dataInput{Name: "customer_id", Label: s.t(p, "orders.customer"), Value: value, Error: p.Errors["customer_id"], Type: "number", Min: "1"}
	opts, err := s.customerChoices(c, value)
	if err != nil {
		return in, err
	}
	if opts != nil {
		in.Type, in.Min, in.Options = "select", "", choose(opts, value)
	}
	return in, nil
}

// renderOrderForm renders the order form for the branch asked (the first
// active one when "" or no branch), the values posted kept.
func (s *Console) renderOrderForm(c *fiber.Ctx, p *Page, status int, branchRaw string, lines int, values map[string]string) error {
	all, b, ok, err := s.branchesOf(c, branchRaw)
	if err == nil && !ok && branchRaw != "" {
		all, b, ok, err = s.branchesOf(c, "")
	}
	if err != nil {
		return s.serviceError(c, p, err)
	}
	if !ok {
		return s.notFound(c, p)
	}
	var menu []restaurantpg.MenuChoice
	err = s.cfg.API.Conn(c, func(ctx context.Context, db resourcepgConn) (err error) {
		menu, err = restaurantpg.MenuAt(ctx, db, b.ID)
		return err
	})
	if err != nil {
		return s.serviceError(c, p, err)
	}
	p.Title = "orders.new_title"
	f := &orderForm{BranchID: b.ID, BranchName: b.Name, LinesCount: lines, CanMore: lines < restaurant.MaxOrderItems,
		ItemsError: p.Errors["items"], BoardURL: "/orders?branch=" + strconv.FormatInt(b.ID, 10), Branches: branchOptions(all, b.ID)}
	f.BranchError = p.Errors["branch_id"]
	types := []dataOption{{Value: "", Label: "—"}}
	for _, ty := range restaurant.Orders.Field("order_type").Enum {
		types = append(types, dataOption{Value: ty, Label: s.t(p, "orders.type."+ty)})
	}
	f.Type = dataInput{Name: "order_type", Label: s.t(p, "orders.type_label"), Type: "select", Required: true,
		Error: p.Errors["order_type"], Options: choose(types, values["order_type"])}
	if f.Customer, err = s.customerInput(c, p, values["customer_id"]); err != nil {
		return s.serviceError(c, p, err)
	}
	f.Notes = dataInput{Name: "notes", Label: s.t(p, "orders.notes"), Value: values["notes"], Error: p.Errors["notes"], Textarea: true}
	opts := []dataOption{{Value: "", Label: "—"}}
	for _, m := range menu {
		opts = append(opts, dataOption{Value: strconv.FormatInt(m.ID, 10), Label: m.Name + " · " + p.L.Money(m.PriceCents)})
	}
	for i := range lines {
		ik, qk := lineKey(i, "menu_item_id"), lineKey(i, "quantity")
		q, ok := values[qk]
		if !ok {
			q = "1"
		}
		f.Lines = append(f.Lines, orderLine{N: i + 1,
			Item: dataInput{Name: ik, Label: s.t(p, "orders.line_item", "N", i+1), Type: "select", Error: p.Errors[ik],
				Options: choose(opts, values[ik])},
			Qty: dataInput{Name: qk, Label: s.t(p, "orders.line_quantity", "N", i+1), Type: "number", Min: "1", Max: "1000",
				Value: q, Error: p.Errors[qk]}})
	}
	p.Data = f
	return s.Render(c, status, tplOrdersNew, p)
}

// orderNewForm: GET /orders/new?branch=&lines=.
func (s *Console) orderNewForm(c *fiber.Ctx) error {
	p, ok, err := s.restStart(c, "orders.new_title", auth.PermDataWrite)
	if !ok {
		return err
	}
	return s.renderOrderForm(c, p, fiber.StatusOK, c.Query("branch"), lineCount(c.Query("lines")),
		map[string]string{"branch_id": c.Query("branch")})
}

// orderCreate: POST /orders/new. Blank line rows (no menu item) are
// ignored; the "more" button shows more rows, nothing created.
func (s *Console) orderCreate(c *fiber.Ctx) error {
	p, ok, err := s.restStart(c, "orders.new_title", auth.PermDataWrite)
	if !ok {
		return err
	}
	lines := lineCount(c.FormValue("lines"))
	values := map[string]string{}
	for _, k := range []string{"branch_id", "order_type", "customer_id", "notes"} {
		values[k] = strings.Clone(c.FormValue(k))
	}
	obj := map[string]any{}
	if v := strings.TrimSpace(values["branch_id"]); v != "" {
		obj["branch_id"] = formInt(v)
	}
	if v := strings.TrimSpace(values["order_type"]); v != "" {
		obj["order_type"] = v
	}
	if v := strings.TrimSpace(values["customer_id"]); v != "" {
		obj["customer_id"] = formInt(v)
	}
	if v := strings.TrimSpace(values["notes"]); v != "" {
		obj["notes"] = v
	}
	items := []map[string]any{}
	var rows []int // the form row of each item sent
	for i := range lines {
		ik, qk := lineKey(i, "menu_item_id"), lineKey(i, "quantity")
		item, qty := strings.Clone(c.FormValue(ik)), strings.Clone(c.FormValue(qk))
		values[ik], values[qk] = item, qty
		item, qty = strings.TrimSpace(item), strings.TrimSpace(qty)
		if item == "" && (qty == "" || qty == "1") {
			continue
		}
		line := map[string]any{}
		if item != "" {
			line["menu_item_id"] = formInt(item)
		}
		if qty != "" {
			line["quantity"] = formInt(qty)
		}
		items = append(items, line)
		rows = append(rows, i)
	}
	if c.FormValue("more") != "" {
		return s.renderOrderForm(c, p, fiber.StatusOK, values["branch_id"], min(lines+orderLinesStep, restaurant.MaxOrderItems), values)
	}
	obj["items"] = items
	body, _ := json.Marshal(obj)
	// The API's messages name items by their place in the list sent; the
	// form's rows skip the blank ones.
	rename := func(k string) string {
		rest, ok := strings.CutPrefix(k, "items[")
		if !ok {
			return k
		}
		num, field, ok := strings.Cut(rest, "].")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || n < 0 || n >= len(rows) {
			return k
		}
		return lineKey(rows[n], field)
	}
	v, lv, err := restaurant.DecodeOrder(body)
	var row resource.Row
	if err == nil {
		err = s.cfg.API.Write(c, func(ctx context.Context, tx resourcepg.DBTX) (ch resourcehttp.Change, err error) {
			row, _, ch, err = restaurant.CreateOrder(ctx, tx, v, lv)
			return ch, err
		})
	}
	if err == nil {
		return see(c, "/orders/"+strconv.FormatInt(row.ID(), 10)+"?done=created")
	}
	if !userError(err) {
		return s.serviceError(c, p, err)
	}
	if !s.failedFields(p, err, rename) {
		p.Errors["items"] = s.t(p, "orders.msg.refused")
	}
	p.FormError = "validation.form_has_errors"
	return s.renderOrderForm(c, p, fiber.StatusUnprocessableEntity, values["branch_id"], lines, values)
}
