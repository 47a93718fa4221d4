package apidoc

import (
	"sync"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/httpx"
	"github.com/tenancy/platform/tenant/resource/resourcehttp"
	"github.com/tenancy/platform/tenant/router"
)

// docs caches each kind's document: built once, on its first request,
// when every route has been mounted (Mount may run before the kinds').
type docs struct {
	api   *resourcehttp.API
	kinds map[tenant.Kind]*kindDoc
}

type kindDoc struct {
	once sync.Once
	b    []byte
	err  error
}

// Mount serves GET /api/openapi.json on r (inside the router's tenant
// context): the document of the request tenant's kind, without
// authentication: it describes the API, it holds no tenant data.
func Mount(api *resourcehttp.API, r fiber.Router) {
	d := &docs{api: api, kinds: map[tenant.Kind]*kindDoc{}}
	for _, k := range tenant.Kinds {
		d.kinds[k] = &kindDoc{}
	}
	r.Get(Path, d.serve)
}

var errNoDoc = tenant.Errorf(httpx.ERouteNotFound, "no such route")

func (d *docs) serve(c *fiber.Ctx) error {
	t := router.FromContext(c)
	if t == nil {
		return errNoDoc
	}
	kd := d.kinds[t.Kind]
	if kd == nil {
		return errNoDoc
	}
	kd.once.Do(func() { kd.b, kd.err = Document(t.Kind, d.api, Identity()) })
	if kd.err != nil {
		// A route the generator cannot describe: a bug, logged with the
		// request; the user sees internal.
		return kd.err
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(kd.b)
}
