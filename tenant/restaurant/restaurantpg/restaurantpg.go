// Package restaurantpg is the restaurant domain's own SQL, beyond the
// generic resource storage: menu prices and availability at a branch, an
// order's items, and the reservations a capacity check counts.
package restaurantpg

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/resource/resourcepg"
)

// Branch is what a write at a branch needs to know of it.
type Branch struct {
	ID           int64
	SeatsPerSlot int
	SlotMinutes  int
	Active       bool
}

// LockBranch reads the branch with id FOR NO KEY UPDATE: the capacity
// checks of one branch's reservations run one after the other, so two
// concurrent bookings cannot both take the last seats (the weaker lock
// than FOR UPDATE lets orders, and inserts checking their foreign key,
// proceed meanwhile). A missing branch is 422 on field.
func LockBranch(ctx context.Context, db resourcepg.DBTX, id int64, field string) (Branch, error) {
	return branch(ctx, db, id, field, " FOR NO KEY UPDATE")
}

// GetBranch reads the branch with id FOR KEY SHARE: it cannot be deleted
// while the transaction lasts. A missing branch is 422 on field.
func GetBranch(ctx context.Context, db resourcepg.DBTX, id int64, field string) (Branch, error) {
	return branch(ctx, db, id, field, " FOR KEY SHARE")
}

func branch(ctx context.Context, db resourcepg.DBTX, id int64, field, lock string) (Branch, error) {
	b := Branch{ID: id}
	err := db.QueryRow(ctx, "SELECT seats_per_slot, slot_minutes, active FROM branches WHERE id = $1"+lock, id).
		Scan(&b.SeatsPerSlot, &b.SlotMinutes, &b.Active)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, tenant.Invalid(map[string]string{field: "names no branch"})
	}
	if err != nil {
		return b, fmt.Errorf("restaurantpg: read branch: %w", err)
	}
	return b, nil
}

// Booking is one reservation holding seats.
type Booking struct {
	Start, End time.Time
	Party      int
}

// Bookings returns the reservations of branch in one of statuses that
// overlap [from, to), but the one with id except (0: none).
func Bookings(ctx context.Context, db resourcepg.DBTX, branch int64, statuses []string, from, to time.Time, except int64) ([]Booking, error) {
	rows, err := db.Query(ctx, `SELECT starts_at, starts_at + make_interval(mins => duration_minutes), party_size
		FROM reservations
		WHERE branch_id = $1 AND status = ANY($2) AND starts_at < $4
		  AND starts_at + make_interval(mins => duration_minutes) > $3 AND id <> $5`,
		branch, statuses, from, to, except)
	if err != nil {
		return nil, fmt.Errorf("restaurantpg: read bookings: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Booking, error) {
		var b Booking
		return b, r.Scan(&b.Start, &b.End, &b.Party)
	})
	if err != nil {
		return nil, fmt.Errorf("restaurantpg: read bookings: %w", err)
	}
	return out, nil
}

// CustomerName returns the name of the customer with id; a missing one is
// 422 on field.
func CustomerName(ctx context.Context, db resourcepg.DBTX, id int64, field string) (string, error) {
	var name string
	err := db.QueryRow(ctx, "SELECT name FROM customers WHERE id = $1", id).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", tenant.Invalid(map[string]string{field: "names no customer"})
	}
	if err != nil {
		return "", fmt.Errorf("restaurantpg: read customer: %w", err)
	}
	return name, nil
}

// Price is a menu item's current price and availability at one branch.
type Price struct {
	Cents     int64
	Available bool
}

// Prices returns the price and availability at branch of the menu items
// with ids (missing ones are absent), locked FOR SHARE: a price change
// waits for the order that captured the old one.
func Prices(ctx context.Context, db resourcepg.DBTX, branch int64, ids []int64) (map[int64]Price, error) {
	rows, err := db.Query(ctx, `SELECT mi.id, mi.price_cents, COALESCE(mib.available, mi.available)
		FROM menu_items mi
		LEFT JOIN menu_item_branches mib ON mib.menu_item_id = mi.id AND mib.branch_id = $2
		WHERE mi.id = ANY($1)
		FOR SHARE OF mi`, ids, branch)
	if err != nil {
		return nil, fmt.Errorf("restaurantpg: read prices: %w", err)
	}
	defer rows.Close()
	out := map[int64]Price{}
	for rows.Next() {
		var id int64
		var p Price
		if err := rows.Scan(&id, &p.Cents, &p.Available); err != nil {
			return nil, fmt.Errorf("restaurantpg: read prices: %w", err)
		}
		out[id] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("restaurantpg: read prices: %w", err)
	}
	return out, nil
}

// Item is one line of an order.
type Item struct {
	ID, OrderID, MenuItemID  int64
	Quantity, UnitPriceCents int64
	Notes                    *string
}

