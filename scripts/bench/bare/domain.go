package main

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// menuColumns and customerColumns are the restaurant specs' fields
// (tenant/restaurant), selected and returned as the platform does; the
// rows are scanned into structs and encoded with encoding/json, as a
// hand-written handler would.
const (
	menuColumns     = `"id", "category_id", "name", "description", "price_cents", "available", "created_at", "updated_at"`
	customerColumns = `"id", "name", "phone", "email", "notes", "created_at", "updated_at"`
)

type menuItem struct {
	ID          int64     `json:"id"`
	CategoryID  int64     `json:"category_id"`
	Name        string    `json:"name"`
	Description *string   `json:"description"`
	PriceCents  int64     `json:"price_cents"`
	Available   bool      `json:"available"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

type customer struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Phone     *string   `json:"phone"`
	Email     *string   `json:"email"`
	Notes     *string   `json:"notes"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type page struct {
	Items      []menuItem `json:"items"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

func domain(app *fiber.App, pool *pgxpool.Pool) {
	app.Get("/api/menu-items", func(c *fiber.Ctx) error {
		limit, err := strconv.Atoi(c.Query("limit", "50"))
		if err != nil || limit < 1 || limit > 200 {
			return fiber.ErrBadRequest
		}
		rows, err := pool.Query(c.UserContext(), `SELECT `+menuColumns+` FROM "menu_items" ORDER BY id LIMIT $1`, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		p := page{Items: []menuItem{}}
		for rows.Next() {
			var m menuItem
			if err := rows.Scan(&m.ID, &m.CategoryID, &m.Name, &m.Description, &m.PriceCents, &m.Available, &m.CreatedAt, &m.UpdatedAt); err != nil {
				return err
			}
			p.Items = append(p.Items, m)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(p.Items) > limit {
			p.Items = p.Items[:limit]
			p.NextCursor = strconv.FormatInt(p.Items[limit-1].ID, 10)
		}
		return c.JSON(p)
	})
	app.Post("/api/customers", func(c *fiber.Ctx) error {
		var in struct {
			Name  string  `json:"name"`
			Phone *string `json:"phone"`
			Email *string `json:"email"`
		}
		if err := json.Unmarshal(c.Body(), &in); err != nil {
			return fiber.ErrBadRequest
		}
		var out customer
		err := pgx.BeginFunc(c.UserContext(), pool, func(tx pgx.Tx) error {
			err := tx.QueryRow(c.UserContext(), `INSERT INTO "customers" ("name", "phone", "email") VALUES ($1, $2, $3) RETURNING `+customerColumns,
				in.Name, in.Phone, in.Email).Scan(&out.ID, &out.Name, &out.Phone, &out.Email, &out.Notes, &out.CreatedAt, &out.UpdatedAt)
			if err != nil {
				return err
			}
			_, err = tx.Exec(c.UserContext(), `INSERT INTO audit_log
				(user_id, actor, action, entity, entity_id, outcome, ip, user_agent, request_id, details)
				VALUES ((SELECT id FROM users WHERE id = $1), $2, $3, $4, $5, $6, $7::inet, $8, $9, $10::jsonb)`,
				1, "admin", "customer.create", "customer", strconv.FormatInt(out.ID, 10), "success",
				"127.0.0.1", "wrk", "bare", `{"fields":["name","phone","email"]}`)
			return err
		})
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(out)
	})
}
