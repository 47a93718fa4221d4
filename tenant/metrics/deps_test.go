package metrics

import (
	"context"
	"net"
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/tenancy/platform/tenant"
)

// TestRedisHook against the dev Redis: a missing key is an answer, an
// error reply an error, and a Redis that is not there a failed dial.
func TestRedisHook(t *testing.T) {
	url := os.Getenv("REDIS_URL")
	if url == "" {
		t.Fatal("REDIS_URL is not set: eval \"$(scripts/dev-services env)\"")
	}
	reg := prometheus.NewRegistry()
	d, err := NewDeps(reg)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	rdb.AddHook(d.RedisHook())
	ctx := context.Background()
	key := "metrics-test:" + t.Name()
	if err := rdb.Get(ctx, key).Err(); err != redis.Nil {
		t.Fatalf("GET of a missing key: %v", err)
	}
	if err := rdb.Set(ctx, key, "not a number", 0).Err(); err != nil {
		t.Fatal(err)
	}
	defer rdb.Del(ctx, key)
	if err := rdb.Incr(ctx, key).Err(); err == nil {
		t.Fatal("INCR of a string succeeded")
	}
	if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error { p.Get(ctx, key); return nil }); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(d.redisCalls.WithLabelValues(ResultOK)); got < 3 {
		t.Errorf("ok commands %v, want at least 3 (GET, SET, the pipeline)", got)
	}
	if got := testutil.ToFloat64(d.redisCalls.WithLabelValues(ResultError)); got != 1 {
		t.Errorf("failed commands %v, want 1 (INCR)", got)
	}
	if got := testutil.ToFloat64(d.redisDials.WithLabelValues(ResultOK)); got < 1 {
		t.Errorf("dials %v, want at least 1", got)
	}

	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	down := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer down.Close()
	down.AddHook(d.RedisHook())
	if err := down.Ping(ctx).Err(); err == nil {
		t.Fatal("PING to a closed port succeeded")
	}
	if got := testutil.ToFloat64(d.redisDials.WithLabelValues(ResultError)); got < 1 {
		t.Errorf("failed dials %v, want at least 1", got)
	}
	if got := testutil.ToFloat64(d.redisCalls.WithLabelValues(ResultError)); got != 2 {
		t.Errorf("failed commands %v, want 2 (INCR, PING)", got)
	}
}

type getterFunc func(ctx context.Context, slug string) (map[string]string, error)

func (f getterFunc) Get(ctx context.Context, slug string) (map[string]string, error) {
	return f(ctx, slug)
}

// TestVaultResults: how a read's outcome is classified.
func TestVaultResults(t *testing.T) {
	d, err := NewDeps(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ResultOK},
		{tenant.Errorf(tenant.ENotFound, "no secrets"), ResultNotFound},
		{context.Canceled, ResultCanceled},
		{tenant.Errorf(tenant.EUnavailable, "vault: connection refused"), ResultError},
	} {
		g := d.Secrets(getterFunc(func(context.Context, string) (map[string]string, error) { return nil, tc.err }))
		before := testutil.ToFloat64(d.vaultReads.WithLabelValues(tc.want))
		_, _ = g.Get(context.Background(), "demo")
		if got := testutil.ToFloat64(d.vaultReads.WithLabelValues(tc.want)) - before; got != 1 {
			t.Errorf("%v: %s went up by %v, want 1", tc.err, tc.want, got)
		}
	}
}
