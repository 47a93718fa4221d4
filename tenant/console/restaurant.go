package console

import "github.com/gofiber/fiber/v2"

// restaurantTemplates are the restaurant screens' templates: the orders
// board and order forms, the reservations of a day and their forms.
var restaurantTemplates []string

// restaurantRoutes adds the restaurant screens (restaurant tenants only).
func (s *Console) restaurantRoutes(r fiber.Router) {}
