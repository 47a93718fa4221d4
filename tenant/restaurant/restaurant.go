// Package restaurant is the restaurant domain's API: branches, customers,
// the menu, orders and reservations, and the customer messages log,
// served only on restaurant tenants.
//
// Most resources are the engine's five routes (resourcehttp). Custom are:
// POST /api/orders (items with prices captured from the menu, totals by
// the server), GET /api/orders/{id} (with its items), PATCH
// /api/orders/{id} (status along the order flow), and POST and PATCH
// /api/reservations (the branch's capacity, serialised per branch).
// Listing orders gives the orders without their items.
package restaurant

import (
	"context"
	"strconv"
	"time"
	_ "time/tzdata" // branch time zones are checked with time.LoadLocation

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/resource"
	"github.com/tenancy/platform/tenant/resource/resourcehttp"
	"github.com/tenancy/platform/tenant/resource/resourcepg"
	"github.com/tenancy/platform/tenant/restaurant/restaurantpg"
)

// Mount serves the restaurant routes on r.
func Mount(api *resourcehttp.API, r fiber.Router) {
	h := &handlers{api: api}
	api.Mount(r, Branches, Customers, MenuCategories, MenuItems, MenuItemBranches, CustomerMessages)

	api.MountExcept(r, Orders, resourcehttp.OpCreate, resourcehttp.OpGet, resourcehttp.OpUpdate)
	notes := "Sin cebolla, por favor"
	api.Handle(r, resourcehttp.Route{Method: fiber.MethodPost, Path: "/api/orders", Kind: tenant.Restaurant,
		Perm: auth.PermDataWrite, Op: resourcehttp.OpCustom, Spec: Orders, Status: fiber.StatusCreated,
		Summary: "Create an order with its items: each unit price is the menu item's at this moment, total_cents " +
			"is computed; an item not available at the branch is 422 on items[i].menu_item_id",
		Request: OrderRequest{}, Response: OrderWithItems{},
		Example: OrderRequest{BranchID: 1, OrderType: "takeaway", Notes: &notes,
			Items: []OrderItemRequest{{MenuItemID: 1, Quantity: 2}, {MenuItemID: 2, Quantity: 1}}},
	}, h.createOrder)
	api.Handle(r, resourcehttp.Route{Method: fiber.MethodGet, Path: "/api/orders/{id}", Kind: tenant.Restaurant,
		Perm: auth.PermDataRead, Op: resourcehttp.OpCustom, Spec: Orders, Status: fiber.StatusOK,
		Summary: "Get an order with its items", Response: OrderWithItems{}}, h.getOrder)
	api.Handle(r, resourcehttp.Route{Method: fiber.MethodPatch, Path: "/api/orders/{id}", Kind: tenant.Restaurant,
		Perm: auth.PermDataWrite, Op: resourcehttp.OpUpdate, Spec: Orders, Status: fiber.StatusOK,
		Summary: "Change an order's notes, customer or status (pending → confirmed → preparing → ready → delivered; " +
			"cancelled before delivered; any other change of status is 409 invalid_transition)"}, h.updateOrder)

	api.MountExcept(r, Reservations, resourcehttp.OpCreate, resourcehttp.OpUpdate)
	api.Handle(r, resourcehttp.Route{Method: fiber.MethodPost, Path: "/api/reservations", Kind: tenant.Restaurant,
		Perm: auth.PermDataWrite, Op: resourcehttp.OpCreate, Spec: Reservations, Status: fiber.StatusCreated,
		Summary: "Create a reservation (409 capacity_exceeded beyond the branch's seats per slot)"}, h.createReservation)
	api.Handle(r, resourcehttp.Route{Method: fiber.MethodPatch, Path: "/api/reservations/{id}", Kind: tenant.Restaurant,
		Perm: auth.PermDataWrite, Op: resourcehttp.OpUpdate, Spec: Reservations, Status: fiber.StatusOK,
		Summary: "Change a reservation (capacity checked again when its seats or time change; status along the " +
			"reservation flow, else 409 invalid_transition)"}, h.updateReservation)
}

type handlers struct{ api *resourcehttp.API }

