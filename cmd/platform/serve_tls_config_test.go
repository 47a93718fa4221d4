package main

import (
	"strings"
	"testing"
	"time"
)

// TestLoadTLSConfig: every bad TLS setting is refused with one line that
// names it; good ones give the expected configuration.
func TestLoadTLSConfig(t *testing.T) {
	t.Parallel()
	load := func(extra map[string]string) (serveConfig, error) {
		env := map[string]string{"REDIS_URL": "redis://127.0.0.1:6379/0"}
		for k, v := range extra {
			env[k] = v
		}
		return loadServeConfig(func(k string) string { return env[k] }, nil)
	}
	bad := []struct {
		env  map[string]string
		want string // in the one line
	}{
		{map[string]string{"PLATFORM_TLS": "on"}, "PLATFORM_TLS must be off, acme, files or proxy"},
		{map[string]string{"PLATFORM_TLS": "files"}, "PLATFORM_TLS=files needs PLATFORM_TLS_CERT_FILE"},
		{map[string]string{"PLATFORM_TLS": "files", "PLATFORM_TLS_CERT_FILE": "/c.pem"}, "PLATFORM_TLS_CERT_FILE and PLATFORM_TLS_KEY_FILE go together"},
		{map[string]string{"PLATFORM_TLS": "files", "PLATFORM_TLS_CERTS": "/c.pem"}, "PLATFORM_TLS_CERTS must be cert.pem:key.pem pairs"},
		{map[string]string{"PLATFORM_TLS": "files", "PLATFORM_TLS_CERTS": "/a:/b,:/k"}, "PLATFORM_TLS_CERTS must be"},
		{map[string]string{"PLATFORM_TLS": "proxy"}, "PLATFORM_TLS=proxy needs PLATFORM_TRUSTED_PROXIES"},
		{map[string]string{"PLATFORM_TLS": "acme", "PLATFORM_ACME_DIRECTORY_URL": "http://ca.example/dir"}, "PLATFORM_ACME_DIRECTORY_URL must be an https:// URL"},
		{map[string]string{"PLATFORM_TLS": "acme", "PLATFORM_ACME_EMAIL": "ops"}, "PLATFORM_ACME_EMAIL"},
		{map[string]string{"PLATFORM_TLS": "acme", "PLATFORM_ACME_CACHE": "redis"}, "PLATFORM_ACME_CACHE must be catalog or dir:/path"},
		{map[string]string{"PLATFORM_TLS": "acme", "PLATFORM_ACME_CACHE": "dir:"}, "PLATFORM_ACME_CACHE"},
		{map[string]string{"PLATFORM_TLS": "acme", "PLATFORM_TLS_CERT_FILE": "/c", "PLATFORM_TLS_KEY_FILE": "/k"}, "PLATFORM_TLS=acme takes no certificate files"},
		{map[string]string{"PLATFORM_TLS": "acme", "PLATFORM_HTTPS_ADDR": "8443"}, "PLATFORM_HTTPS_ADDR"},
		{map[string]string{"PLATFORM_TLS": "acme", "PLATFORM_HTTPS_ADDR": ":8080"}, "PLATFORM_HTTPS_ADDR and PLATFORM_HTTP_ADDR are both :8080"},
		{map[string]string{"PLATFORM_HTTPS_PUBLIC_PORT": "0"}, "PLATFORM_HTTPS_PUBLIC_PORT"},
		{map[string]string{"PLATFORM_HTTPS_PUBLIC_PORT": "https"}, "PLATFORM_HTTPS_PUBLIC_PORT"},
		{map[string]string{"PLATFORM_HSTS_MAX_AGE": "a year"}, "PLATFORM_HSTS_MAX_AGE"},
		{map[string]string{"PLATFORM_HSTS_MAX_AGE": "-5"}, "PLATFORM_HSTS_MAX_AGE"},
		{map[string]string{"PLATFORM_HSTS_MAX_AGE": "5ms"}, "PLATFORM_HSTS_MAX_AGE"},
		{map[string]string{"PLATFORM_TLS_RELOAD_INTERVAL": "0s"}, "PLATFORM_TLS_RELOAD_INTERVAL"},
		{map[string]string{"PLATFORM_ADMIN_TLS_KEY_FILE": "/k"}, "PLATFORM_ADMIN_TLS_CERT_FILE and PLATFORM_ADMIN_TLS_KEY_FILE go together"},
	}
	for _, tc := range bad {
		_, err := load(tc.env)
		if err == nil {
			t.Errorf("%v accepted", tc.env)
			continue
		}
		if line := errorLine(err); !strings.Contains(line, tc.want) || strings.Contains(line, "\n") {
			t.Errorf("%v: %q, want a line with %q", tc.env, line, tc.want)
		}
	}

	good := []struct {
		env   map[string]string
		check func(tlsConfig) bool
		warn  string // a warning holding this, "" none
	}{
		{nil, func(c tlsConfig) bool {
			return c.Mode == tlsOff && c.HSTSMaxAge == 365*24*time.Hour && c.PublicPort == 443 && c.HTTPSAddr == ":8443"
		}, ""},
		{map[string]string{"PLATFORM_TLS": "acme"}, func(c tlsConfig) bool {
			return c.DirectoryURL == letsEncrypt && c.CacheDir == "" && c.terminates()
		}, ""},
		{map[string]string{"PLATFORM_TLS": "acme", "PLATFORM_ACME_CACHE": "dir:/var/lib/acme", "PLATFORM_HTTPS_PUBLIC_PORT": "8443", "PLATFORM_HSTS_MAX_AGE": "0"}, func(c tlsConfig) bool {
			return c.CacheDir == "/var/lib/acme" && c.PublicPort == 8443 && c.HSTSMaxAge < 0
		}, ""},
		{map[string]string{"PLATFORM_TLS": "files", "PLATFORM_TLS_CERT_FILE": "/a.pem", "PLATFORM_TLS_KEY_FILE": "/a.key", "PLATFORM_TLS_CERTS": "/b.pem:/b.key, /c.pem:/c.key", "PLATFORM_HSTS_MAX_AGE": "48h"}, func(c tlsConfig) bool {
			return len(c.Pairs) == 3 && c.Pairs[2].Cert == "/c.pem" && c.Pairs[2].Key == "/c.key" && c.HSTSMaxAge == 48*time.Hour
		}, ""},
		{map[string]string{"PLATFORM_TLS": "proxy", "PLATFORM_TRUSTED_PROXIES": "10.0.0.0/8", "PLATFORM_HSTS_MAX_AGE": "600"}, func(c tlsConfig) bool {
			return !c.terminates() && c.HSTSMaxAge == 10*time.Minute
		}, ""},
		{map[string]string{"PLATFORM_ADMIN_ADDR": "0.0.0.0:8081", "PLATFORM_ADMIN_TLS_CERT_FILE": "/a", "PLATFORM_ADMIN_TLS_KEY_FILE": "/b"}, func(c tlsConfig) bool {
			return c.Admin != nil && c.Admin.Cert == "/a" // and no warning: the token no longer crosses in clear
		}, ""},
		{map[string]string{"PLATFORM_ACME_EMAIL": "ops@example.org"}, func(c tlsConfig) bool { return c.Mode == tlsOff }, "PLATFORM_ACME_* settings are ignored"},
		{map[string]string{"PLATFORM_TLS": "proxy", "PLATFORM_TRUSTED_PROXIES": "10.0.0.1", "PLATFORM_TLS_CERT_FILE": "/a", "PLATFORM_TLS_KEY_FILE": "/b"}, func(c tlsConfig) bool { return true }, "certificate files"},
	}
	for _, tc := range good {
		c, err := load(tc.env)
		if err != nil {
			t.Errorf("%v: %v", tc.env, err)
			continue
		}
		if !tc.check(c.TLS) {
			t.Errorf("%v: %+v", tc.env, c.TLS)
		}
		warned := strings.Contains(strings.Join(c.Warnings, "|"), tc.warn) && len(c.Warnings) > 0
		if tc.warn != "" && !warned || tc.warn == "" && len(c.Warnings) > 0 {
			t.Errorf("%v: warnings %q, want one with %q", tc.env, c.Warnings, tc.warn)
		}
	}
}
