// Package resourcehttp serves resource.Spec resources on a tenant host:
// GET (list, with filters and a cursor) and POST on the collection, GET,
// PATCH and DELETE on an item, each behind authentication and the
// data.read or data.write permission, only on tenants of the Spec's kind
// (the other kind gets 404 route_not_found, as for a route that does not
// exist). Every write runs in one transaction with its audit row.
//
// Custom routes (an order's status change, a reservation's capacity
// check) use the same pieces: Handle registers and documents a route,
// Write runs a transaction with its audit entry.
package resourcehttp

import (
	"context"
	"log/slog"
	"mime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/audit"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/httpx"
	"github.com/tenancy/platform/tenant/resource"
	"github.com/tenancy/platform/tenant/resource/resourcepg"
)

// Pools hands out connections to tenant databases (tenant/pool).
type Pools interface {
	Acquire(ctx context.Context, t *tenant.Tenant) (*pgxpool.Conn, error)
}

// Config wires the API.
type Config struct {
	Pools        Pools
	Tenant       func(*fiber.Ctx) *tenant.Tenant  // router.FromContext
	Authenticate fiber.Handler                    // authhttp.Handlers.Authenticate()
	Principal    func(*fiber.Ctx) *auth.Principal // authhttp.Principal
	Require      func(perm string) fiber.Handler  // authhttp.Require
	Proxies      httpx.Proxies                    // for the client address in the audit
	Logger       *slog.Logger
}

// Route is one documented route, for the OpenAPI document.
type Route struct {
	Method, Path string // Path in OpenAPI form: /api/branches/{id}
	Kind         tenant.Kind
	Perm         string
	Op           Op
	Spec         *resource.Spec // the resource it serves; nil for a custom body
	Summary      string
	// Request and Response name custom schemas (Op Custom): a Go value the
	// document's generator reflects, and an example request.
	Request, Response any
	Example           any
	Status            int // the success status
	// Query documents a custom route's query parameters (name, type and
	// rules as a resource field's), for the OpenAPI document.
	Query []resource.Field
	// Generic: one of the five routes Mount gives a spec, served by the
	// engine alone; a custom handler with the same Op has rules of its own
	// (a reservation's capacity check) that other writers must not skip.
	Generic bool
}

// Op is what a route does.
type Op string

const (
	OpList   Op = "list"
	OpGet    Op = "get"
	OpCreate Op = "create"
	OpUpdate Op = "update"
	OpDelete Op = "delete"
	OpCustom Op = "custom"
)

// API serves resources; New returns it.
type API struct {
	bufs   sync.Pool // *[]byte: response bodies being encoded
	cfg    Config
	specs  map[string]*resource.Spec
	routes []Route
}

// New returns an API with cfg.
func New(cfg Config) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &API{cfg: cfg, specs: map[string]*resource.Spec{}}
}

// Routes returns every route mounted, in order.
func (a *API) Routes() []Route { return a.routes }

// Specs returns the resources mounted by name.
func (a *API) Specs() map[string]*resource.Spec { return a.specs }

// errNoRoute is what a route of the other kind answers: the same as a
// route that does not exist.
var errNoRoute = tenant.Errorf(httpx.ERouteNotFound, "no such route")

// kindGate answers 404 route_not_found on a tenant of another kind.
func (a *API) kindGate(kind tenant.Kind) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if t := a.cfg.Tenant(c); t == nil || t.Kind != kind {
			return errNoRoute
		}
		return c.Next()
	}
}

// Handle registers a route of kind behind authentication and perm, and
// records it for the document. path is in Fiber form (/api/orders/:id).
func (a *API) Handle(r fiber.Router, rt Route, h fiber.Handler) {
	rt.Path = openAPIPath(rt.Path)
	a.routes = append(a.routes, rt)
	r.Add(rt.Method, fiberPath(rt.Path), a.kindGate(rt.Kind), a.cfg.Authenticate, a.cfg.Require(rt.Perm), h)
}

func openAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

func fiberPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			parts[i] = ":" + s[1:len(s)-1]
		}
	}
	return strings.Join(parts, "/")
}

// Mount serves the five routes of each spec on r.
func (a *API) Mount(r fiber.Router, specs ...*resource.Spec) {
	for _, s := range specs {
		a.MountExcept(r, s)
	}
}

// MountExcept serves s's routes but those of the ops in custom, which the
// caller serves itself through Handle (an order's create with its items, a
// reservation's capacity-checked writes); s counts as mounted (Specs).
func (a *API) MountExcept(r fiber.Router, s *resource.Spec, custom ...Op) {
	a.specs[s.Name] = s
	item := s.Path + "/{id}"
	for _, rt := range []struct {
		route Route
		h     fiber.Handler
	}{
		{Route{Method: fiber.MethodGet, Path: s.Path, Perm: auth.PermDataRead, Op: OpList,
			Summary: "List " + resource.Words(s.Name), Status: fiber.StatusOK}, a.list(s)},
		{Route{Method: fiber.MethodPost, Path: s.Path, Perm: auth.PermDataWrite, Op: OpCreate,
			Summary: "Create a " + resource.Singular(s.Name), Status: fiber.StatusCreated}, a.create(s)},
		{Route{Method: fiber.MethodGet, Path: item, Perm: auth.PermDataRead, Op: OpGet,
			Summary: "Get a " + resource.Singular(s.Name), Status: fiber.StatusOK}, a.get(s)},
		{Route{Method: fiber.MethodPatch, Path: item, Perm: auth.PermDataWrite, Op: OpUpdate,
			Summary: "Change a " + resource.Singular(s.Name), Status: fiber.StatusOK}, a.update(s)},
		{Route{Method: fiber.MethodDelete, Path: item, Perm: auth.PermDataWrite, Op: OpDelete,
			Summary: "Delete a " + resource.Singular(s.Name), Status: fiber.StatusOK}, a.delete(s)},
	} {
		if slices.Contains(custom, rt.route.Op) {
			continue
		}
		rt.route.Kind, rt.route.Spec, rt.route.Generic = s.Kind, s, true
		a.Handle(r, rt.route, rt.h)
	}
}

// Conn runs fn on a connection to the request's tenant database.
func (a *API) Conn(c *fiber.Ctx, fn func(ctx context.Context, db *pgxpool.Conn) error) error {
	ctx := c.UserContext()
	conn, err := a.cfg.Pools.Acquire(ctx, a.cfg.Tenant(c))
	if err != nil {
		return err
	}
	defer conn.Release()
	return fn(ctx, conn)
}

// Change is what a write did, for its audit row.
type Change struct {
	Action   string // e.g. "branch.create"
	Entity   string
	EntityID string
	Details  map[string]any
}

// Write runs fn in a transaction of the tenant database and records its
// audit row in the same transaction: both happen or neither. fn's first
// statement carries the BEGIN, the audit row the COMMIT (txConn), so fn
// must close what it queries before its next statement, as resourcepg
// does.
func (a *API) Write(c *fiber.Ctx, fn func(ctx context.Context, tx resourcepg.DBTX) (Change, error)) error {
	return a.Conn(c, func(ctx context.Context, db *pgxpool.Conn) error {
		tx := &txConn{conn: db}
		ch, err := fn(ctx, tx)
		if err != nil {
			tx.rollback(ctx)
			return err
		}
		if err := tx.commit(ctx, a.entry(c, ch)); err != nil {
			tx.rollback(ctx)
			return err
		}
		return nil
	})
}

// entry is the audit entry of ch on behalf of the request's principal.
func (a *API) entry(c *fiber.Ctx, ch Change) audit.Entry {
	e := audit.Entry{Action: ch.Action, Entity: ch.Entity, EntityID: ch.EntityID, Details: ch.Details,
		IP: httpx.ClientIP(c, a.cfg.Proxies), UserAgent: string(c.Request().Header.UserAgent()),
		RequestID: httpx.RequestID(c)}
	if p := a.cfg.Principal(c); p != nil {
		id := p.UserID
		e.UserID, e.Actor = &id, p.Username
	}
	return e
}

