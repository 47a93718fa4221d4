package secrets_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
)

// TestAppRoleStaysLoggedIn logs in with a token that lives 4 s (renewable
// to 8 s) and keeps using it for longer: renewal, then a new login, must
// keep the store working. (With 2 s tokens the renewal's grace, 10-20 % of
// the lease, was shorter than a login under -race: a flake, not a bug of
// the production path, whose tokens live hours.)
func TestAppRoleStaysLoggedIn(t *testing.T) {
	t.Parallel()
	roleID, secretID := platformtest.AppRole(t, 4*time.Second, 8*time.Second)
	client := platformtest.VaultClient(t)
	client.ClearToken()
	ar := secrets.AppRole{RoleID: roleID, SecretID: secretID}
	ctx, cancel := context.WithCancel(platformtest.Context(t))
	defer cancel()
	sec, err := ar.Login(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	go ar.KeepLoggedIn(ctx, client, sec, slog.New(slog.DiscardHandler))
	store := secrets.NewStore(client, "")
	slug := platformtest.Slug("approle")
	if err := store.Create(ctx, slug, map[string]string{"db_password": "x"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Delete(context.Background(), slug) })
	for end := time.Now().Add(12 * time.Second); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		if _, err := store.Get(ctx, slug); err != nil {
			t.Fatalf("after %v: %v", time.Until(end), err)
		}
	}

	bad := platformtest.VaultClient(t)
	bad.ClearToken()
	if _, err := (secrets.AppRole{RoleID: roleID, SecretID: "wrong"}).Login(ctx, bad); tenant.ErrorCode(err) != tenant.EInvalid {
		t.Errorf("wrong secret id: %v", err)
	}
}