// InsertItems stores the lines of order (their ID and OrderID are set by
// the database) and returns them stored, in order.
func InsertItems(ctx context.Context, db resourcepg.DBTX, order int64, items []Item) ([]Item, error) {
	menu := make([]int64, len(items))
	qty := make([]int64, len(items))
	price := make([]int64, len(items))
	notes := make([]*string, len(items))
	for i, it := range items {
		menu[i], qty[i], price[i], notes[i] = it.MenuItemID, it.Quantity, it.UnitPriceCents, it.Notes
	}
	// WITH ORDINALITY keeps the request's order in the ids.
	if _, err := db.Exec(ctx, `INSERT INTO order_items (order_id, menu_item_id, quantity, unit_price_cents, notes)
		SELECT $1, m, q, p, n FROM unnest($2::bigint[], $3::integer[], $4::integer[], $5::text[])
			WITH ORDINALITY AS u(m, q, p, n, i)
		ORDER BY i`, order, menu, qty, price, notes); err != nil {
		return nil, fmt.Errorf("restaurantpg: insert order items: %w", err)
	}
	return Items(ctx, db, order)
}

// Items returns the lines of order, by id.
func Items(ctx context.Context, db resourcepg.DBTX, order int64) ([]Item, error) {
	rows, err := db.Query(ctx, `SELECT id, order_id, menu_item_id, quantity, unit_price_cents, notes
		FROM order_items WHERE order_id = $1 ORDER BY id`, order)
	if err != nil {
		return nil, fmt.Errorf("restaurantpg: read order items: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Item, error) {
		var it Item
		var q, p int32
		err := r.Scan(&it.ID, &it.OrderID, &it.MenuItemID, &q, &p, &it.Notes)
		it.Quantity, it.UnitPriceCents = int64(q), int64(p)
		return it, err
	})
	if err != nil {
		return nil, fmt.Errorf("restaurantpg: read order items: %w", err)
	}
	return out, nil
}

// BranchInfo is a branch as the console's selectors and pages show it.
type BranchInfo struct {
	ID           int64
	Name         string
	TimeZone     *string // nil: the tenant's
	SeatsPerSlot int
	SlotMinutes  int
	Active       bool
}

