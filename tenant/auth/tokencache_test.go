package auth

import (
	"testing"
	"time"
)

// TestTokenCache: a cached token is answered as ParseToken would, and
// never past its expiry, under another key (a rotated jwt_secret) or for
// another tenant; the cache stays within Max.
func TestTokenCache(t *testing.T) {
	key, other := []byte("k1-0123456789abcdef0123456789abcdef"), []byte("k2-0123456789abcdef0123456789abcdef")
	now := time.Now()
	tok, err := IssueToken(key, "tenant-a", "session-secret", now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	c := &TokenCache{Max: 3}
	for range 2 { // a miss, then a hit
		if s, err := c.Parse(key, "tenant-a", tok, now); err != nil || s != "session-secret" {
			t.Fatalf("parse: %q %v", s, err)
		}
	}
	if len(c.m) != 1 {
		t.Fatalf("cache holds %d entries, want 1", len(c.m))
	}
	for _, tc := range []struct {
		name   string
		key    []byte
		tenant string
		token  string
		at     time.Time
	}{
		{"expired", key, "tenant-a", tok, now.Add(time.Hour + time.Second)},
		{"rotated key", other, "tenant-a", tok, now},
		{"other tenant", key, "tenant-b", tok, now},
		{"tampered", key, "tenant-a", tok[:len(tok)-2] + "xy", now},
	} {
		if s, err := c.Parse(tc.key, tc.tenant, tc.token, tc.at); err != ErrNoSession || s != "" {
			t.Errorf("%s: %q %v, want ErrNoSession", tc.name, s, err)
		}
	}
	for i := range 5 {
		tk, err := IssueToken(key, "tenant-a", "s"+string(rune('a'+i)), now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Parse(key, "tenant-a", tk, now); err != nil {
			t.Fatal(err)
		}
		if len(c.m) > 3 {
			t.Fatalf("cache holds %d entries, Max 3", len(c.m))
		}
	}
}
