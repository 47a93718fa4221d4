package restaurant

import (
	"time"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/resource"
)

// Statuses of a reservation that hold seats (capacity counts them).
var activeReservation = []string{"pending", "confirmed", "seated"}

var (
	orderStatuses       = []string{"pending", "confirmed", "preparing", "ready", "delivered", "cancelled"}
	reservationStatuses = []string{"pending", "confirmed", "seated", "completed", "cancelled", "no_show"}
)

func id() resource.Field {
	return resource.Field{Name: "id", Type: resource.Int, ReadOnly: true, Example: 1}
}

func stamp(name string, filter bool) resource.Field {
	return resource.Field{Name: name, Type: resource.Time, ReadOnly: true, Filter: filter}
}

// Branches are the chain's locations; seats_per_slot and slot_minutes bound
// reservations.
var Branches = &resource.Spec{
	Name: "branches", Entity: "branch", Path: "/api/branches", Table: "branches", Kind: tenant.Restaurant,
	Doc: "Locations of the restaurant. One (\"Casa matriz\") is made with the tenant.",
	Fields: []resource.Field{
		id(),
		{Name: "name", Type: resource.String, Required: true, Max: 120, Example: "Sucursal Providencia"},
		{Name: "address", Type: resource.String, Max: 300, Default: "", Example: "Av. Providencia 1234, Santiago"},
		{Name: "phone", Type: resource.Phone, Nullable: true, Example: "+56 2 2345 6789"},
		{Name: "time_zone", Type: resource.String, Nullable: true, Max: 64, Example: "America/Santiago",
			Doc: "IANA time zone; null: the tenant's."},
		{Name: "seats_per_slot", Type: resource.Int, Min: resource.Int64(1), Max: 10000, Default: 40, Example: 40,
			Doc: "Most guests with active reservations in any one slot."},
		{Name: "slot_minutes", Type: resource.Int, Min: resource.Int64(5), Max: 240, Default: 30, Example: 30},
		{Name: "active", Type: resource.Bool, Filter: true, Default: true, Example: true,
			Doc: "An inactive branch takes no orders or reservations."},
		stamp("created_at", false),
		stamp("updated_at", false),
	},
	Uniques: []resource.Unique{{Constraint: "branches_name_key", Fields: []string{"name"}}},
	Depends: []resource.Dependent{
		{Resource: "orders", Table: "orders", Column: "branch_id", Action: resource.Restrict},
		{Resource: "reservations", Table: "reservations", Column: "branch_id", Action: resource.Restrict},
		{Resource: "menu_item_branches", Table: "menu_item_branches", Column: "branch_id", Action: resource.Cascade},
		{Resource: "customer_messages", Table: "customer_messages", Column: "branch_id", Action: resource.SetNull},
	},
	OrderDoc: "by id",
	Check: func(v resource.Values, _ resource.Row, _ bool) map[string]string {
		if tz, ok := v.Get("time_zone"); ok && tz != nil {
			if s := tz.(string); s == "" || s == "Local" {
				return map[string]string{"time_zone": "must be an IANA time zone such as America/Santiago"}
			} else if _, err := time.LoadLocation(s); err != nil {
				return map[string]string{"time_zone": "must be an IANA time zone such as America/Santiago"}
			}
		}
		return nil
	},
}

// Customers are the restaurant's guests.
var Customers = &resource.Spec{
	Name: "customers", Entity: "customer", Path: "/api/customers", Table: "customers", Kind: tenant.Restaurant,
	Doc: "Guests placing orders or reservations.",
	Fields: []resource.Field{
		id(),
		{Name: "name", Type: resource.String, Required: true, Max: 200, Example: "María José Pérez"},
		{Name: "phone", Type: resource.Phone, Nullable: true, Filter: true, Example: "+56 9 8765 4321"},
		{Name: "email", Type: resource.Email, Nullable: true, Filter: true, Example: "mjperez@example.cl"},
		{Name: "notes", Type: resource.String, Nullable: true, Example: "Alérgica al maní"},
		stamp("created_at", false),
		stamp("updated_at", false),
	},
	Depends: []resource.Dependent{
		{Resource: "orders", Table: "orders", Column: "customer_id", Action: resource.SetNull},
		{Resource: "reservations", Table: "reservations", Column: "customer_id", Action: resource.SetNull},
		{Resource: "customer_messages", Table: "customer_messages", Column: "customer_id", Action: resource.SetNull},
	},
	OrderDoc: "by id",
}

// MenuCategories are the menu's sections.
var MenuCategories = &resource.Spec{
	Name: "menu_categories", Entity: "menu_category", Path: "/api/menu-categories", Table: "menu_categories",
	Kind: tenant.Restaurant, Doc: "Sections of the menu, shown by position.",
	Fields: []resource.Field{
		id(),
		{Name: "name", Type: resource.String, Required: true, Max: 80, Example: "Platos de fondo"},
		{Name: "position", Type: resource.Int, Min: resource.Int64(0), Max: 100000, Default: 0, Example: 2},
		{Name: "active", Type: resource.Bool, Filter: true, Default: true, Example: true},
		stamp("created_at", false),
	},
	Uniques: []resource.Unique{{Constraint: "menu_categories_name_key", Fields: []string{"name"}}},
	Depends: []resource.Dependent{
		{Resource: "menu_items", Table: "menu_items", Column: "category_id", Action: resource.Restrict},
	},
	OrderDoc: "by id",
}