// ID reads the :id parameter: a positive integer, or 404 for s.
func ID(c *fiber.Ctx, s *resource.Spec) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, tenant.Errorf(tenant.ENotFound, "no %s with id %q", resource.Singular(s.Name), c.Params("id"))
	}
	return id, nil
}

var errNotJSON = tenant.Errorf(tenant.EInvalid, "the request body must be JSON (Content-Type: application/json)")

// Body returns the request's JSON body; another Content-Type is refused
// (a browser posts forms cross-site without a preflight).
func Body(c *fiber.Ctx) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return nil, errNotJSON
	}
	return c.Body(), nil
}

func (a *API) list(s *resource.Spec) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var names []string
		c.Context().QueryArgs().VisitAll(func(k, _ []byte) { names = append(names, string(k)) })
		p, err := resource.ParseList(s, names, func(k string) string { return c.Query(k) })
		if err != nil {
			return err
		}
		return a.Conn(c, func(ctx context.Context, db *pgxpool.Conn) error {
			var lerr error
			err := a.sendJSON(c, func(b []byte) []byte {
				b, lerr = resourcepg.AppendList(ctx, db, s, p, b)
				return b
			})
			if lerr != nil {
				c.Response().ResetBody()
				return lerr
			}
			return err
		})
	}
}

func (a *API) get(s *resource.Spec) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := ID(c, s)
		if err != nil {
			return err
		}
		var row resource.Row
		err = a.Conn(c, func(ctx context.Context, db *pgxpool.Conn) error {
			row, err = resourcepg.Get(ctx, db, s, id, false)
			return err
		})
		if err != nil {
			return err
		}
		return a.sendJSON(c, row.AppendJSON)
	}
}

func (a *API) create(s *resource.Spec) fiber.Handler {
	return func(c *fiber.Ctx) error {
		body, err := Body(c)
		if err != nil {
			return err
		}
		v, err := resource.Decode(s, body, nil)
		if err != nil {
			return err
		}
		row, err := a.CreateRow(c, s, v)
		if err != nil {
			return err
		}
		c.Location(s.Path + "/" + strconv.FormatInt(row.ID(), 10))
		c.Status(fiber.StatusCreated)
		return a.sendJSON(c, row.AppendJSON)
	}
}

func (a *API) update(s *resource.Spec) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := ID(c, s)
		if err != nil {
			return err
		}
		body, err := Body(c)
		if err != nil {
			return err
		}
		row, _, err := a.UpdateRow(c, s, id, body)
		if err != nil {
			return err
		}
		return a.sendJSON(c, row.AppendJSON)
	}
}

// CreateRow stores v (decoded by resource.Decode) as a new row of s on
// behalf of the request's principal, who is set on the ByUser fields: the
// row and its audit row in one statement (one round trip, one implicit
// transaction; the audit row takes the new row's id). The API's create
// and the web console's form both write through it.
func (a *API) CreateRow(c *fiber.Ctx, s *resource.Spec, v resource.Values) (resource.Row, error) {
	if p := a.cfg.Principal(c); p != nil {
		for _, f := range s.Fields {
			if f.ByUser {
				v.Set(f.Name, p.UserID)
			}
		}
	}
	e := a.entry(c, Change{Action: s.Entity + ".create", Entity: s.Entity, Details: map[string]any{"fields": v.Names}})
	var row resource.Row
	err := a.Conn(c, func(ctx context.Context, db *pgxpool.Conn) error {
		var err error
		row, err = resourcepg.CreateWith(ctx, db, s, v, func(first int) (string, []any, error) {
			return audit.InsertFrom(e, first, resourcepg.Inserted+".id::text", resourcepg.Inserted)
		})
		return err
	})
	return row, err
}

