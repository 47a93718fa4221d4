package main

import (
	"context"
	"flag"
	"io"
	"os/user"
	"strconv"
	"strings"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/platform/provision"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
)

// config is the platform's configuration from the environment.
type config struct {
	CatalogURL     string
	AdminURL       string
	VaultAddr      string
	VaultToken     string
	VaultAppRole   secrets.AppRole
	VaultMount     string
	BaseDomain     string
	BaseDomainSet  bool // PLATFORM_BASE_DOMAIN given, not defaulted
	TemplatePrefix string
	BcryptCost     int
	// WeakBcrypt lets BcryptCost go below 10: for tests only
	// (PLATFORM_ALLOW_WEAK_BCRYPT=1); serve warns loudly when it is set.
	WeakBcrypt bool
}

// minBcryptCost is the lowest cost accepted outside tests: 2^10 rounds
// (about 60 ms here) keeps an offline guess of a leaked hash expensive.
const minBcryptCost = 10

func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		CatalogURL:     getenv("PLATFORM_DATABASE_URL"),
		AdminURL:       getenv("PLATFORM_DB_ADMIN_URL"),
		VaultAddr:      getenv("VAULT_ADDR"),
		VaultToken:     getenv("VAULT_TOKEN"),
		VaultAppRole:   secrets.AppRole{RoleID: getenv("VAULT_ROLE_ID"), SecretID: getenv("VAULT_SECRET_ID")},
		VaultMount:     getenv("PLATFORM_VAULT_KV_MOUNT"),
		BaseDomain:     strings.ToLower(getenv("PLATFORM_BASE_DOMAIN")),
		TemplatePrefix: getenv("PLATFORM_TEMPLATE_PREFIX"),
	}
	for name, v := range map[string]string{"PLATFORM_DATABASE_URL": c.CatalogURL, "PLATFORM_DB_ADMIN_URL": c.AdminURL,
		"VAULT_ADDR": c.VaultAddr} {
		if v == "" {
			return c, tenant.Errorf(tenant.EInvalid, "%s is not set (eval \"$(scripts/dev-services env)\" sets it for development)", name)
		}
	}
	if c.VaultToken == "" && (c.VaultAppRole.RoleID == "" || c.VaultAppRole.SecretID == "") {
		return c, tenant.Errorf(tenant.EInvalid, "VAULT_TOKEN is not set, nor VAULT_ROLE_ID and VAULT_SECRET_ID for an AppRole login")
	}
	c.WeakBcrypt = getenv("PLATFORM_ALLOW_WEAK_BCRYPT") == "1"
	if v := getenv("PLATFORM_BCRYPT_COST"); v != "" {
		n, err := strconv.Atoi(v)
		low := minBcryptCost
		if c.WeakBcrypt {
			low = 4
		}
		if err != nil || n < low || n > 16 {
			return c, tenant.Errorf(tenant.EInvalid, "PLATFORM_BCRYPT_COST must be between %d and 16", minBcryptCost)
		}
		c.BcryptCost = n
	}
	c.BaseDomainSet = c.BaseDomain != ""
	if c.BaseDomain == "" {
		c.BaseDomain = "localhost"
	}
	if tenant.NormalizeHost(c.BaseDomain) != c.BaseDomain {
		return c, tenant.Errorf(tenant.EInvalid, "PLATFORM_BASE_DOMAIN %q is not a host name", c.BaseDomain)
	}
	return c, nil
}

// app is everything a command needs, wired from the configuration.
type app struct {
	vaultClient *vault.Client
	vaultLogin  *vault.Secret // the AppRole login to keep alive, if any
	approle     secrets.AppRole
	cat         *catalog.DB
	admin       *pgadmin.Server
	svc         *provision.Service
	vault       *secrets.Store
	baseDomain  string
	actor       string
	bcryptCost  int
	weakBcrypt  bool
}

func openApp(ctx context.Context, getenv func(string) string) (*app, error) {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return nil, err
	}
	client, err := secrets.NewClient(cfg.VaultAddr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	var login *vault.Secret
	if cfg.VaultToken != "" {
		client.SetToken(cfg.VaultToken)
	} else if login, err = cfg.VaultAppRole.Login(ctx, client); err != nil {
		return nil, err
	}
	tmpl, err := secrets.LoadTemplate()
	if err != nil {
		return nil, err
	}
	cat, err := catalog.Open(ctx, cfg.CatalogURL)
	if err != nil {
		return nil, err
	}
	if cfg.BaseDomain, err = baseDomain(ctx, cat, cfg); err != nil {
		cat.Close()
		return nil, err
	}
	admin, err := pgadmin.Open(ctx, cfg.AdminURL)
	if err != nil {
		cat.Close()
		return nil, tenant.Errorf(tenant.EUnavailable, "PLATFORM_DB_ADMIN_URL: %v", err)
	}
	vs := secrets.NewStore(client, cfg.VaultMount)
	svc := provision.New(cat, map[string]*pgadmin.Server{"default": admin}, vs, tmpl,
		provision.Config{BaseDomain: cfg.BaseDomain, TemplatePrefix: cfg.TemplatePrefix, BcryptCost: cfg.BcryptCost})
	actor := "cli"
	if u, err := user.Current(); err == nil {
		actor = "cli:" + u.Username
	}
	return &app{vaultClient: client, vaultLogin: login, approle: cfg.VaultAppRole,
		cat: cat, admin: admin, svc: svc, vault: vs, baseDomain: cfg.BaseDomain, actor: actor,
		bcryptCost: cfg.BcryptCost, weakBcrypt: cfg.WeakBcrypt}, nil
}

func (a *app) Close() {
	a.admin.Close()
	a.cat.Close()
}

// baseDomain is the catalog's base domain: every process checks custom
// domains and routes subdomains against the same one (B5). A catalog
// without one takes the configured value; PLATFORM_BASE_DOMAIN given and
// different from the catalog's is refused; left unset, the catalog's holds.
func baseDomain(ctx context.Context, cat *catalog.DB, cfg config) (string, error) {
	if !cfg.BaseDomainSet {
		stored, err := cat.BaseDomain(ctx)
		if err == nil {
			return stored, nil
		}
		if tenant.ErrorCode(err) != tenant.ENotFound {
			return "", err
		}
	}
	return cat.EnsureBaseDomain(ctx, cfg.BaseDomain)
}

// parseFlags parses flags that may come before, between or after
// positional arguments ("tenant create acme --kind restaurant").
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// outputFlag adds -o/--output.
func outputFlag(fs *flag.FlagSet) *string {
	o := new(string)
	fs.StringVar(o, "o", "table", "output format: table or json")
	fs.StringVar(o, "output", "table", "output format: table or json")
	return o
}

func checkOutput(o string) error {
	if o != "table" && o != "json" {
		return usagef("-o must be table or json, not %q", o)
	}
	return nil
}

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