// MenuItems are the dishes and drinks with their current price.
var MenuItems = &resource.Spec{
	Name: "menu_items", Entity: "menu_item", Path: "/api/menu-items", Table: "menu_items", Kind: tenant.Restaurant,
	Doc: "Dishes and drinks. One that was ever ordered cannot be deleted: set available to false.",
	Fields: []resource.Field{
		id(),
		{Name: "category_id", Type: resource.Ref, Ref: "menu_categories", Required: true, Filter: true, Example: 1},
		{Name: "name", Type: resource.String, Required: true, Max: 120, Example: "Pastel de choclo"},
		{Name: "description", Type: resource.String, Nullable: true, Example: "Con pino de carne y pollo"},
		{Name: "price_cents", Type: resource.Money, Required: true, Example: 8900},
		{Name: "available", Type: resource.Bool, Filter: true, Default: true, Example: true,
			Doc: "At every branch, unless a menu item branch overrides it."},
		stamp("created_at", false),
		stamp("updated_at", false),
	},
	Uniques: []resource.Unique{{Constraint: "menu_items_category_id_name_key", Fields: []string{"category_id", "name"}}},
	Depends: []resource.Dependent{
		{Resource: "order_items", Table: "order_items", Column: "menu_item_id", Action: resource.Restrict},
		{Resource: "menu_item_branches", Table: "menu_item_branches", Column: "menu_item_id", Action: resource.Cascade},
	},
	OrderDoc: "by id",
}

// MenuItemBranches override a menu item's availability at one branch.
var MenuItemBranches = &resource.Spec{
	Name: "menu_item_branches", Entity: "menu_item_branch", Path: "/api/menu-item-branches", Table: "menu_item_branches",
	Kind: tenant.Restaurant, Doc: "Availability of a menu item at one branch, overriding the item's own.",
	Fields: []resource.Field{
		id(),
		{Name: "menu_item_id", Type: resource.Ref, Ref: "menu_items", Required: true, Immutable: true, Filter: true, Example: 1},
		{Name: "branch_id", Type: resource.Ref, Ref: "branches", Required: true, Immutable: true, Filter: true, Example: 1},
		{Name: "available", Type: resource.Bool, Required: true, Filter: true, Example: false},
	},
	Uniques: []resource.Unique{{Constraint: "menu_item_branches_menu_item_id_branch_id_key",
		Fields: []string{"menu_item_id", "branch_id"}}},
	OrderDoc: "by id",
}

// Orders: created through the custom POST (items, captured prices,
// totals); PATCH changes notes, customer_id and status along the flow.
var Orders = &resource.Spec{
	Name: "orders", Entity: "order", Path: "/api/orders", Table: "orders", Kind: tenant.Restaurant,
	Doc: "Customer orders. Status flow: pending → confirmed → preparing → ready → delivered; cancelled from any state before delivered.",
	Fields: []resource.Field{
		id(),
		{Name: "branch_id", Type: resource.Ref, Ref: "branches", Required: true, Immutable: true, Filter: true, Example: 1},
		{Name: "customer_id", Type: resource.Ref, Ref: "customers", Nullable: true, Filter: true, Example: 1},
		{Name: "status", Type: resource.Enum, Enum: orderStatuses, Filter: true, Default: "pending", Example: "confirmed"},
		{Name: "order_type", Type: resource.Enum, Enum: []string{"dine_in", "takeaway", "delivery"}, Required: true,
			Immutable: true, Filter: true, Example: "takeaway"},
		{Name: "total_cents", Type: resource.Money, ReadOnly: true, Example: 17800,
			Doc: "Σ quantity × unit price of the items, computed by the server."},
		{Name: "notes", Type: resource.String, Nullable: true, Example: "Sin cebolla"},
		stamp("created_at", true),
		stamp("updated_at", false),
	},
	Depends: []resource.Dependent{
		{Resource: "order_items", Table: "order_items", Column: "order_id", Action: resource.Cascade},
		{Resource: "customer_messages", Table: "customer_messages", Column: "order_id", Action: resource.SetNull},
	},
	OrderDoc: "by id",
}

// OrderItems are an order's lines: not a route of their own (they come
// and go with their order), declared for decoding and the schema check.
var OrderItems = &resource.Spec{
	Name: "order_items", Entity: "order_item", Table: "order_items", Kind: tenant.Restaurant,
	Fields: []resource.Field{
		id(),
		{Name: "order_id", Type: resource.Ref, Ref: "orders", ReadOnly: true},
		{Name: "menu_item_id", Type: resource.Ref, Ref: "menu_items", Required: true, Example: 1},
		{Name: "quantity", Type: resource.Int, Required: true, Min: resource.Int64(1), Max: 1000, Example: 2},
		{Name: "unit_price_cents", Type: resource.Money, ReadOnly: true, Example: 8900,
			Doc: "The menu item's price when ordered."},
		{Name: "notes", Type: resource.String, Nullable: true, Max: 500, Example: "Bien cocido"},
	},
}

