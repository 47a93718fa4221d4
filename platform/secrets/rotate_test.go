package secrets_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/secrets"
)

// Create records every secret's age; Write is check-and-set on the
// version read: of two writers that read the same version exactly one
// wins, the other gets ErrConflict and wrote nothing; SetMeta merges and
// removes custom metadata keys.
func TestVersionedWritesAndAges(t *testing.T) {
	ctx := platformtest.Context(t)
	vs := platformtest.Vault(t)
	slug := platformtest.Slug("rot")
	t.Cleanup(func() { vs.Delete(context.Background(), slug) })
	before := time.Now().Add(-time.Second)
	if err := vs.Create(ctx, slug, map[string]string{"a": "1", "b": "2"}); err != nil {
		t.Fatal(err)
	}
	cur, err := vs.Read(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Version != 1 || cur.Values["a"] != "1" || len(cur.Pending) != 0 {
		t.Fatalf("after create: %+v", cur)
	}
	for _, n := range []string{"a", "b"} {
		if at, ok := cur.Rotated[n]; !ok || at.Before(before) || at.After(time.Now()) {
			t.Errorf("rotated_at.%s = %v (recorded: %v)", n, at, ok)
		}
	}
	if cur.RotatedAt("never-written") != cur.Created || cur.Created.IsZero() {
		t.Errorf("fallback age: %v, created %v", cur.RotatedAt("never-written"), cur.Created)
	}

	// Two writers with the same read version.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = vs.Write(ctx, slug, map[string]string{"a": "x", "b": "2"}, cur.Version)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, secrets.ErrConflict):
			t.Errorf("loser: %v, want ErrConflict", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d writers won, want exactly 1", won)
	}
	now, err := vs.Read(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	if now.Version != 2 || now.Values["a"] != "x" {
		t.Errorf("after the race: version %d, a=%q; want 2 and x", now.Version, now.Values["a"])
	}

	// Metadata: set, keep others, remove with "".
	if err := vs.SetMeta(ctx, slug, map[string]string{secrets.MetaPending: "a,b", secrets.MetaPendingFrom: "2"}); err != nil {
		t.Fatal(err)
	}
	if now, err = vs.Read(ctx, slug); err != nil || len(now.Pending) != 2 || now.PendingFrom != 2 || len(now.Rotated) != 2 {
		t.Fatalf("pending set: %+v %v", now, err)
	}
	if err := vs.SetMeta(ctx, slug, map[string]string{secrets.MetaPending: "", secrets.MetaPendingFrom: ""}); err != nil {
		t.Fatal(err)
	}
	if now, err = vs.Read(ctx, slug); err != nil || len(now.Pending) != 0 || now.PendingFrom != 0 || len(now.Rotated) != 2 {
		t.Fatalf("pending cleared: %+v %v", now, err)
	}
}

func TestTemplateNamesAndGenerateSome(t *testing.T) {
	tmpl, err := secrets.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	names := tmpl.Names()
	if len(names) != 5 || names[0] != "api_key_internal" || names[4] != "session_secret" {
		t.Errorf("names %v", names)
	}
	some, err := tmpl.GenerateSome([]string{"jwt_secret"})
	if err != nil || len(some) != 1 || len(some["jwt_secret"]) != 43 {
		t.Errorf("GenerateSome: %v %v", some, err)
	}
	if _, err := tmpl.GenerateSome([]string{"nope"}); err == nil {
		t.Error("GenerateSome of an unknown name succeeded")
	}
}