// Flows: the statuses each status may change to.
var (
	orderFlow = map[string][]string{
		"pending":   {"confirmed", "cancelled"},
		"confirmed": {"preparing", "cancelled"},
		"preparing": {"ready", "cancelled"},
		"ready":     {"delivered", "cancelled"},
	}
	reservationFlow = map[string][]string{
		"pending":   {"confirmed", "seated", "cancelled", "no_show"},
		"confirmed": {"seated", "cancelled", "no_show"},
		"seated":    {"completed"},
	}
)

// OrderNext is the statuses an order in status may change to, in the
// flow's order (none for delivered and cancelled).
func OrderNext(status string) []string { return append([]string(nil), orderFlow[status]...) }

// ReservationNext is the statuses a reservation in status may change to.
func ReservationNext(status string) []string {
	return append([]string(nil), reservationFlow[status]...)
}

// OrderStatuses and ReservationStatuses are every status in flow order.
func OrderStatuses() []string       { return append([]string(nil), orderStatuses...) }
func ReservationStatuses() []string { return append([]string(nil), reservationStatuses...) }

// ReservationHolds reports whether a reservation in status holds seats.
func ReservationHolds(status string) bool { return isActive(status) }

// transition refuses a change of status flow does not allow; keeping the
// same status is no change.
func transition(what string, flow map[string][]string, from, to string) error {
	if from == to {
		return nil
	}
	for _, s := range flow[from] {
		if s == to {
			return nil
		}
	}
	e := tenant.Errorf(tenant.EInvalidTransition, "a %s cannot go from %s to %s", what, from, to)
	allowed := flow[from]
	if allowed == nil {
		allowed = []string{}
	}
	e.Details = map[string]any{"from": from, "to": to, "allowed": allowed}
	return e
}

// expected refuses a status change made from a stale view: the writer
// saw the row in status expect (empty: no expectation), and it is now in
// cur; two people moving the same card both mean "from what I saw".
func expected(what string, flow map[string][]string, expect, cur, to string) error {
	if expect == "" || expect == cur {
		return nil
	}
	e := tenant.Errorf(tenant.EInvalidTransition, "the %s is %s now, no longer %s", what, cur, expect)
	allowed := flow[cur]
	if allowed == nil {
		allowed = []string{}
	}
	e.Details = map[string]any{"from": cur, "to": to, "expected": expect, "allowed": allowed}
	return e
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }

// statusChange adds a status change to an update's audit details.
func statusChange(d map[string]any, cur resource.Row, v resource.Values) map[string]any {
	if to, ok := v.Get("status"); ok && to != cur.Get("status") {
		d["status"] = map[string]any{"from": cur.Get("status"), "to": to}
	}
	return d
}

// conn is resourcehttp.API.Conn with a plain DBTX.
func (h *handlers) conn(c *fiber.Ctx, fn func(ctx context.Context, db resourcepg.DBTX) error) error {
	return h.api.Conn(c, func(ctx context.Context, db *pgxpool.Conn) error { return fn(ctx, db) })
}

// maxSlots bounds a capacity check's loop (a day of the shortest slots).
const maxSlots = 24 * 60 / 5

// peak is the most guests of bookings in any slot of length slot from
// start until end, and the first slot holding them: the slots are aligned
// to start (the new reservation's own), and a booking counts in every
// slot it overlaps.
func peak(bookings []restaurantpg.Booking, start, end time.Time, slot time.Duration) (int, time.Time) {
	most, at := 0, start
	for g, n := start, 0; g.Before(end) && n < maxSlots; g, n = g.Add(slot), n+1 {
		if sum := booked(bookings, g, g.Add(slot)); sum > most {
			most, at = sum, g
		}
	}
	return most, at
}

// booked is the guests of bookings overlapping [from, to).
func booked(bookings []restaurantpg.Booking, from, to time.Time) int {
	sum := 0
	for _, b := range bookings {
		if b.Start.Before(to) && b.End.After(from) {
			sum += b.Party
		}
	}
	return sum
}

// Slot is one slot of a branch's day and the guests booked in it.
type Slot struct {
	Start  time.Time
	Booked int
}

