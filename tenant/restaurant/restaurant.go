// Package restaurant is the restaurant domain's API: branches, customers,
// the menu, orders and reservations, and the customer messages log,
// served only on restaurant tenants.
package restaurant

import (
	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant/resource/resourcehttp"
)

// Mount serves the restaurant routes on r.
func Mount(api *resourcehttp.API, r fiber.Router) {}
