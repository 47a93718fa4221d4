package restaurant

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/resource"
	"github.com/tenancy/platform/tenant/resource/resourcehttp"
	"github.com/tenancy/platform/tenant/resource/resourcepg"
	"github.com/tenancy/platform/tenant/restaurant/restaurantpg"
)

// MaxOrderItems is the most lines one order may have.
const MaxOrderItems = 100

// OrderRequest is the body of POST /api/orders (for the document; the
// handler decodes it field by field against Orders and OrderItems).
type OrderRequest struct {
	BranchID   int64              `json:"branch_id"`
	CustomerID *int64             `json:"customer_id,omitempty"`
	OrderType  string             `json:"order_type" doc:"dine_in, takeaway or delivery"`
	Notes      *string            `json:"notes,omitempty"`
	Items      []OrderItemRequest `json:"items" doc:"1 to 100 lines; a menu item not available at the branch is 422 on items[i].menu_item_id"`
}

// OrderItemRequest is one line of an OrderRequest.
type OrderItemRequest struct {
	MenuItemID int64   `json:"menu_item_id"`
	Quantity   int64   `json:"quantity" doc:"1 to 1000"`
	Notes      *string `json:"notes,omitempty"`
}

// OrderWithItems is an order as POST /api/orders and GET /api/orders/{id}
// answer it: the order's fields and its items.
type OrderWithItems struct {
	ID         int64           `json:"id"`
	BranchID   int64           `json:"branch_id"`
	CustomerID *int64          `json:"customer_id"`
	Status     string          `json:"status" doc:"pending, confirmed, preparing, ready, delivered or cancelled"`
	OrderType  string          `json:"order_type"`
	TotalCents int64           `json:"total_cents" doc:"Σ quantity × unit_price_cents of the items"`
	Notes      *string         `json:"notes"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
	Items      []OrderItemJSON `json:"items"`
}

// OrderItemJSON is one stored line of an order.
type OrderItemJSON struct {
	ID             int64   `json:"id"`
	OrderID        int64   `json:"order_id"`
	MenuItemID     int64   `json:"menu_item_id"`
	Quantity       int64   `json:"quantity"`
	UnitPriceCents int64   `json:"unit_price_cents" doc:"the menu item's price when ordered"`
	Notes          *string `json:"notes"`
}

// withItems is the JSON of an order row followed by its items.
func withItems(order resource.Row, items []restaurantpg.Item) ([]byte, error) {
	b, err := json.Marshal(order)
	if err != nil {
		return nil, err
	}
	lines := make([]OrderItemJSON, len(items))
	for i, it := range items {
		lines[i] = OrderItemJSON{ID: it.ID, OrderID: it.OrderID, MenuItemID: it.MenuItemID, Quantity: it.Quantity,
			UnitPriceCents: it.UnitPriceCents, Notes: it.Notes}
	}
	li, err := json.Marshal(lines)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSuffix(b, []byte("}"))
	b = append(b, `,"items":`...)
	b = append(append(b, li...), '}')
	return b, nil
}

// DecodeOrder checks a POST /api/orders body: the order's fields by the
// Orders spec, each item's by OrderItems, messages per field
// (items[2].quantity).
func DecodeOrder(body []byte) (resource.Values, []resource.Values, error) {
	var obj map[string]json.RawMessage
	if len(bytes.TrimSpace(body)) == 0 {
		return resource.Values{}, nil, resource.ErrNoBody
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return resource.Values{}, nil, resource.ErrBadJSON
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return resource.Values{}, nil, resource.ErrBadJSON
	}
	rawItems, hasItems := obj["items"]
	delete(obj, "items")
	bad := map[string]string{}
	if _, ok := obj["status"]; ok {
		bad["status"] = "is set by the server: a new order is pending"
		delete(obj, "status")
	}
	rest, err := json.Marshal(obj)
	if err != nil {
		return resource.Values{}, nil, resource.ErrBadJSON
	}
	v, err := resource.Decode(Orders, rest, nil)
	if err != nil && tenant.ErrorCode(err) != tenant.EValidation {
		return v, nil, err
	}
	for k, m := range tenant.ErrorFields(err) {
		bad[k] = m
	}
	var raws []json.RawMessage
	switch {
	case !hasItems:
		bad["items"] = "is required"
	case json.Unmarshal(rawItems, &raws) != nil || raws == nil:
		bad["items"] = "must be an array of items"
	case len(raws) == 0:
		bad["items"] = "must have at least one item"
	case len(raws) > MaxOrderItems:
		bad["items"] = fmt.Sprintf("must have at most %d items", MaxOrderItems)
	}
	var items []resource.Values
	if bad["items"] == "" {
		for i, raw := range raws {
			iv, err := resource.Decode(OrderItems, raw, nil)
			switch code := tenant.ErrorCode(err); {
			case code == tenant.EValidation:
				for k, m := range tenant.ErrorFields(err) {
					bad[fmt.Sprintf("items[%d].%s", i, k)] = m
				}
			case err != nil:
				bad[fmt.Sprintf("items[%d]", i)] = "must be a JSON object"
			}
			items = append(items, iv)
		}
	}
	return v, items, tenant.Invalid(bad)
}

// CreateOrder stores the order v with its lines (DecodeOrder's) inside
// the write tx: the branch must be active and each menu item available
// there, each unit price is the item's at this moment and the total is
// Σ quantity × price. It returns the row, its stored items and the
// write's audit change. The API's POST and the console's form call it.
func CreateOrder(ctx context.Context, tx resourcepg.DBTX, v resource.Values, lines []resource.Values) (resource.Row, []restaurantpg.Item, resourcehttp.Change, error) {
	fail := func(err error) (resource.Row, []restaurantpg.Item, resourcehttp.Change, error) {
		return resource.Row{}, nil, resourcehttp.Change{}, err
	}
	bv, _ := v.Get("branch_id")
	branch := bv.(int64)
	b, err := restaurantpg.GetBranch(ctx, tx, branch, "branch_id")
	if err != nil {
		return fail(err)
	}
	if !b.Active {
		return fail(tenant.Invalid(map[string]string{"branch_id": "is not active: it takes no orders"}))
	}
	ids := make([]int64, len(lines))
	for i, l := range lines {
		m, _ := l.Get("menu_item_id")
		ids[i] = m.(int64)
	}
	prices, err := restaurantpg.Prices(ctx, tx, branch, ids)
	if err != nil {
		return fail(err)
	}
	bad := map[string]string{}
	items := make([]restaurantpg.Item, len(lines))
	var total int64
	for i, l := range lines {
		p, ok := prices[ids[i]]
		switch {
		case !ok:
			bad[fmt.Sprintf("items[%d].menu_item_id", i)] = "names no menu item"
		case !p.Available:
			bad[fmt.Sprintf("items[%d].menu_item_id", i)] = "is not available at this branch"
		}
		q, _ := l.Get("quantity")
		items[i] = restaurantpg.Item{MenuItemID: ids[i], Quantity: q.(int64), UnitPriceCents: p.Cents}
		if n, ok := l.Get("notes"); ok && n != nil {
			s := n.(string)
			items[i].Notes = &s
		}
		// At most 100 × 1000 × 2³¹: no overflow.
		total += items[i].Quantity * p.Cents
	}
	if err := tenant.Invalid(bad); err != nil {
		return fail(err)
	}
	v.Set("total_cents", total)
	row, err := resourcepg.Create(ctx, tx, Orders, v)
	if err != nil {
		return fail(err)
	}
	stored, err := restaurantpg.InsertItems(ctx, tx, row.ID(), items)
	if err != nil {
		return fail(err)
	}
	return row, stored, resourcehttp.Change{Action: "order.create", Entity: "order", EntityID: idString(row.ID()),
		Details: map[string]any{"fields": v.Names, "items": len(stored), "total_cents": total}}, nil
}

// UpdateOrder changes the order with id by the JSON body (a PATCH's:
// notes, customer_id, status along the flow), decoded against the row
// locked in tx. expect, when not empty, is the status the writer saw: an
// order that moved on meanwhile is refused (invalid_transition) and
// nothing changes. It returns the row after (before, on a refusal).
func UpdateOrder(ctx context.Context, tx resourcepg.DBTX, id int64, body []byte, expect string) (resource.Row, resourcehttp.Change, error) {
	cur, err := resourcepg.Get(ctx, tx, Orders, id, true)
	if err != nil {
		return resource.Row{}, resourcehttp.Change{}, err
	}
	v, err := resource.Decode(Orders, body, &cur)
	if err != nil {
		return cur, resourcehttp.Change{}, err
	}
	from := cur.Get("status").(string)
	to := from
	if s, ok := v.Get("status"); ok {
		to = s.(string)
	}
	if err := expected("order", orderFlow, expect, from, to); err != nil {
		return cur, resourcehttp.Change{}, err
	}
	if err := transition("order", orderFlow, from, to); err != nil {
		return cur, resourcehttp.Change{}, err
	}
	row, err := resourcepg.Update(ctx, tx, Orders, id, v)
	if err != nil {
		return cur, resourcehttp.Change{}, err
	}
	return row, resourcehttp.Change{Action: "order.update", Entity: "order", EntityID: idString(id),
		Details: statusChange(map[string]any{"fields": v.Names}, cur, v)}, nil
}

func (h *handlers) createOrder(c *fiber.Ctx) error {
	body, err := resourcehttp.Body(c)
	if err != nil {
		return err
	}
	v, lines, err := DecodeOrder(body)
	if err != nil {
		return err
	}
	var out []byte
	var row resource.Row
	err = h.api.Write(c, func(ctx context.Context, tx resourcepg.DBTX) (resourcehttp.Change, error) {
		var items []restaurantpg.Item
		var ch resourcehttp.Change
		var err error
		if row, items, ch, err = CreateOrder(ctx, tx, v, lines); err != nil {
			return ch, err
		}
		out, err = withItems(row, items)
		return ch, err
	})
	if err != nil {
		return err
	}
	c.Location(Orders.Path + "/" + idString(row.ID()))
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Status(fiber.StatusCreated).Send(out)
}

func (h *handlers) getOrder(c *fiber.Ctx) error {
	id, err := resourcehttp.ID(c, Orders)
	if err != nil {
		return err
	}
	var out []byte
	err = h.conn(c, func(ctx context.Context, db resourcepg.DBTX) error {
		row, err := resourcepg.Get(ctx, db, Orders, id, false)
		if err != nil {
			return err
		}
		items, err := restaurantpg.Items(ctx, db, id)
		if err != nil {
			return err
		}
		out, err = withItems(row, items)
		return err
	})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(out)
}

func (h *handlers) updateOrder(c *fiber.Ctx) error {
	id, err := resourcehttp.ID(c, Orders)
	if err != nil {
		return err
	}
	body, err := resourcehttp.Body(c)
	if err != nil {
		return err
	}
	var row resource.Row
	err = h.api.Write(c, func(ctx context.Context, tx resourcepg.DBTX) (ch resourcehttp.Change, err error) {
		row, ch, err = UpdateOrder(ctx, tx, id, body, "")
		return ch, err
	})
	if err != nil {
		return err
	}
	return c.JSON(row)
}
