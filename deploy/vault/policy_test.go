package vault_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/backup"
	"github.com/tenancy/platform/platform/backup/storage"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/platform/provision"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/secretcache"
	"github.com/tenancy/platform/tenant/tlsserve"
)

// grant is one capability of one path of a policy file.
type grant struct{ path, capability string }

var pathRE = regexp.MustCompile(`(?m)^path "([^"]+)" \{\n\s*capabilities = \[([^\]]*)\]\n\}`)

// readPolicy returns the text of a policy file and its grants. Every
// `path` stanza must have the one shape the parser reads, so that the
// grants tested are all the file grants.
func readPolicy(t *testing.T, name string) (string, []grant) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	ms := pathRE.FindAllStringSubmatch(text, -1)
	if n := strings.Count(text, "\npath "); len(ms) != n || n == 0 {
		t.Fatalf("%s: %d path stanzas, %d of the form path \"…\" {\\n capabilities = […]\\n}", name, n, len(ms))
	}
	var gs []grant
	for _, m := range ms {
		for _, c := range strings.Split(m[2], ",") {
			gs = append(gs, grant{m[1], strings.Trim(strings.TrimSpace(c), `"`)})
		}
	}
	return text, gs
}

// render writes grants back as a policy.
func render(gs []grant) string {
	by := map[string][]string{}
	for _, g := range gs {
		by[g.path] = append(by[g.path], `"`+g.capability+`"`)
	}
	var b strings.Builder
	for _, p := range slices.Sorted(maps.Keys(by)) {
		b.WriteString("path \"" + p + "\" {\n  capabilities = [" + strings.Join(by[p], ", ") + "]\n}\n")
	}
	return b.String()
}

