package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/tenancy/platform/tenant"
)

// healthcheckCmd is the container image's HEALTHCHECK: the image has no
// shell or curl, so the binary itself asks the tenant listener's /healthz
// (the probe the Helm chart uses) and exits non-zero unless it answers 200.
func healthcheckCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	url := fs.String("url", "", "URL to GET (default: /healthz on loopback at the port of PLATFORM_HTTP_ADDR)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("healthcheck: unexpected argument %q", pos[0])
	}
	if *timeout <= 0 {
		return usagef("healthcheck: --timeout must be positive")
	}
	u := *url
	if u == "" {
		if u, err = healthURL(getenv("PLATFORM_HTTP_ADDR")); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return usagef("healthcheck: bad --url: %v", err)
	}
	// No proxy from the environment (the check is of this process's own
	// listener) and no redirects (a redirect is not a healthy answer).
	client := &http.Client{
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return tenant.Errorf(tenant.EUnavailable, "healthcheck: %v", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return tenant.Errorf(tenant.EUnavailable, "healthcheck: GET %s: %s", u, resp.Status)
	}
	_, err = fmt.Fprintf(stdout, "healthy: GET %s: %s\n", u, resp.Status)
	return err
}

// healthURL is /healthz of the tenant listener as seen from inside its own
// container: an address listening on every interface (":8080", the
// default, or "0.0.0.0:8080") is reached through loopback.
func healthURL(httpAddr string) (string, error) {
	if httpAddr == "" {
		httpAddr = ":8080"
	}
	host, port, err := net.SplitHostPort(httpAddr)
	if err != nil {
		return "", usagef("healthcheck: PLATFORM_HTTP_ADDR %q: %v", httpAddr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
