package secrets

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/tenancy/platform/tenant"
)

// AppRole logs in to Vault with a role and secret id (VAULT_ROLE_ID,
// VAULT_SECRET_ID), the way a deployed platform authenticates instead of a
// static VAULT_TOKEN.
type AppRole struct {
	RoleID, SecretID string
	Mount            string // default "approle"
}

// Login sets the client's token from an AppRole login and returns the
// login's secret (its lease says how long the token lives).
func (a AppRole) Login(ctx context.Context, client *vault.Client) (*vault.Secret, error) {
	mount := a.Mount
	if mount == "" {
		mount = "approle"
	}
	sec, err := client.Logical().WriteWithContext(ctx, "auth/"+mount+"/login",
		map[string]any{"role_id": a.RoleID, "secret_id": a.SecretID})
	if err != nil {
		// Vault 1.13 answers a wrong secret id with 500, not 400: any answer
		// from Vault is a refusal; only no answer means unreachable.
		var re *vault.ResponseError
		if errors.As(err, &re) {
			return nil, tenant.Errorf(tenant.EInvalid, "Vault refused the AppRole login (%d: %s): check VAULT_ROLE_ID and VAULT_SECRET_ID", re.StatusCode, strings.Join(re.Errors, "; "))
		}
		return nil, tenant.Errorf(tenant.EUnavailable, "Vault at %s is unreachable for AppRole login", RedactAddr(client.Address()))
	}
	if sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		return nil, tenant.Errorf(tenant.EUnavailable, "Vault AppRole login returned no token")
	}
	client.SetToken(sec.Auth.ClientToken)
	return sec, nil
}

// KeepLoggedIn renews the token of a long-running process until ctx ends,
// and logs in again when it can no longer be renewed (max TTL reached, or
// Vault was down past the token's life). The token is never logged.
func (a AppRole) KeepLoggedIn(ctx context.Context, client *vault.Client, sec *vault.Secret, log *slog.Logger) {
	for ctx.Err() == nil {
		if sec.Auth.Renewable {
			w, err := client.NewLifetimeWatcher(&vault.LifetimeWatcherInput{Secret: sec})
			if err == nil {
				go w.Start()
				select {
				case <-ctx.Done():
					w.Stop()
					return
				case err := <-w.DoneCh():
					if err != nil {
						log.WarnContext(ctx, "Vault token renewal stopped; logging in again", "err", err)
					}
				}
				w.Stop()
			}
		} else if ttl := time.Duration(sec.Auth.LeaseDuration) * time.Second; ttl > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(ttl * 2 / 3):
			}
		} else {
			return // a token that never expires
		}
		for backoff := time.Second; ctx.Err() == nil; backoff = min(backoff*2, time.Minute) {
			s, err := a.Login(ctx, client)
			if err == nil {
				sec = s
				break
			}
			log.ErrorContext(ctx, "Vault AppRole login failed", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
		}
	}
}