// Slots are the slots of length slot from from until to (aligned to from)
// that bookings of seat-holding reservations overlap, with their guests:
// what a day's page shows against the branch's seats per slot.
func Slots(bookings []restaurantpg.Booking, from, to time.Time, slot time.Duration) []Slot {
	var out []Slot
	if slot <= 0 {
		return out
	}
	for g, n := from, 0; g.Before(to) && n < maxSlots; g, n = g.Add(slot), n+1 {
		if sum := booked(bookings, g, g.Add(slot)); sum > 0 {
			out = append(out, Slot{Start: g, Booked: sum})
		}
	}
	return out
}

// fits refuses a reservation of party at branch over [start, start+dur)
// when, with the active reservations already there (but except), some
// slot would hold more than the branch's seats per slot. The branch is
// locked first, so concurrent bookings of a branch are checked one at a
// time. The refusal's details name the fullest slot (slot_start) and
// its free seats (seats_left).
func fits(ctx context.Context, tx resourcepg.DBTX, branch int64, start time.Time, dur, party, except int64) error {
	b, err := restaurantpg.LockBranch(ctx, tx, branch, "branch_id")
	if err != nil {
		return err
	}
	if !b.Active {
		return tenant.Invalid(map[string]string{"branch_id": "is not active: it takes no reservations"})
	}
	end := start.Add(time.Duration(dur) * time.Minute)
	bookings, err := restaurantpg.Bookings(ctx, tx, branch, activeReservation, start, end, except)
	if err != nil {
		return err
	}
	most, at := peak(bookings, start, end, time.Duration(b.SlotMinutes)*time.Minute)
	if int64(most)+party <= int64(b.SeatsPerSlot) {
		return nil
	}
	left := max(0, b.SeatsPerSlot-most)
	e := tenant.Errorf(tenant.ECapacityExceeded, "the branch has %d of its %d seats per slot free at that time; a party of %d does not fit",
		left, b.SeatsPerSlot, party)
	e.Details = map[string]any{"branch_id": branch, "seats_per_slot": b.SeatsPerSlot, "slot_minutes": b.SlotMinutes,
		"booked": most, "requested": party, "seats_left": left, "slot_start": at.UTC().Format(time.RFC3339)}
	return e
}

func isActive(status string) bool {
	for _, s := range activeReservation {
		if s == status {
			return true
		}
	}
	return false
}

// CreateReservation stores the reservation v (decoded against
// Reservations) inside the write tx: the customer's name when only the
// customer is given, the branch's capacity checked for a seat-holding
// status. It returns the row and the write's audit change. The API's POST
// and the console's form both call it.
func CreateReservation(ctx context.Context, tx resourcepg.DBTX, v resource.Values) (resource.Row, resourcehttp.Change, error) {
	if _, ok := v.Get("customer_name"); !ok {
		cust, _ := v.Get("customer_id")
		id, _ := cust.(int64)
		name, err := restaurantpg.CustomerName(ctx, tx, id, "customer_id")
		if err != nil {
			return resource.Row{}, resourcehttp.Change{}, err
		}
		v.Set("customer_name", name)
	}
	status := "pending"
	if s, ok := v.Get("status"); ok {
		status = s.(string)
	}
	dur := int64(90) // the column's default
	if d, ok := v.Get("duration_minutes"); ok {
		dur = d.(int64)
	}
	branch, _ := v.Get("branch_id")
	start, _ := v.Get("starts_at")
	party, _ := v.Get("party_size")
	if isActive(status) {
		if err := fits(ctx, tx, branch.(int64), start.(time.Time), dur, party.(int64), 0); err != nil {
			return resource.Row{}, resourcehttp.Change{}, err
		}
	}
	row, err := resourcepg.Create(ctx, tx, Reservations, v)
	if err != nil {
		return resource.Row{}, resourcehttp.Change{}, err
	}
	return row, resourcehttp.Change{Action: "reservation.create", Entity: "reservation", EntityID: idString(row.ID()),
		Details: map[string]any{"fields": v.Names}}, nil
}

