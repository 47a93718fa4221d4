package secrets

import (
	"net/http"
	"net/url"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	vault "github.com/hashicorp/vault/api"

	"github.com/tenancy/platform/tenant"
)

// NewClient returns a Vault client for addr and nothing else. vault.DefaultConfig
// and vault.NewClient read VAULT_* variables of the process behind the
// caller's back (VAULT_TOKEN, VAULT_NAMESPACE, VAULT_HEADERS, VAULT_AGENT_ADDR,
// VAULT_MAX_RETRIES, VAULT_CLIENT_TIMEOUT, …): the configuration here is
// built by hand, and what NewClient still picks up from the environment is
// cleared, so only the injected address and token count. The token is set
// by the caller (SetToken or an AppRole login).
func NewClient(addr string, timeout time.Duration) (*vault.Client, error) {
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, tenant.Errorf(tenant.EInvalid, "VAULT_ADDR must be an http:// or https:// URL")
	}
	if u.User != nil {
		return nil, tenant.Errorf(tenant.EInvalid, "VAULT_ADDR must not carry credentials (%s): use VAULT_TOKEN or an AppRole", RedactAddr(addr))
	}
	hc := cleanhttp.DefaultPooledClient()
	hc.Timeout = timeout
	// The API client handles redirects itself.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cfg := &vault.Config{
		Address:      addr,
		HttpClient:   hc,
		Timeout:      timeout,
		MaxRetries:   1,
		MinRetryWait: 200 * time.Millisecond,
		MaxRetryWait: time.Second,
	}
	c, err := vault.NewClient(cfg)
	if err != nil {
		return nil, tenant.Errorf(tenant.EInvalid, "VAULT_ADDR %s: cannot make a Vault client", RedactAddr(addr))
	}
	c.ClearToken()
	c.ClearNamespace()
	c.SetHeaders(http.Header{vault.RequestHeaderName: {"true"}})
	return c, nil
}

// RedactAddr is addr without any user information, for messages.
func RedactAddr(addr string) string {
	u, err := url.Parse(addr)
	if err != nil {
		return "(unparseable address)"
	}
	u.User = nil
	return u.String()
}