// ListBranches returns every branch, by name.
func ListBranches(ctx context.Context, db resourcepg.DBTX) ([]BranchInfo, error) {
	rows, err := db.Query(ctx, `SELECT id, name, time_zone, seats_per_slot, slot_minutes, active
		FROM branches ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("restaurantpg: list branches: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (BranchInfo, error) {
		var b BranchInfo
		return b, r.Scan(&b.ID, &b.Name, &b.TimeZone, &b.SeatsPerSlot, &b.SlotMinutes, &b.Active)
	})
	if err != nil {
		return nil, fmt.Errorf("restaurantpg: list branches: %w", err)
	}
	return out, nil
}

// MenuChoice is a menu item a branch offers now.
type MenuChoice struct {
	ID         int64
	Name       string
	Category   string
	PriceCents int64
}

// MenuAt returns the menu items available at branch (the branch's
// override, else the item's own availability, in an active category), by
// category position and name.
func MenuAt(ctx context.Context, db resourcepg.DBTX, branch int64) ([]MenuChoice, error) {
	rows, err := db.Query(ctx, `SELECT mi.id, mi.name, mc.name, mi.price_cents
		FROM menu_items mi
		JOIN menu_categories mc ON mc.id = mi.category_id
		LEFT JOIN menu_item_branches mib ON mib.menu_item_id = mi.id AND mib.branch_id = $1
		WHERE COALESCE(mib.available, mi.available)
		ORDER BY mc.position, mc.name, mi.name, mi.id`, branch)
	if err != nil {
		return nil, fmt.Errorf("restaurantpg: read the menu: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (MenuChoice, error) {
		var m MenuChoice
		var p int32
		err := r.Scan(&m.ID, &m.Name, &m.Category, &p)
		m.PriceCents = int64(p)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("restaurantpg: read the menu: %w", err)
	}
	return out, nil
}

// CustomerChoice is a customer as a select offers it.
type CustomerChoice struct {
	ID   int64
	Name string
}

// Customers returns at most limit customers by name; more reports there
// were more.
func Customers(ctx context.Context, db resourcepg.DBTX, limit int) (out []CustomerChoice, more bool, err error) {
	rows, err := db.Query(ctx, `SELECT id, name FROM customers ORDER BY name, id LIMIT $1`, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("restaurantpg: list customers: %w", err)
	}
	out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (CustomerChoice, error) {
		var c CustomerChoice
		return c, r.Scan(&c.ID, &c.Name)
	})
	if err != nil {
		return nil, false, fmt.Errorf("restaurantpg: list customers: %w", err)
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// BoardOrder is an order with its customer's name and its items with the
// menu items' names.
type BoardOrder struct {
	ID, BranchID int64
	CustomerID   *int64
	CustomerName *string
	Status       string
	OrderType    string
	TotalCents   int64
	Notes        *string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Items        []BoardItem
}

// BoardItem is one line of a BoardOrder.
type BoardItem struct {
	ID, MenuItemID           int64
	Name                     string
	Quantity, UnitPriceCents int64
	Notes                    *string
}

// boardSQL reads orders with their lines in one statement (an order
// without lines, which the API never makes, still comes once, with a
// line id of 0). The line's columns are coalesced: scanning NULLs into
// pointers was a sixth of the board's time.
const boardSQL = `SELECT o.id, o.branch_id, o.customer_id, c.name, o.status, o.order_type, o.total_cents, o.notes,
		o.created_at, o.updated_at, coalesce(oi.id, 0), coalesce(oi.menu_item_id, 0), coalesce(mi.name, ''),
		coalesce(oi.quantity, 0)::bigint, coalesce(oi.unit_price_cents, 0)::bigint, oi.notes
	FROM orders o
	LEFT JOIN customers c ON c.id = o.customer_id
	LEFT JOIN order_items oi ON oi.order_id = o.id
	LEFT JOIN menu_items mi ON mi.id = oi.menu_item_id
	`

// Board returns the orders of branch created in [from, to), oldest
// first, with their items: the orders board of a day.
func Board(ctx context.Context, db resourcepg.DBTX, branch int64, from, to time.Time) ([]BoardOrder, error) {
	return boardOrders(ctx, db, boardSQL+`WHERE o.branch_id = $1 AND o.created_at >= $2 AND o.created_at < $3
	ORDER BY o.created_at, o.id, oi.id`, branch, from, to)
}

// Order returns the order with id and its items; a missing one is
// tenant.ENotFound.
func Order(ctx context.Context, db resourcepg.DBTX, id int64) (BoardOrder, error) {
	out, err := boardOrders(ctx, db, boardSQL+`WHERE o.id = $1 ORDER BY oi.id`, id)
	if err != nil {
		return BoardOrder{}, err
	}
	if len(out) == 0 {
		return BoardOrder{}, tenant.Errorf(tenant.ENotFound, "no order with id %d", id)
	}
	return out[0], nil
}

func boardOrders(ctx context.Context, db resourcepg.DBTX, sql string, args ...any) ([]BoardOrder, error) {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("restaurantpg: read orders: %w", err)
	}
	defer rows.Close()
	var out []BoardOrder
	for rows.Next() {
		var o BoardOrder
		var it BoardItem
		if err := rows.Scan(&o.ID, &o.BranchID, &o.CustomerID, &o.CustomerName, &o.Status, &o.OrderType, &o.TotalCents,
			&o.Notes, &o.CreatedAt, &o.UpdatedAt, &it.ID, &it.MenuItemID, &it.Name, &it.Quantity, &it.UnitPriceCents, &it.Notes); err != nil {
			return nil, fmt.Errorf("restaurantpg: read orders: %w", err)
		}
		if n := len(out); n == 0 || out[n-1].ID != o.ID {
			out = append(out, o)
		}
		if it.ID != 0 {
			last := &out[len(out)-1]
			last.Items = append(last.Items, it)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("restaurantpg: read orders: %w", err)
	}
	return out, nil
}

// DayReservation is a reservation as a day's page lists it.
type DayReservation struct {
	ID              int64
	CustomerID      *int64
	CustomerName    string
	PartySize       int
	StartsAt        time.Time
	DurationMinutes int
	Status          string
	Notes           *string
}

// DayReservations returns the reservations of branch starting in [from,
// to), by time.
func DayReservations(ctx context.Context, db resourcepg.DBTX, branch int64, from, to time.Time) ([]DayReservation, error) {
	rows, err := db.Query(ctx, `SELECT id, customer_id, customer_name, party_size, starts_at, duration_minutes, status, notes
		FROM reservations
		WHERE branch_id = $1 AND starts_at >= $2 AND starts_at < $3
		ORDER BY starts_at, id`, branch, from, to)
	if err != nil {
		return nil, fmt.Errorf("restaurantpg: read reservations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DayReservation, error) {
		var d DayReservation
		return d, r.Scan(&d.ID, &d.CustomerID, &d.CustomerName, &d.PartySize, &d.StartsAt, &d.DurationMinutes, &d.Status, &d.Notes)
	})
	if err != nil {
		return nil, fmt.Errorf("restaurantpg: read reservations: %w", err)
	}
	return out, nil
}