// UpdateReservation changes the reservation with id by the JSON body (a
// PATCH's), decoded against the row locked in tx: the status along the
// flow, the capacity checked again when it asks for more seats or others.
// expect, when not empty, is the status the writer saw: a row that moved
// on meanwhile is refused (invalid_transition) and nothing changes.
func UpdateReservation(ctx context.Context, tx resourcepg.DBTX, id int64, body []byte, expect string) (resource.Row, resourcehttp.Change, error) {
	cur, err := resourcepg.Get(ctx, tx, Reservations, id, true)
	if err != nil {
		return resource.Row{}, resourcehttp.Change{}, err
	}
	v, err := resource.Decode(Reservations, body, &cur)
	if err != nil {
		return cur, resourcehttp.Change{}, err
	}
	after := func(name string) any {
		if x, ok := v.Get(name); ok {
			return x
		}
		return cur.Get(name)
	}
	from, to := cur.Get("status").(string), after("status").(string)
	if err := expected("reservation", reservationFlow, expect, from, to); err != nil {
		return cur, resourcehttp.Change{}, err
	}
	if err := transition("reservation", reservationFlow, from, to); err != nil {
		return cur, resourcehttp.Change{}, err
	}
	// Seats are checked again when the reservation asks for more of
	// them, or for others: a larger party, another branch or time. (A
	// status change keeps it active or frees its seats: the flow has no
	// way back from cancelled, completed or no_show.)
	st, _ := after("starts_at").(time.Time)
	recheck := after("branch_id") != cur.Get("branch_id") || !st.Equal(cur.Get("starts_at").(time.Time)) ||
		after("duration_minutes") != cur.Get("duration_minutes") || after("party_size").(int64) > cur.Get("party_size").(int64)
	if recheck && isActive(to) {
		if err := fits(ctx, tx, after("branch_id").(int64), after("starts_at").(time.Time),
			after("duration_minutes").(int64), after("party_size").(int64), id); err != nil {
			return cur, resourcehttp.Change{}, err
		}
	}
	row, err := resourcepg.Update(ctx, tx, Reservations, id, v)
	if err != nil {
		return cur, resourcehttp.Change{}, err
	}
	return row, resourcehttp.Change{Action: "reservation.update", Entity: "reservation", EntityID: idString(id),
		Details: statusChange(map[string]any{"fields": v.Names}, cur, v)}, nil
}

func (h *handlers) createReservation(c *fiber.Ctx) error {
	body, err := resourcehttp.Body(c)
	if err != nil {
		return err
	}
	v, err := resource.Decode(Reservations, body, nil)
	if err != nil {
		return err
	}
	var row resource.Row
	err = h.api.Write(c, func(ctx context.Context, tx resourcepg.DBTX) (ch resourcehttp.Change, err error) {
		row, ch, err = CreateReservation(ctx, tx, v)
		return ch, err
	})
	if err != nil {
		return err
	}
	c.Location(Reservations.Path + "/" + idString(row.ID()))
	return c.Status(fiber.StatusCreated).JSON(row)
}

func (h *handlers) updateReservation(c *fiber.Ctx) error {
	id, err := resourcehttp.ID(c, Reservations)
	if err != nil {
		return err
	}
	body, err := resourcehttp.Body(c)
	if err != nil {
		return err
	}
	var row resource.Row
	err = h.api.Write(c, func(ctx context.Context, tx resourcepg.DBTX) (ch resourcehttp.Change, err error) {
		row, ch, err = UpdateReservation(ctx, tx, id, body, "")
		return ch, err
	})
	if err != nil {
		return err
	}
	return c.JSON(row)
}

// BookedSlots are the slots of branch's day [from, to) (slot long,
// aligned to from) that its seat-holding reservations overlap, with their
// guests: the seats booked the day's page shows against the capacity.
func BookedSlots(ctx context.Context, db resourcepg.DBTX, branch int64, from, to time.Time, slot time.Duration) ([]Slot, error) {
	bookings, err := restaurantpg.Bookings(ctx, db, branch, activeReservation, from, to, 0)
	if err != nil {
		return nil, err
	}
	return Slots(bookings, from, to, slot), nil
}
