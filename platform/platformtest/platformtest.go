// Package platformtest gives tests the real services: an admin handle on
// the test PostgreSQL server, a catalog cloned from a migrated template
// per test, Vault, and unique names that tests running at once never
// share. `make test` starts the services (scripts/dev-services) and sets
// the environment; a test without them fails rather than skips.
package platformtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
	"github.com/jackc/pgx/v5"

	vaultpolicy "github.com/tenancy/platform/deploy/vault"
	"github.com/tenancy/platform/migrations"
	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
)

// Getenv returns a required environment variable or fails the test.
func Getenv(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run `make test`, or `scripts/dev-services up && eval \"$(scripts/dev-services env)\"` first", name)
	}
	return v
}

// Context returns a context that ends with the test.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// Rand returns n random lower-case hex characters for unique names.
func Rand(n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// Slug returns a tenant slug no other test uses: prefix-<random>.
func Slug(prefix string) string { return prefix + "-" + Rand(8) }

// AdminURL is the superuser-capable URL of the test database server.
func AdminURL(t testing.TB) string { return Getenv(t, "PLATFORM_DB_ADMIN_URL") }

// Admin returns an admin handle on the test database server.
func Admin(t testing.TB) *pgadmin.Server {
	t.Helper()
	s, err := pgadmin.Open(Context(t), AdminURL(t))
	if err != nil {
		t.Fatalf("open admin connection: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// URLFor returns the admin URL pointed at another database.
func URLFor(t testing.TB, database string) string {
	t.Helper()
	c, err := pgx.ParseConfig(AdminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	auth := c.User
	if c.Password != "" {
		auth += ":" + c.Password
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", auth, c.Host, c.Port, database)
}

// catalogTemplate is named after the catalog migrations, so a change to
// them makes a new template instead of reusing a stale one.
func catalogTemplate() string {
	h := sha256.New()
	fs.WalkDir(migrations.Catalog(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(migrations.Catalog(), p)
			h.Write([]byte(p))
			h.Write(b)
		}
		return nil
	})
	return "platformtest_catalog_" + hex.EncodeToString(h.Sum(nil))[:12]
}

// Catalog returns a catalog of the test's own, cloned from a migrated
// template, and its URL; the database is dropped when the test ends.
func Catalog(t testing.TB) (*catalog.DB, string) {
	t.Helper()
	ctx := Context(t)
	admin := Admin(t)
	tpl := catalogTemplate()
	name := "platformtest_cat_" + Rand(10)
	err := withServerLock(ctx, t, "platformtest catalog template", func() error {
		ok, err := admin.DatabaseExists(ctx, tpl)
		if err != nil {
			return err
		}
		if !ok {
			building := tpl + "_build"
			if err := admin.DropDatabase(ctx, building); err != nil {
				return err
			}
			if err := admin.CreateDatabase(ctx, building, admin.ConnConfig("", "").User); err != nil {
				return err
			}
			db, err := catalog.Open(ctx, URLFor(t, building))
			if err != nil {
				return err
			}
			db.Close()
			if err := admin.In(ctx, "postgres", "", func(c *pgx.Conn) error {
				_, err := c.Exec(ctx, "ALTER DATABASE "+pgadmin.Ident(building)+" RENAME TO "+pgadmin.Ident(tpl))
				return err
			}); err != nil {
				return err
			}
		}
		return admin.CloneDatabase(ctx, name, tpl, admin.ConnConfig("", "").User)
	})
	if err != nil {
		t.Fatalf("clone catalog: %v", err)
	}
	t.Cleanup(func() { admin.DropDatabase(context.Background(), name) })
	url := URLFor(t, name)
	db, err := catalog.Open(ctx, url)
	if err != nil {
		t.Fatalf("open catalog: %v", err)
	}
	t.Cleanup(db.Close)
	return db, url
}

// withServerLock serialises test processes on the whole server (their
// catalogs differ, so a catalog lock would not do).
func withServerLock(ctx context.Context, t testing.TB, key string, fn func() error) error {
	conn, err := pgx.Connect(ctx, AdminURL(t))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtext($1))`, key); err != nil {
		return err
	}
	return fn()
}

// VaultClient returns a client of the test Vault.
func VaultClient(t testing.TB) *vault.Client {
	t.Helper()
	c, err := secrets.NewClient(Getenv(t, "VAULT_ADDR"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(Getenv(t, "VAULT_TOKEN"))
	return c
}

// Vault returns a secrets store on the test Vault.
func Vault(t testing.TB) *secrets.Store { return secrets.NewStore(VaultClient(t), "") }

// VaultDenied says whether err is Vault refusing a call (403), from the
// Vault client itself or through platform/secrets, which turns a 403
// into an unavailable error naming it (Store.wrap).
func VaultDenied(err error) bool {
	var re *vault.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode == http.StatusForbidden
	}
	return tenant.ErrorCode(err) == tenant.EUnavailable && strings.Contains(err.Error(), "permission denied")
}

// TemplatePrefix returns a template-database prefix of the test's own and
// drops its templates and owner role when the test ends (register it
// before anything that clones from them, so it is cleaned up last).
func TemplatePrefix(t testing.TB, admin *pgadmin.Server) string {
	prefix := "pt_" + Rand(8) + "_"
	t.Cleanup(func() {
		ctx := context.Background()
		for _, k := range []string{"restaurant", "institution"} {
			admin.DropDatabase(ctx, prefix+k)
		}
		if err := admin.DropRole(ctx, prefix+"owner"); err != nil && !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("drop template owner: %v", err)
		}
	})
	return prefix
}

// PeakConnections samples, on a connection of its own and about every
// millisecond, how many rows of pg_stat_activity match where (an SQL
// condition that may use $1, given as arg) until the returned stop is
// called; stop returns the highest count seen.
func PeakConnections(t testing.TB, where string, arg any) (stop func() int) {
	t.Helper()
	conn, err := pgx.Connect(Context(t), AdminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	quit, done := make(chan struct{}), make(chan int)
	go func() {
		defer conn.Close(context.Background())
		peak := 0
		for {
			select {
			case <-quit:
				done <- peak
				return
			default:
			}
			var n int
			if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE `+where, arg).Scan(&n); err != nil {
				t.Errorf("sample pg_stat_activity: %v", err)
				done <- peak
				return
			}
			peak = max(peak, n)
			time.Sleep(time.Millisecond)
		}
	}()
	var once sync.Once
	var peak int
	return func() int {
		once.Do(func() { close(quit); peak = <-done })
		return peak
	}
}

// AppRole makes an AppRole of the test's own on the test Vault with the
// platform's policy (deploy/vault/platform.hcl) and the given token TTLs,
// and returns its role and secret ids.
func AppRole(t testing.TB, ttl, maxTTL time.Duration) (roleID, secretID string) {
	t.Helper()
	ctx := Context(t)
	c := VaultClient(t)
	auths, err := c.Sys().ListAuthWithContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := auths["approle/"]; !ok {
		if err := c.Sys().EnableAuthWithOptionsWithContext(ctx, "approle", &vault.EnableAuthOptions{Type: "approle"}); err != nil && !strings.Contains(err.Error(), "already in use") {
			t.Fatal(err)
		}
	}
	name := "platformtest-" + Rand(8)
	// The production policy, so that what runs with this AppRole (serve
	// and the migrate Job of charts/charttest, cmd/platform) proves it too.
	if err := c.Sys().PutPolicyWithContext(ctx, name, vaultpolicy.PlatformPolicy()); err != nil {
		t.Fatal(err)
	}
	_, err = c.Logical().WriteWithContext(ctx, "auth/approle/role/"+name, map[string]any{
		"token_policies": name, "token_ttl": ttl.String(), "token_max_ttl": maxTTL.String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Logical().Delete("auth/approle/role/" + name)
		c.Sys().DeletePolicy(name)
	})
	r, err := c.Logical().ReadWithContext(ctx, "auth/approle/role/"+name+"/role-id")
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Logical().WriteWithContext(ctx, "auth/approle/role/"+name+"/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	return r.Data["role_id"].(string), s.Data["secret_id"].(string)
}

// Eventually polls cond every few milliseconds until it holds or timeout
// passes, then fails the test with what. Tests order events by what they
// can observe, never by a sleep.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for wait := time.Millisecond; !cond(); wait = min(2*wait, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, what)
		}
		time.Sleep(wait)
	}
}