// Reservations: created and changed through custom routes that check the
// branch's capacity.
var Reservations = &resource.Spec{
	Name: "reservations", Entity: "reservation", Path: "/api/reservations", Table: "reservations", Kind: tenant.Restaurant,
	Doc: "Table reservations. A create or change that would put more than the branch's seats_per_slot guests of " +
		"active (pending, confirmed, seated) reservations in any slot of slot_minutes is refused with 409 capacity_exceeded. " +
		"Status flow: pending → confirmed → seated → completed; pending or confirmed → cancelled or no_show.",
	Fields: []resource.Field{
		id(),
		{Name: "branch_id", Type: resource.Ref, Ref: "branches", Required: true, Filter: true, Example: 1},
		{Name: "customer_id", Type: resource.Ref, Ref: "customers", Nullable: true, Filter: true, Example: 1},
		{Name: "customer_name", Type: resource.String, Max: 200, Example: "Familia Rojas",
			Doc: "Required unless customer_id is given (then defaults to the customer's name)."},
		{Name: "party_size", Type: resource.Int, Required: true, Min: resource.Int64(1), Max: 1000, Example: 4},
		{Name: "starts_at", Type: resource.Time, Required: true, Filter: true, Example: "2026-03-14T21:00:00-03:00"},
		{Name: "duration_minutes", Type: resource.Int, Min: resource.Int64(5), Max: 1440, Default: 90, Example: 90},
		{Name: "status", Type: resource.Enum, Enum: reservationStatuses, Filter: true, Default: "pending", Example: "confirmed",
			Doc: "A new reservation is pending or confirmed."},
		{Name: "notes", Type: resource.String, Nullable: true, Example: "Cumpleaños, mesa junto a la ventana"},
		stamp("created_at", false),
		stamp("updated_at", false),
	},
	OrderDoc: "by id",
	Check: func(v resource.Values, _ resource.Row, create bool) map[string]string {
		bad := map[string]string{}
		if n, ok := v.Get("customer_name"); ok && n == "" {
			bad["customer_name"] = "may not be empty"
		} else if cust, _ := v.Get("customer_id"); create && !ok && cust == nil {
			bad["customer_name"] = "is required unless customer_id is given"
		}
		if s, ok := v.Get("status"); create && ok && s != "pending" && s != "confirmed" {
			bad["status"] = "must be pending or confirmed for a new reservation"
		}
		return bad
	},
}

// CustomerMessages is the outbound messages log a messaging integration
// writes to; sent_by is the acting user.
var CustomerMessages = &resource.Spec{
	Name: "customer_messages", Entity: "customer_message", Path: "/api/customer-messages", Table: "customer_messages",
	Kind: tenant.Restaurant, Doc: "Outbound messages to customers (SMS verification codes, order updates…).",
	Fields: []resource.Field{
		id(),
		{Name: "branch_id", Type: resource.Ref, Ref: "branches", Nullable: true, Filter: true, Example: 1},
		{Name: "customer_id", Type: resource.Ref, Ref: "customers", Nullable: true, Filter: true, Example: 1},
		{Name: "order_id", Type: resource.Ref, Ref: "orders", Nullable: true, Filter: true},
		{Name: "channel", Type: resource.Enum, Enum: []string{"sms", "email", "whatsapp"}, Required: true, Filter: true, Example: "sms"},
		{Name: "purpose", Type: resource.Enum, Enum: []string{"verification", "order_update", "reservation", "marketing", "other"},
			Required: true, Filter: true, Example: "verification"},
		{Name: "recipient", Type: resource.String, Required: true, Max: 320, Example: "+56987654321"},
		{Name: "body", Type: resource.String, Max: 2000, Default: "", Example: "Su código de verificación es 482913"},
		{Name: "status", Type: resource.Enum, Enum: []string{"queued", "sent", "delivered", "failed"}, Filter: true,
			Default: "queued", Example: "sent"},
		{Name: "provider_ref", Type: resource.String, Nullable: true, Max: 200, Example: "SM5f2c"},
		{Name: "error", Type: resource.String, Nullable: true, Max: 2000},
		{Name: "sent_by", Type: resource.Ref, Ref: "users", ByUser: true, Nullable: true, Filter: true},
		stamp("created_at", true),
		stamp("updated_at", false),
	},
	OrderDoc: "by id",
}

// Specs are the resources the restaurant API serves (OrderItems comes
// with Orders).
var Specs = []*resource.Spec{Branches, Customers, MenuCategories, MenuItems, MenuItemBranches, Orders,
	Reservations, CustomerMessages}
