package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenancy/platform/platform/provision"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth/session"
)

// secretsCmd is `platform secrets rotate SLUG [--only a,b] [-o json]`.
func secretsCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return usagef("secrets: missing verb (rotate)")
	}
	verb, args := args[0], args[1:]
	if verb != "rotate" {
		return usagef("secrets: unknown verb %q", verb)
	}
	fs := flag.NewFlagSet("secrets rotate", flag.ContinueOnError)
	out := outputFlag(fs)
	var only string
	fs.StringVar(&only, "only", "", "comma-separated secret names (default: all)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := checkOutput(*out); err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("secrets rotate: want exactly one SLUG, got %d arguments", len(pos))
	}
	slug := pos[0]
	var names []string
	for _, n := range strings.Split(only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	if only != "" && len(names) == 0 {
		return usagef("secrets rotate: --only names no secret")
	}

	a, err := openApp(ctx, getenv)
	if err != nil {
		return err
	}
	defer a.Close()
	// Sessions end through Redis; without REDIS_URL the rotator refuses
	// the secrets that would end them, before changing anything.
	var ender provision.SessionEnder
	if u := getenv("REDIS_URL"); u != "" {
		opts, err := redis.ParseURL(u)
		if err != nil {
			return tenant.Errorf(tenant.EInvalid, "REDIS_URL is not a valid redis:// URL")
		}
		rdb := redis.NewClient(opts)
		defer rdb.Close()
		ender = session.New(rdb, session.Options{Timeout: 10 * time.Second})
	}
	ctx = tenant.WithActor(ctx, tenant.Actor{Name: a.actor, Source: "cli"})
	res, err := a.svc.Rotator(ender).Rotate(ctx, slug, names)
	if err != nil {
		return err
	}
	if *out == "json" {
		return writeJSON(stdout, res)
	}
	if len(res.Resumed) > 0 {
		fmt.Fprintf(stdout, "tenant %s: finished an interrupted rotation of %s\n", slug, strings.Join(res.Resumed, ", "))
	}
	_, err = fmt.Fprintf(stdout, "tenant %s: rotated %s (Vault version %d); %d sessions ended\n",
		slug, strings.Join(res.Rotated, ", "), res.VaultVersion, res.SessionsEnded)
	return err
}
