// Package storage keeps backup artifacts: one interface over a local
// directory (file:///dir) and any S3-compatible object store
// (s3://bucket/prefix). Every artifact is streamed in and out, never held
// whole in memory or in a temporary file, and a Put that fails or is
// cancelled leaves no object under its key.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"

	"github.com/tenancy/platform/tenant"
)

// Store holds backup artifacts under relative keys such as
// "<tenant-id>/<backup-id>/data". Its methods are safe for concurrent use.
type Store interface {
	// Put stores r under key, streaming; a failed or cancelled Put leaves
	// no object visible under key (an object stored there earlier stays).
	Put(ctx context.Context, key string, r io.Reader) (size int64, err error)
	// Get opens the object under key; ENotFound when absent.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Stat returns the size of the object under key; ENotFound when absent.
	Stat(ctx context.Context, key string) (size int64, err error)
	// List returns the sorted keys that start with prefix ("" for all).
	List(ctx context.Context, prefix string) ([]string, error)
	// Delete removes the object under key; an absent one is no error.
	Delete(ctx context.Context, key string) error
	// String is the store's URL, never with credentials.
	String() string
}

// Options configure an s3:// store; a file:// store ignores them. The
// caller (cmd/platform) reads them from its environment.
type Options struct {
	// Endpoint is the S3 server: "https://host[:port]", "http://host[:port]"
	// (only with Insecure), or a bare "host[:port]" (https, or http with
	// Insecure). Empty: s3.amazonaws.com.
	Endpoint string
	// AccessKey and SecretKey sign every request; both empty: anonymous.
	AccessKey, SecretKey string
	// Region is the bucket's region; empty: us-east-1 (what most
	// S3-compatible servers expect, and no lookup request).
	Region string
	// Insecure allows plain HTTP to the endpoint: credentials and
	// artifacts (encrypted, but still) travel in clear. Dev servers only.
	Insecure bool
}

// PartSize is the size of each part of an S3 multipart upload: one buffer
// of this size is a Put's peak memory (about PartSize + 1 MiB), whatever
// the size of the stream; with S3's 10,000 parts an object can reach
// 10,000 × 16 MiB = 156 GiB.
const PartSize = 16 << 20

// Open returns the store rawURL names: file:///absolute/dir (created 0700
// when missing) or s3://bucket[/prefix] (no request is sent until the
// first operation). A malformed URL is EInvalid; a directory that cannot
// be created is EUnavailable.
func Open(ctx context.Context, rawURL string, opts Options) (Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error quotes the URL, which might carry credentials: say less.
		return nil, tenant.Errorf(tenant.EInvalid, "backup storage URL is malformed; want file:///dir or s3://bucket/prefix")
	}
	if u.User != nil {
		return nil, tenant.Errorf(tenant.EInvalid, "backup storage URL must not carry credentials; pass them in the S3 options")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, tenant.Errorf(tenant.EInvalid, "backup storage URL %s: no query, fragment or opaque part allowed", redact(u))
	}
	switch u.Scheme {
	case "file":
		return openFile(ctx, u)
	case "s3":
		return openS3(u, opts)
	case "":
		return nil, tenant.Errorf(tenant.EInvalid, "backup storage URL %q has no scheme; want file:///dir or s3://bucket/prefix", redact(u))
	default:
		return nil, tenant.Errorf(tenant.EInvalid, "backup storage URL scheme %q is not supported; want file or s3", u.Scheme)
	}
}

// redact is u as text for messages: Open refuses user info anyway, but a
// message must never be the place it leaks.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// partialSuffix ends the name of a file:// artifact being written; keys
// may not end with it, so List can tell them apart.
const partialSuffix = ".partial"

// checkKey refuses keys that could leave the store's root or mean
// different things to different stores: empty, absolute, with a
// backslash, "..", an empty or "." segment, control characters, or the
// partial-file suffix.
func checkKey(key string) error {
	if key == "" {
		return tenant.Errorf(tenant.EInvalid, "backup storage key is empty")
	}
	if err := checkPath(key, "key"); err != nil {
		return err
	}
	if strings.HasSuffix(key, "/") {
		return tenant.Errorf(tenant.EInvalid, "backup storage key %q ends with a slash", key)
	}
	if strings.HasSuffix(key, partialSuffix) {
		return tenant.Errorf(tenant.EInvalid, "backup storage key %q ends with %s, reserved for artifacts being written", key, partialSuffix)
	}
	return nil
}

// checkPrefix is checkKey for List's prefix: "" and a trailing slash are
// fine.
func checkPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return checkPath(strings.TrimSuffix(prefix, "/"), "prefix")
}

func checkPath(p, what string) error {
	switch {
	case strings.HasPrefix(p, "/"):
		return tenant.Errorf(tenant.EInvalid, "backup storage %s %q is absolute; want a relative path", what, p)
	case strings.Contains(p, `\`):
		return tenant.Errorf(tenant.EInvalid, "backup storage %s %q contains a backslash", what, p)
	case strings.Contains(p, ".."):
		return tenant.Errorf(tenant.EInvalid, "backup storage %s %q contains \"..\"", what, p)
	case strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return tenant.Errorf(tenant.EInvalid, "backup storage %s %q contains a control character", what, p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." {
			return tenant.Errorf(tenant.EInvalid, "backup storage %s %q has an empty or \".\" segment", what, p)
		}
	}
	return nil
}

// unavailable is the caller-safe EUnavailable error naming the store; the
// cause stays in the chain (and its text) for the log.
func unavailable(store fmt.Stringer, what string, cause error) error {
	return fmt.Errorf("%w: %w", tenant.Errorf(tenant.EUnavailable, "backup storage %s: %s", store, what), cause)
}

func notFound(store fmt.Stringer, key string) error {
	return tenant.Errorf(tenant.ENotFound, "backup artifact %s not found in %s", key, store)
}

// ctxErr returns the context's error when it ended (a cancelled Put is the
// caller's doing, not the store's failure).
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// joinKey is the object name of key under prefix ("" or "a/b").
func joinKey(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return path.Join(prefix, key)
}

func listing(prefix string) string {
	if prefix == "" {
		return "cannot list its artifacts"
	}
	return "cannot list " + prefix
}
