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