// login writes policy under a name of the test's own, makes an AppRole
// role whose tokens carry only that policy (not even Vault's `default`),
// and logs in through the platform's own AppRole code. The root token of
// the dev Vault is used for that set-up and the clean-up only.
func login(t *testing.T, policy string, ttl time.Duration) (*vault.Client, *vault.Secret) {
	t.Helper()
	ctx := platformtest.Context(t)
	root := platformtest.VaultClient(t)
	auths, err := root.Sys().ListAuthWithContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := auths["approle/"]; !ok {
		if err := root.Sys().EnableAuthWithOptionsWithContext(ctx, "approle", &vault.EnableAuthOptions{Type: "approle"}); err != nil && !strings.Contains(err.Error(), "already in use") {
			t.Fatal(err)
		}
	}
	name := "policytest-" + platformtest.Rand(10)
	if err := root.Sys().PutPolicyWithContext(ctx, name, policy); err != nil {
		t.Fatalf("vault policy write: %v", err)
	}
	t.Cleanup(func() {
		if err := root.Sys().DeletePolicy(name); err != nil {
			t.Errorf("delete policy %s: %v", name, err)
		}
	})
	_, err = root.Logical().WriteWithContext(ctx, "auth/approle/role/"+name, map[string]any{
		"token_policies": name, "token_no_default_policy": true,
		"token_ttl": ttl.String(), "token_max_ttl": (2 * ttl).String(), "secret_id_num_uses": 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := root.Logical().Delete("auth/approle/role/" + name); err != nil {
			t.Errorf("delete role %s: %v", name, err)
		}
	})
	r, err := root.Logical().ReadWithContext(ctx, "auth/approle/role/"+name+"/role-id")
	if err != nil {
		t.Fatal(err)
	}
	s, err := root.Logical().WriteWithContext(ctx, "auth/approle/role/"+name+"/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := platformtest.VaultClient(t)
	c.ClearToken()
	sec, err := secrets.AppRole{RoleID: r.Data["role_id"].(string), SecretID: s.Data["secret_id"].(string)}.Login(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if p := sec.Auth.Policies; len(p) != 1 || p[0] != name {
		t.Fatalf("token policies %v, want only %s", p, name)
	}
	t.Cleanup(func() { c.Auth().Token().RevokeSelfWithContext(context.Background(), "") })
	return c, sec
}

// setUp is the admin's one-time step (platform-setup.hcl), done with the
// root token: transit at transit/ with both keys.
func setUp(t *testing.T) *secrets.Store {
	t.Helper()
	ctx := platformtest.Context(t)
	root := platformtest.Vault(t)
	if err := root.EnsureBackupKey(ctx); err != nil {
		t.Fatal(err)
	}
	if err := root.EnsureACMEKey(ctx); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestPlatformPolicyRunsThePlatform does, with a token holding only
// platform.hcl, what serve and the CLI do with Vault: provision a tenant
// (secrets written with check-and-set, read back), read them through
// serve's secrets cache, rotate them, back the tenant up and verify the
// backup (data key wrapped and unwrapped by transit), seal and open ACME
// cache entries, renew the token, purge the tenant. Then it shows what
// the token cannot do.
func TestPlatformPolicyRunsThePlatform(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	root := setUp(t)
	policy, _ := readPolicy(t, "platform.hcl")
	client, login := login(t, policy, 10*time.Minute)
	vs := secrets.NewStore(client, "")

	admin := platformtest.Admin(t)
	prefix := platformtest.TemplatePrefix(t, admin)
	cat, _ := platformtest.Catalog(t)
	tmpl, err := secrets.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	servers := map[string]*pgadmin.Server{"default": admin}
	cfg := provision.Config{TemplatePrefix: prefix, BcryptCost: 4}
	svc := provision.New(cat, servers, vs, tmpl, cfg)
	// Whatever the test leaves behind is purged with the root token, so a
	// refusal in the middle leaks nothing.
	rootSvc := provision.New(cat, servers, root, tmpl, cfg)
	slug := platformtest.Slug("pol")
	t.Cleanup(func() { rootSvc.Purge(context.Background(), slug) })

	// Provisioning: the secrets are created (CAS 0) and read back.
	res, err := svc.Create(ctx, provision.CreateRequest{Slug: slug, Kind: string(tenant.Restaurant), Name: "Policy test"})
	if err != nil {
		t.Fatalf("provision with the platform policy: %v", err)
	}
	created, err := root.Read(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	if len(created.Values) != len(tmpl.Secrets) || len(created.Rotated) != len(tmpl.Secrets) {
		t.Fatalf("secrets after provisioning: %d values, %d rotated_at (metadata patch), want %d", len(created.Values), len(created.Rotated), len(tmpl.Secrets))
	}
	env := &tenanttest.Env{Service: svc, Catalog: cat, Admin: admin, Vault: vs, Ctx: ctx}
	if err := vs.Ping(ctx); err != nil { // sys/health: no policy needed
		t.Fatal(err)
	}

	// serve's request path reads them through the cache.
	got, err := secretcache.New(vs, secretcache.Config{}).Get(ctx, slug)
	if err != nil || !maps.Equal(got, created.Values) {
		t.Fatalf("secrets cache: %v (same values %t)", err, maps.Equal(got, created.Values))
	}

	// `platform secrets rotate` (and serve's scheduled rotation): read with
	// metadata, pending mark, new version with CAS, mark removed.
	rot, err := svc.Rotator(nil).Rotate(ctx, slug, []string{"db_password", "api_key_internal"})
	if err != nil {
		t.Fatalf("rotate with the platform policy: %v", err)
	}
	after, err := root.Read(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	if rot.VaultVersion != after.Version || after.Version <= created.Version || len(after.Pending) != 0 ||
		after.Values["db_password"] == created.Values["db_password"] || !after.RotatedAt("db_password").After(created.RotatedAt("db_password")) {
		t.Fatalf("after rotation: %+v (version %d before)", rot, created.Version)
	}
	// The request path logs in with the new password.
	conn, err := pgx.ConnectConfig(ctx, env.AppConnConfig(res.Tenant.Database, slug, after.Values["db_password"]))
	if err != nil {
		t.Fatalf("login with the rotated password: %v", err)
	}
	conn.Close(ctx)

	// A backup and its verification: EnsureBackupKey's read, transit
	// encrypt of the data key, decrypt at verify (a restore into a scratch
	// database).
	st, err := storage.Open(ctx, "file://"+t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bs := backup.New(cat, servers, vs, st, nil, backup.Config{})
	b, err := bs.Run(ctx, slug, backup.ReasonManual)
	if err != nil {
		t.Fatalf("backup with the platform policy: %v", err)
	}
	vr, err := bs.Verify(ctx, b.ID)
	if err != nil || vr.Outcome != backup.OutcomeVerified {
		t.Fatalf("verify with the platform policy: %+v, %v", vr, err)
	}

	// serve with PLATFORM_TLS=acme: key check at start, sealed cache.
	if err := vs.EnsureACMEKey(ctx); err != nil {
		t.Fatal(err)
	}
	cache := tlsserve.SealedCache(cat, vs)
	entry := "policytest-" + platformtest.Rand(8) + ".example"
	cert := make([]byte, 600)
	if _, err := rand.Read(cert); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.ACMECacheDelete(context.Background(), entry) })
	if err := cache.Put(ctx, entry, cert); err != nil {
		t.Fatalf("seal an ACME entry: %v", err)
	}
	if sealed, err := cat.ACMECacheGet(ctx, entry); err != nil || !strings.HasPrefix(sealed, "vault:v") {
		t.Fatalf("stored ACME entry %.20q, %v", sealed, err)
	}
	if back, err := cache.Get(ctx, entry); err != nil || !bytes.Equal(back, cert) {
		t.Fatalf("open an ACME entry: %v", err)
	}

	// KeepLoggedIn's lifetime watcher renews the token (renew-self); a
	// refusal would silently turn it into a non-renewable wait instead.
	w, err := client.NewLifetimeWatcher(&vault.LifetimeWatcherInput{Secret: login})
	if err != nil {
		t.Fatal(err)
	}
	go w.Start()
	select {
	case r := <-w.RenewCh():
		if r.Secret == nil || r.Secret.Auth == nil {
			t.Fatalf("renewal without auth: %+v", r)
		}
	case err := <-w.DoneCh():
		t.Fatalf("token renewal stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no token renewal within 30s")
	}
	w.Stop()

	// Least privilege: what the platform never does is refused.
	denied := []struct {
		what string
		op   func() error
	}{
		{"read another KV path of the mount", func() error {
			_, err := client.Logical().ReadWithContext(ctx, "secret/data/other/"+slug)
			return err
		}},
		{"write below a tenant's entry", func() error {
			_, err := client.Logical().WriteWithContext(ctx, "secret/data/platform/tenants/"+slug+"/x", map[string]any{"data": map[string]any{"a": "b"}})
			return err
		}},
		{"list the tenants' entries", func() error {
			_, err := client.Logical().ListWithContext(ctx, "secret/metadata/platform/tenants")
			return err
		}},
		{"destroy versions", func() error {
			_, err := client.Logical().WriteWithContext(ctx, "secret/destroy/platform/tenants/"+slug, map[string]any{"versions": []int{1}})
			return err
		}},
		{"mount an engine", func() error {
			return client.Sys().MountWithContext(ctx, "policytest-"+platformtest.Rand(6), &vault.MountInput{Type: "kv"})
		}},
		{"write a policy", func() error {
			return client.Sys().PutPolicyWithContext(ctx, "policytest-"+platformtest.Rand(6), `path "*" { capabilities = ["sudo"] }`)
		}},
		{"create a token", func() error {
			_, err := client.Auth().Token().CreateWithContext(ctx, &vault.TokenCreateRequest{})
			return err
		}},
		{"encrypt with another transit key", func() error {
			_, err := client.Logical().WriteWithContext(ctx, "transit/encrypt/policytest-"+platformtest.Rand(6), map[string]any{"plaintext": "AAAA"})
			return err
		}},
		{"create or change the backup key", func() error {
			_, err := client.Logical().WriteWithContext(ctx, "transit/keys/"+secrets.BackupKey, map[string]any{"type": "aes256-gcm96"})
			return err
		}},
		{"rotate the backup key", func() error {
			_, err := client.Logical().WriteWithContext(ctx, "transit/keys/"+secrets.BackupKey+"/rotate", nil)
			return err
		}},
		{"ask transit for a data key", func() error {
			_, err := client.Logical().WriteWithContext(ctx, "transit/datakey/plaintext/"+secrets.BackupKey, nil)
			return err
		}},
		{"export the ACME key", func() error {
			_, err := client.Logical().ReadWithContext(ctx, "transit/export/encryption-key/"+secrets.ACMEKey)
			return err
		}},
		{"read the tenant's secrets on another mount", func() error {
			_, err := secrets.NewStore(client, "kv-"+platformtest.Rand(6)).Get(ctx, slug)
			return err
		}},
	}
	for _, d := range denied {
		if err := d.op(); !platformtest.VaultDenied(err) {
			t.Errorf("%s: %v, want permission denied", d.what, err)
		}
	}

	// `platform tenant purge` deletes the entry and all its versions.
	if err := svc.Purge(ctx, slug); err != nil {
		t.Fatalf("purge with the platform policy: %v", err)
	}
	if _, err := root.Get(ctx, slug); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Fatalf("secrets after purge: %v", err)
	}
}

// use is a single Vault call of the platform and the grant it needs.
type use struct {
	grant
	what string
	// prepare makes the state the call needs, with the root token.
	prepare func(t *testing.T, root *secrets.Store) (slug, wrapped string)
	call    func(ctx context.Context, vs *secrets.Store, c *vault.Client, slug, wrapped string) error
}

// TestPlatformPolicyIsMinimal takes each grant of platform.hcl away in
// turn and checks the platform call that needs it is refused: no grant is
// there for nothing, and each has a test (a new grant without one fails
// here, a call the policy no longer allows fails here and in
// TestPlatformPolicyRunsThePlatform).
func TestPlatformPolicyIsMinimal(t *testing.T) {
	t.Parallel()
	setUp(t)
	policy, grants := readPolicy(t, "platform.hcl")
	withSecrets := func(t *testing.T, root *secrets.Store) (string, string) {
		slug := platformtest.Slug("min")
		ctx := platformtest.Context(t)
		if err := root.Create(ctx, slug, map[string]string{"db_password": platformtest.Rand(16)}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { root.Delete(context.Background(), slug) })
		return slug, ""
	}
	fresh := func(*testing.T, *secrets.Store) (string, string) { return platformtest.Slug("min"), "" }
	wrapped := func(seal func(*secrets.Store, context.Context, string, []byte) (string, error)) func(*testing.T, *secrets.Store) (string, string) {
		return func(t *testing.T, root *secrets.Store) (string, string) {
			id := platformtest.Rand(12)
			w, err := seal(root, platformtest.Context(t), id, []byte("a data key of 32 bytes, for test"))
			if err != nil {
				t.Fatal(err)
			}
			return id, w
		}
	}
	dataKey := []byte("a data key of 32 bytes, for test")
	const data, meta = "secret/data/platform/tenants/+", "secret/metadata/platform/tenants/+"
	uses := []use{
		{grant{data, "create"}, "provision: Create (check-and-set 0)", fresh,
			func(ctx context.Context, vs *secrets.Store, _ *vault.Client, slug, _ string) error {
				err := vs.Create(ctx, slug, map[string]string{"db_password": "x"})
				if err == nil {
					vs.Delete(context.Background(), slug) // with the full policy only
				}
				return err
			}},
		{grant{data, "read"}, "secrets cache: Get", withSecrets,
			func(ctx context.Context, vs *secrets.Store, _ *vault.Client, slug, _ string) error {
				_, err := vs.Get(ctx, slug)
				return err
			}},
		{grant{data, "update"}, "rotation: Write (check-and-set)", withSecrets,
			func(ctx context.Context, vs *secrets.Store, _ *vault.Client, slug, _ string) error {
				_, err := vs.Write(ctx, slug, map[string]string{"db_password": "y"}, 1)
				return err
			}},
		{grant{meta, "read"}, "rotation: Read (version, metadata)", withSecrets,
			func(ctx context.Context, vs *secrets.Store, _ *vault.Client, slug, _ string) error {
				_, err := vs.Read(ctx, slug)
				return err
			}},
		{grant{meta, "patch"}, "rotation: SetMeta", withSecrets,
			func(ctx context.Context, vs *secrets.Store, _ *vault.Client, slug, _ string) error {
				return vs.SetMeta(ctx, slug, map[string]string{secrets.MetaPending: "db_password"})
			}},
		{grant{meta, "delete"}, "purge: Delete", withSecrets,
			func(ctx context.Context, vs *secrets.Store, _ *vault.Client, slug, _ string) error {
				return vs.Delete(ctx, slug)
			}},
		{grant{"transit/encrypt/" + secrets.BackupKey, "update"}, "backup: WrapKey", fresh,
			func(ctx context.Context, vs *secrets.Store, _ *vault.Client, id, _ string) error {
				_, err := vs.WrapKey(ctx, id, dataKey)
				return err
			}},
		{grant{"transit/decrypt/" + secrets.BackupKey, "update"}, "verify, restore: UnwrapKey", wrapped((*secrets.Store).WrapKey),
			func(ctx context.Context, vs *secrets.Store, _ *vault.Client, id, w string) error {
				_, err := vs.UnwrapKey(ctx, id, w)
				return err
			}},
		{grant{"transit/keys/" + secrets.BackupKey, "read"}, "backup: EnsureBackupKey", fresh,
			func(ctx context.Context, vs *secrets.Store, _ *vault.Client, _, _ string) error {
				return vs.EnsureBackupKey(ctx)
			}},
		{grant{"transit/encrypt/" + secrets.ACMEKey, "update"}, "serve TLS acme: SealACME", fresh,
			func(ctx context.Context, vs *secrets.Store, _ *vault.Client, id, _ string) error {
				_, err := vs.SealACME(ctx, id, dataKey)
				return err
			}},
		{grant{"transit/decrypt/" + secrets.ACMEKey, "update"}, "serve TLS acme: OpenACME", wrapped((*secrets.Store).SealACME),
			func(ctx context.Context, vs *secrets.Store, _ *vault.Client, id, w string) error {
				_, err := vs.OpenACME(ctx, id, w)
				return err
			}},
		{grant{"transit/keys/" + secrets.ACMEKey, "read"}, "serve TLS acme: EnsureACMEKey", fresh,
			func(ctx context.Context, vs *secrets.Store, _ *vault.Client, _, _ string) error {
				return vs.EnsureACMEKey(ctx)
			}},
		// What the lifetime watcher of AppRole.KeepLoggedIn calls.
		{grant{"auth/token/renew-self", "update"}, "serve: token renewal", fresh,
			func(ctx context.Context, _ *secrets.Store, c *vault.Client, _, _ string) error {
				_, err := c.Auth().Token().RenewTokenAsSelfWithContext(ctx, c.Token(), 0)
				return err
			}},
	}

	var tested []grant
	for _, u := range uses {
		tested = append(tested, u.grant)
	}
	cmp := func(a, b grant) int { return strings.Compare(a.path+" "+a.capability, b.path+" "+b.capability) }
	slices.SortFunc(tested, cmp)
	sorted := slices.SortedFunc(slices.Values(grants), cmp)
	if !slices.Equal(tested, sorted) {
		t.Fatalf("platform.hcl grants\n  %v\nthe calls tested need\n  %v", sorted, tested)
	}

	t.Run("all", func(t *testing.T) {
		t.Parallel()
		ctx := platformtest.Context(t)
		root := platformtest.Vault(t)
		c, _ := login(t, policy, 10*time.Minute)
		vs := secrets.NewStore(c, "")
		for _, u := range uses {
			slug, w := u.prepare(t, root)
			if err := u.call(ctx, vs, c, slug, w); err != nil {
				t.Errorf("%s with platform.hcl: %v", u.what, err)
			}
		}
	})
	for _, u := range uses {
		t.Run("without "+u.path+" "+u.capability, func(t *testing.T) {
			t.Parallel()
			ctx := platformtest.Context(t)
			root := platformtest.Vault(t)
			less := slices.DeleteFunc(slices.Clone(grants), func(g grant) bool { return g == u.grant })
			c, _ := login(t, render(less), 10*time.Minute)
			slug, w := u.prepare(t, root)
			if err := u.call(ctx, secrets.NewStore(c, ""), c, slug, w); !platformtest.VaultDenied(err) {
				t.Errorf("%s without %s on %s: %v, want permission denied", u.what, u.capability, u.path, err)
			}
		})
	}
}

// TestPlatformPolicyOtherMount: platform.hcl with its KV paths moved the
// way docs/operations.md says (sed 's|^path "secret/|path "kv/|') serves
// a store on that mount (PLATFORM_VAULT_KV_MOUNT), and no longer secret/.
func TestPlatformPolicyOtherMount(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	mount := "kv-pol-" + platformtest.Rand(8)
	root := platformtest.VaultClient(t)
	if err := root.Sys().MountWithContext(ctx, mount, &vault.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := root.Sys().UnmountWithContext(context.Background(), mount); err != nil {
			t.Errorf("unmount %s: %v", mount, err)
		}
	})
	policy, _ := readPolicy(t, "platform.hcl")
	moved := regexp.MustCompile(`(?m)^path "secret/`).ReplaceAllString(policy, `path "`+mount+`/`)
	c, _ := login(t, moved, 10*time.Minute)
	vs := secrets.NewStore(c, mount)
	slug := platformtest.Slug("mnt")
	// The KV v2 engine answers writes to a fresh mount with 400 until it
	// has finished upgrading its storage: poll, as the first tenant would.
	var err error
	platformtest.Eventually(t, 10*time.Second, "the new KV v2 mount accepts writes", func() bool {
		err = vs.Create(ctx, slug, map[string]string{"db_password": "x"})
		return err == nil || platformtest.VaultDenied(err)
	})
	if err != nil {
		t.Fatalf("create on %s/: %v", mount, err)
	}
	v, err := vs.Read(ctx, slug)
	if err != nil || v.Values["db_password"] != "x" || len(v.Rotated) != 1 {
		t.Fatalf("read on %s/: %+v, %v", mount, v, err)
	}
	if _, err := vs.Write(ctx, slug, map[string]string{"db_password": "y"}, v.Version); err != nil {
		t.Fatal(err)
	}
	if err := vs.Delete(ctx, slug); err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.NewStore(c, "").Get(ctx, slug); !platformtest.VaultDenied(err) {
		t.Fatalf("secret/ with the moved policy: %v, want permission denied", err)
	}
}
