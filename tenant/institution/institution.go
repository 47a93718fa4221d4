// Package institution is the educational institution domain's API:
// periods, programs and their subjects, groups, teachers, schedules,
// teaching loads, tutoring and prefecture reports, served only on
// institution tenants.
package institution

import (
	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant/resource/resourcehttp"
)

// Mount serves the institution routes on r.
func Mount(api *resourcehttp.API, r fiber.Router) {}