// UpdateRow changes the row with id of s by the JSON body, decoded against
// the row locked in the transaction, with its audit row. It also returns
// the row as it was (zero when it was not found), for a form that shows
// the decode's errors beside the stored values.
func (a *API) UpdateRow(c *fiber.Ctx, s *resource.Spec, id int64, body []byte) (row, cur resource.Row, err error) {
	err = a.Write(c, func(ctx context.Context, tx resourcepg.DBTX) (Change, error) {
		var err error
		if cur, err = resourcepg.Get(ctx, tx, s, id, true); err != nil {
			return Change{}, err
		}
		v, err := resource.Decode(s, body, &cur)
		if err != nil {
			return Change{}, err
		}
		if row, err = resourcepg.Update(ctx, tx, s, id, v); err != nil {
			return Change{}, err
		}
		return Change{Action: s.Entity + ".update", Entity: s.Entity, EntityID: strconv.FormatInt(id, 10),
			Details: map[string]any{"fields": v.Names}}, nil
	})
	return row, cur, err
}

// DeleteRow deletes the row with id of s (resourcepg.Delete: restricted →
// in_use, cascades counted) with its audit row listing the cascades.
func (a *API) DeleteRow(c *fiber.Ctx, s *resource.Spec, id int64) (resourcepg.Deleted, error) {
	var d resourcepg.Deleted
	err := a.Write(c, func(ctx context.Context, tx resourcepg.DBTX) (Change, error) {
		var err error
		if d, err = resourcepg.Delete(ctx, tx, a.specs, s, id); err != nil {
			return Change{}, err
		}
		return Change{Action: s.Entity + ".delete", Entity: s.Entity, EntityID: strconv.FormatInt(id, 10),
			Details: map[string]any{"cascaded": cascadeList(d.Cascaded)}}, nil
	})
	return d, err
}

// DeleteResult is a delete's answer: what went, cascades counted.
type DeleteResult struct {
	Deleted  DeletedRef       `json:"deleted"`
	Cascaded map[string]int64 `json:"cascaded"`
}

// DeletedRef names the deleted row.
type DeletedRef struct {
	Resource string `json:"resource"`
	ID       int64  `json:"id"`
}

func (a *API) delete(s *resource.Spec) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := ID(c, s)
		if err != nil {
			return err
		}
		d, err := a.DeleteRow(c, s, id)
		if err != nil {
			return err
		}
		return c.JSON(DeleteResult{Deleted: DeletedRef{Resource: s.Name, ID: id}, Cascaded: d.Cascaded})
	}
}

// CascadeCount is one kind of dependents a delete took with it, as its
// audit row lists them.
type CascadeCount struct {
	Resource string `json:"resource"`
	Count    int64  `json:"count"`
}

// cascadeList is the audit's form of a delete's cascades: the resources are
// values, not keys, since the audit drops keys that look like secrets
// ("tutoring_sessions" contains "session"). In resource order.
func cascadeList(m map[string]int64) []CascadeCount {
	out := make([]CascadeCount, 0, len(m))
	for k, n := range m {
		out = append(out, CascadeCount{Resource: k, Count: n})
	}
	slices.SortFunc(out, func(a, b CascadeCount) int { return strings.Compare(a.Resource, b.Resource) })
	return out
}

// sendJSON answers with the JSON enc appends (no reflection; see
// resource.Row.AppendJSON), built in a pooled buffer and copied into the
// response's own: a raw body must not alias a buffer that is reused.
func (a *API) sendJSON(c *fiber.Ctx, enc func([]byte) []byte) error {
	bp, _ := a.bufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 0, 16<<10)
		bp = &b
	}
	b := enc((*bp)[:0])
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Response().SetBody(b)
	if cap(b) <= 1<<20 { // a huge page's buffer is not kept
		*bp = b
		a.bufs.Put(bp)
	}
	return nil
}
