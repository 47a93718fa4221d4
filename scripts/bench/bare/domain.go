package main

import (
	"encoding/json"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// menuColumns and customerColumns are the restaurant specs' fields
// (tenant/restaurant), selected and returned as the platform does.
const (
	menuColumns     = `"id", "category_id", "name", "description", "price_cents", "available", "created_at", "updated_at"`
	customerColumns = `"id", "name", "phone", "email", "notes", "created_at", "updated_at"`
)

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
		items, err := collect(rows)
		if err != nil {
			return err
		}
		next := ""
		if len(items) > limit {
			items = items[:limit]
			next = "next"
		}
		return c.JSON(fiber.Map{"items": items, "next_cursor": next})
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
		var out []map[string]any
		err := pgx.BeginFunc(c.UserContext(), pool, func(tx pgx.Tx) error {
			rows, err := tx.Query(c.UserContext(), `INSERT INTO "customers" ("name", "phone", "email") VALUES ($1, $2, $3) RETURNING `+customerColumns,
				in.Name, in.Phone, in.Email)
			if err != nil {
				return err
			}
			if out, err = collect(rows); err != nil {
				return err
			}
			_, err = tx.Exec(c.UserContext(), `INSERT INTO audit_log
				(user_id, actor, action, entity, entity_id, outcome, ip, user_agent, request_id, details)
				VALUES ((SELECT id FROM users WHERE id = $1), $2, $3, $4, $5, $6, $7::inet, $8, $9, $10::jsonb)`,
				1, "admin", "customer.create", "customer", strconv.FormatInt(out[0]["id"].(int64), 10), "success",
				"127.0.0.1", "wrk", "bare", `{"fields":["name","phone","email"]}`)
			return err
		})
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(out[0])
	})
}

func collect(rows pgx.Rows) ([]map[string]any, error) {
	defer rows.Close()
	cols := rows.FieldDescriptions()
	var out []map[string]any
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		m := make(map[string]any, len(vals))
		for i, v := range vals {
			m[cols[i].Name] = v
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
