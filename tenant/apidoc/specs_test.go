package apidoc_test

import (
	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/resource"
	"github.com/tenancy/platform/tenant/resource/resourcehttp"
)

// Specs of both kinds with every field type, and a custom route: the
// generator's own cases, whatever the kinds' APIs hold.
var (
	categories = &resource.Spec{Name: "doctest_categories", Entity: "doctest_category", Path: "/api/doctest/categories",
		Table: "menu_categories", Kind: tenant.Restaurant, OrderDoc: "by id", Doc: "Sections of the menu.",
		Fields: []resource.Field{
			{Name: "id", Type: resource.Int, ReadOnly: true},
			{Name: "name", Type: resource.String, Required: true, Max: 80, Example: "Entradas"},
			{Name: "position", Type: resource.Int, Min: resource.Int64(0), Filter: true},
			{Name: "active", Type: resource.Bool, Filter: true, Default: true},
			{Name: "created_at", Type: resource.Time, ReadOnly: true},
		},
		Depends: []resource.Dependent{{Resource: "doctest_items", Table: "menu_items", Column: "category_id", Action: resource.Restrict}},
	}
	items = &resource.Spec{Name: "doctest_items", Entity: "doctest_item", Path: "/api/doctest/items", Table: "menu_items",
		Kind: tenant.Restaurant,
		Fields: []resource.Field{
			{Name: "id", Type: resource.Int, ReadOnly: true},
			{Name: "category_id", Type: resource.Ref, Ref: "doctest_categories", Required: true, Filter: true, Immutable: true},
			{Name: "name", Type: resource.String, Required: true},
			{Name: "description", Type: resource.String, Nullable: true, Example: "Con pebre"},
			{Name: "price_cents", Type: resource.Money, Required: true, Example: 3500},
			{Name: "contact", Type: resource.Email, Nullable: true},
			{Name: "phone", Type: resource.Phone, Nullable: true, Example: "+56 2 2345 6789"},
			{Name: "size", Type: resource.Enum, Enum: []string{"small", "large"}, Nullable: true, Filter: true},
			{Name: "extra", Type: resource.JSON, Nullable: true},
			{Name: "created_by", Type: resource.Ref, Ref: "users", ByUser: true},
		},
	}
	periods = &resource.Spec{Name: "doctest_periods", Entity: "doctest_period", Path: "/api/doctest/periods", Table: "periods",
		Kind: tenant.Institution,
		Fields: []resource.Field{
			{Name: "id", Type: resource.Int, ReadOnly: true},
			{Name: "name", Type: resource.String, Required: true, Example: "2026-1"},
			{Name: "starts_on", Type: resource.Date, Required: true, Filter: true, Example: "2026-03-02"},
			{Name: "ends_on", Type: resource.Date, Required: true, Example: "2026-07-31"},
			{Name: "closed_at", Type: resource.Time, Nullable: true, Filter: true},
		},
		Depends: []resource.Dependent{{Resource: "groups", Table: "groups", Column: "period_id", Action: resource.Cascade}},
	}
)

// closeRequest is a custom route's body.
type closeRequest struct {
	Reason string  `json:"reason"`
	Note   *string `json:"note,omitempty"`
}

type closeResponse struct {
	Closed  bool             `json:"closed"`
	Counted map[string]int64 `json:"counted"`
}

func testMount(api *resourcehttp.API, r fiber.Router) {
	api.Mount(r, categories, items, periods)
	api.Handle(r, resourcehttp.Route{Method: fiber.MethodPost, Path: "/api/doctest/periods/{id}/close", Kind: tenant.Institution,
		Perm: auth.PermDataWrite, Op: resourcehttp.OpCustom, Spec: periods, Status: fiber.StatusOK, Summary: "Close a period",
		Request: closeRequest{}, Response: closeResponse{}, Example: closeRequest{Reason: "fin de semestre"},
		Query: []resource.Field{{Name: "dry_run", Type: resource.Bool, Doc: "count only"}},
	}, func(c *fiber.Ctx) error { return fiber.ErrNotImplemented })
}
