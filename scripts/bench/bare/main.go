// Command bare is the baseline for the router figures in
// docs/BENCHMARKS.md (scripts/bench/router, scripts/bench/domain): a bare
// Fiber app with one pgx pool, serving GET /api/tenant/db with exactly the
// query and JSON of the platform's handler (tenant/router), and a typical
// list and write of the restaurant API (GET /api/menu-items?limit=50,
// POST /api/customers with its audit row in the same transaction) with the
// same SQL as tenant/resource, but without host resolution, per-tenant
// pools, a connection budget, authentication or validation.
//
// Environment: DATABASE_URL (required) and ADDR (default 127.0.0.1:18090).
package main

import (
	"context"
	"log"
	"os"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		log.Fatal("DATABASE_URL is not set")
	}
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = "127.0.0.1:18090"
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		log.Fatalf("DATABASE_URL: %v", err)
	}
	cfg.MaxConns = 4 // as a tenant pool
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/api/tenant/db", func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		var db string
		var version int64
		err := pool.QueryRow(ctx, `SELECT current_database(), coalesce((SELECT version FROM schema_migrations LIMIT 1), 0)`).Scan(&db, &version)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"database": db, "schema_version": version})
	})
	domain(app, pool)
	if err := app.Listen(addr); err != nil {
		log.Fatal(err)
	}
}
