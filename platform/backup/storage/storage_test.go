package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// testBucket is the dev S3 server's bucket (scripts/dev-services up
// creates it).
func testBucket(t testing.TB) string { return platformtest.Getenv(t, "PLATFORM_TEST_S3_BUCKET") }

func s3Options(t testing.TB) Options {
	return Options{
		Endpoint:  platformtest.Getenv(t, "PLATFORM_TEST_S3_ENDPOINT"),
		AccessKey: platformtest.Getenv(t, "PLATFORM_TEST_S3_ACCESS_KEY"),
		SecretKey: platformtest.Getenv(t, "PLATFORM_TEST_S3_SECRET_KEY"),
		Insecure:  true,
	}
}

type kind struct {
	name string
	open func(t *testing.T) Store
}

// kinds are the stores every behaviour is checked on: a fresh temporary
// directory, and a random prefix of the dev bucket (emptied afterwards).
var kinds = []kind{
	{"file", func(t *testing.T) Store {
		s, err := Open(platformtest.Context(t), "file://"+filepath.Join(t.TempDir(), "backups"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}},
	{"s3", func(t *testing.T) Store {
		s, err := Open(platformtest.Context(t), "s3://"+testBucket(t)+"/test-"+platformtest.Rand(12), s3Options(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx := context.Background()
			keys, err := s.List(ctx, "")
			if err != nil {
				t.Errorf("cleanup: %v", err)
			}
			for _, k := range keys {
				if err := s.Delete(ctx, k); err != nil {
					t.Errorf("cleanup: %v", err)
				}
			}
		})
		return s
	}},
}

// forEach runs fn as a parallel subtest on each kind of store.
func forEach(t *testing.T, fn func(t *testing.T, s Store)) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			fn(t, k.open(t))
		})
	}
}

// stream is n deterministic pseudo-random bytes generated as they are
// read, never held whole.
func stream(seed uint64, n int64) io.Reader {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	return io.LimitReader(rand.NewChaCha8(s), n)
}

func sum(t *testing.T, r io.Reader) ([32]byte, int64) {
	t.Helper()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil)), n
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := tenant.ErrorCode(err); got != code {
		t.Fatalf("error code %q (%v), want %q", got, err, code)
	}
}

const mib = 1 << 20

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, s Store) {
		ctx := platformtest.Context(t)
		const size = 40 * mib
		key := platformtest.Rand(8) + "/" + platformtest.Rand(8) + "/data"
		h := sha256.New()
		n, err := s.Put(ctx, key, io.TeeReader(stream(1, size), h))
		if err != nil {
			t.Fatal(err)
		}
		if n != size {
			t.Fatalf("Put stored %d bytes, want %d", n, size)
		}
		if got, err := s.Stat(ctx, key); err != nil || got != size {
			t.Fatalf("Stat = %d, %v; want %d", got, err, size)
		}
		rc, err := s.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		got, gotN := sum(t, rc)
		if gotN != size || got != [32]byte(h.Sum(nil)) {
			t.Fatalf("Get returned %d bytes with another SHA-256 than the %d put", gotN, size)
		}
	})
}

// TestMemoryBound runs alone (not parallel): the figures are the whole
// process's. A Put or Get holds its buffer (one S3 part, or a 32 KiB copy
// buffer), not the stream: the live heap never grows by more than a part,
// and all a Put allocates is that part plus, for S3 over plain HTTP, the
// streaming signature's small garbage per 64 KiB chunk (about 10% of the
// stream, collected as it goes).
func TestMemoryBound(t *testing.T) {
	const size = 40 * mib
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			s := k.open(t)
			ctx := platformtest.Context(t)
			allocLimit, liveLimit := uint64(mib), uint64(mib) // file: a copy buffer and bookkeeping
			if k.name == "s3" {
				allocLimit, liveLimit = PartSize+size/4, PartSize+4*mib
			}
			key := platformtest.Rand(8) + "/data"
			alloc, live := measure(t, func() {
				if _, err := s.Put(ctx, key, stream(2, size)); err != nil {
					t.Fatal(err)
				}
			})
			t.Logf("Put of %d MiB: allocated %.1f MiB (limit %.1f), live heap grew by at most %.1f MiB (limit %.1f)",
				size/mib, float64(alloc)/mib, float64(allocLimit)/mib, float64(live)/mib, float64(liveLimit)/mib)
			if alloc > allocLimit || live > liveLimit {
				t.Errorf("Put of %d MiB allocated %d bytes (limit %d), live heap +%d bytes (limit %d)", size/mib, alloc, allocLimit, live, liveLimit)
			}
			alloc, live = measure(t, func() {
				rc, err := s.Get(ctx, key)
				if err != nil {
					t.Fatal(err)
				}
				defer rc.Close()
				if _, n := sum(t, rc); n != size {
					t.Fatalf("Get returned %d bytes, want %d", n, size)
				}
			})
			t.Logf("Get of %d MiB: allocated %.1f MiB, live heap grew by at most %.1f MiB", size/mib, float64(alloc)/mib, float64(live)/mib)
			if alloc > 2*mib {
				t.Errorf("Get of %d MiB allocated %d bytes, more than %d", size/mib, alloc, 2*mib)
			}
		})
	}
}

// measure runs fn and returns the bytes it allocated (TotalAlloc) and the
// largest growth of the live heap that a GC measured meanwhile (sampled,
// and read once more at the end, with a GC, while fn's buffers may still
// be reachable: the last GC inside fn counts too).
func measure(t *testing.T, fn func()) (alloc, live uint64) {
	t.Helper()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			t.Fatalf("runtime/metrics has no %s", sample[0].Name)
		}
		return sample[0].Value.Uint64()
	}
	var before, after runtime.MemStats
	runtime.GC()
	base := read()
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			if v := read(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(done)
	<-stopped
	runtime.ReadMemStats(&after)
	if v := read(); v > peak.Load() {
		peak.Store(v)
	}
	if p := peak.Load(); p > base {
		live = p - base
	}
	return after.TotalAlloc - before.TotalAlloc, live
}

// stallingReader gives n bytes of a stream, then calls at (once) and
// blocks until ctx ends.
type stallingReader struct {
	ctx  context.Context
	r    io.Reader
	n    int64
	at   func()
	once sync.Once
}

func (s *stallingReader) Read(p []byte) (int, error) {
	if s.n <= 0 {
		s.once.Do(s.at)
		<-s.ctx.Done()
		return 0, s.ctx.Err()
	}
	if int64(len(p)) > s.n {
		p = p[:s.n]
	}
	m, err := s.r.Read(p)
	s.n -= int64(m)
	return m, err
}

// failingReader gives n bytes, then fails with err.
type failingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	m, err := f.r.Read(p)
	f.n -= int64(m)
	return m, err
}

// assertNothing checks that nothing is visible under key: not the object,
// not in a listing, and (s3) no multipart upload left behind.
func assertNothing(t *testing.T, s Store, key string) {
	t.Helper()
	ctx := platformtest.Context(t)
	_, err := s.Stat(ctx, key)
	wantCode(t, err, tenant.ENotFound)
	_, err = s.Get(ctx, key)
	wantCode(t, err, tenant.ENotFound)
	keys, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(keys, key) {
		t.Fatalf("List shows %s after a failed Put: %v", key, keys)
	}
	switch s := s.(type) {
	case *fileStore:
		var files []string
		if err := filepath.WalkDir(s.root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, p)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, partialSuffix) {
				t.Fatalf("a partial file is left behind: %s", f)
			}
		}
	case *s3Store:
		for u := range s.client.ListIncompleteUploads(ctx, s.bucket, s.object(key), true) {
			if u.Err != nil {
				t.Fatal(u.Err)
			}
			t.Fatalf("an incomplete multipart upload is left behind: %s %s", u.Key, u.UploadID)
		}
	}
}

func TestCancelledPut(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, s Store) {
		ctx, cancel := context.WithCancel(platformtest.Context(t))
		defer cancel()
		key := platformtest.Rand(8) + "/data"
		// More than one S3 part is uploaded before the cancellation.
		r := &stallingReader{ctx: ctx, r: stream(3, 1<<40), n: PartSize + 3*mib, at: cancel}
		_, err := s.Put(ctx, key, r)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Put: %v, want context.Canceled", err)
		}
		assertNothing(t, s, key)
	})
}

func TestFailedPut(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, s Store) {
		ctx := platformtest.Context(t)
		boom := errors.New("the dump failed")
		for _, n := range []int64{0, 1 * mib, PartSize + 1*mib} {
			key := platformtest.Rand(8) + "/data"
			_, err := s.Put(ctx, key, &failingReader{r: stream(4, 1<<40), n: n, err: boom})
			if !errors.Is(err, boom) {
				t.Fatalf("Put from a failing stream after %d bytes: %v, want the stream's error", n, err)
			}
			assertNothing(t, s, key)
		}
		// A failed Put over an existing artifact leaves the old one whole.
		key := platformtest.Rand(8) + "/data"
		if _, err := s.Put(ctx, key, strings.NewReader("old artifact")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Put(ctx, key, &failingReader{r: stream(5, 1<<40), n: 2 * mib, err: boom}); !errors.Is(err, boom) {
			t.Fatalf("Put over an artifact from a failing stream: %v", err)
		}
		rc, err := s.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if b, err := io.ReadAll(rc); err != nil || string(b) != "old artifact" {
			t.Fatalf("after a failed overwrite: %q, %v", b, err)
		}
	})
}

func TestListStatDelete(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, s Store) {
		ctx := platformtest.Context(t)
		if keys, err := s.List(ctx, ""); err != nil || len(keys) != 0 {
			t.Fatalf("List of an empty store = %v, %v", keys, err)
		}
		objects := map[string]string{
			"t1/b1/data":     "one",
			"t1/b1/manifest": "{}",
			"t1/b2/data":     "",
			"t1-x/b1/data":   "other tenant, same leading characters",
			"t2/b1/data":     "two",
		}
		for k, v := range objects {
			n, err := s.Put(ctx, k, strings.NewReader(v))
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(v)) {
				t.Fatalf("Put %s: %d bytes, want %d", k, n, len(v))
			}
		}
		for _, tc := range []struct {
			prefix string
			want   []string
		}{
			{"", []string{"t1-x/b1/data", "t1/b1/data", "t1/b1/manifest", "t1/b2/data", "t2/b1/data"}},
			{"t1/", []string{"t1/b1/data", "t1/b1/manifest", "t1/b2/data"}},
			{"t1", []string{"t1-x/b1/data", "t1/b1/data", "t1/b1/manifest", "t1/b2/data"}},
			{"t1/b1/m", []string{"t1/b1/manifest"}},
			{"t3/", nil},
			{"t1/b9/x", nil},
		} {
			got, err := s.List(ctx, tc.prefix)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("List(%q) = %v, want %v", tc.prefix, got, tc.want)
			}
		}
		for k, v := range objects {
			if n, err := s.Stat(ctx, k); err != nil || n != int64(len(v)) {
				t.Errorf("Stat(%s) = %d, %v; want %d", k, n, err, len(v))
			}
		}
		rc, err := s.Get(ctx, "t1/b2/data")
		if err != nil {
			t.Fatal(err)
		}
		if b, err := io.ReadAll(rc); err != nil || len(b) != 0 {
			t.Fatalf("empty artifact: %q, %v", b, err)
		}
		rc.Close()
		// Prefixes are no artifacts.
		for _, k := range []string{"t1", "t1/b1", "t1/b1/dat"} {
			_, err := s.Stat(ctx, k)
			wantCode(t, err, tenant.ENotFound)
			_, err = s.Get(ctx, k)
			wantCode(t, err, tenant.ENotFound)
			if err := s.Delete(ctx, k); err != nil {
				t.Fatalf("Delete(%s) of a prefix: %v", k, err)
			}
		}
		// Overwrite replaces.
		if _, err := s.Put(ctx, "t2/b1/data", strings.NewReader("newer")); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Stat(ctx, "t2/b1/data"); err != nil || n != 5 {
			t.Fatalf("Stat after overwrite = %d, %v", n, err)
		}
		for range 2 { // idempotent
			if err := s.Delete(ctx, "t1/b1/data"); err != nil {
				t.Fatal(err)
			}
		}
		_, err = s.Stat(ctx, "t1/b1/data")
		wantCode(t, err, tenant.ENotFound)
		_, err = s.Get(ctx, "t1/b1/data")
		wantCode(t, err, tenant.ENotFound)
		if msg := tenant.ErrorMessage(err); !strings.Contains(msg, "t1/b1/data") {
			t.Errorf("not-found message does not name the key: %q", msg)
		}
		got, err := s.List(ctx, "t1/")
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"t1/b1/manifest", "t1/b2/data"}; !slices.Equal(got, want) {
			t.Fatalf("List after Delete = %v, want %v", got, want)
		}
		if err := s.Delete(ctx, "never/was"); err != nil {
			t.Fatalf("Delete of an absent key: %v", err)
		}
	})
}

func TestKeyValidation(t *testing.T) {
	t.Parallel()
	bad := []string{
		"", "/abs/key", "a/../b", "..", "../x", "a/..", "a..b", `a\b`, `..\x`, "a//b", "a/./b", "./a",
		"a/", "a\x00b", "a\nb", "x/data.partial",
	}
	forEach(t, func(t *testing.T, s Store) {
		ctx := platformtest.Context(t)
		for _, k := range bad {
			_, err := s.Put(ctx, k, strings.NewReader("x"))
			wantCode(t, err, tenant.EInvalid)
			_, err = s.Get(ctx, k)
			wantCode(t, err, tenant.EInvalid)
			_, err = s.Stat(ctx, k)
			wantCode(t, err, tenant.EInvalid)
			wantCode(t, s.Delete(ctx, k), tenant.EInvalid)
		}
		for _, p := range []string{"/abs", "a/../", "..", `a\`, "a//", "./"} {
			_, err := s.List(ctx, p)
			wantCode(t, err, tenant.EInvalid)
		}
		keys, err := s.List(ctx, "")
		if err != nil || len(keys) != 0 {
			t.Fatalf("refused keys stored something: %v, %v", keys, err)
		}
		for _, k := range []string{"a", "a.b/c-d_e/f.g", "0f3c/2026-12-01T03:00:00Z/data.enc", "t/b/manifest.json"} {
			if _, err := s.Put(ctx, k, strings.NewReader(k)); err != nil {
				t.Fatalf("Put(%q): %v", k, err)
			}
		}
	})
}

func TestFilePermissions(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	root := filepath.Join(t.TempDir(), "a", "backups")
	s, err := Open(ctx, "file://"+root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "t/b/data", bytes.NewReader(make([]byte, 100))); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{
		root: os.ModeDir | 0o700, filepath.Join(root, "t"): os.ModeDir | 0o700,
		filepath.Join(root, "t/b"): os.ModeDir | 0o700, filepath.Join(root, "t/b/data"): 0o600,
	} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}
	// A .partial file left by a crash is not an artifact.
	if err := os.WriteFile(filepath.Join(root, "t/b/data.123.partial"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if keys, err := s.List(ctx, ""); err != nil || !slices.Equal(keys, []string{"t/b/data"}) {
		t.Fatalf("List = %v, %v; want only t/b/data", keys, err)
	}
	// A key where a directory is: a conflict, not a crash.
	_, err = s.Put(ctx, "t/b", strings.NewReader("x"))
	wantCode(t, err, tenant.EConflict)
	_, err = s.Put(ctx, "t/b/data/x", strings.NewReader("x"))
	wantCode(t, err, tenant.EConflict)
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestUnavailable(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	good := s3Options(t)
	const secret = "s3cr3t-never-shown-0123456789"
	for _, tc := range []struct {
		name, url, msg string
		opts           Options
	}{
		{"closed port", "s3://" + testBucket(t) + "/x", "cannot be reached",
			Options{Endpoint: "http://" + closedPort(t), AccessKey: "AKIDNEVERSHOWN", SecretKey: secret, Insecure: true}},
		{"wrong secret", "s3://" + testBucket(t) + "/x", "refused the credentials",
			Options{Endpoint: good.Endpoint, AccessKey: good.AccessKey, SecretKey: secret, Insecure: true}},
		{"no bucket", "s3://no-such-bucket-" + platformtest.Rand(8) + "/x", "does not exist", good},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := Open(ctx, tc.url, tc.opts)
			if err != nil {
				t.Fatal(err) // Open sends nothing
			}
			check := func(op string, err error) {
				t.Helper()
				wantCode(t, err, tenant.EUnavailable)
				msg := tenant.ErrorMessage(err)
				if !strings.Contains(msg, tc.msg) || !strings.Contains(msg, s.String()) {
					t.Errorf("%s: message %q does not say %q about %s", op, msg, tc.msg, s)
				}
				for _, c := range []string{tc.opts.AccessKey, tc.opts.SecretKey} {
					if strings.Contains(err.Error(), c) {
						t.Errorf("%s: the error shows a credential: %v", op, err)
					}
				}
			}
			_, err = s.Put(ctx, "k/data", stream(6, 3*mib))
			check("Put", err)
			_, err = s.Get(ctx, "k/data")
			check("Get", err)
			_, err = s.Stat(ctx, "k/data")
			check("Stat", err)
			_, err = s.List(ctx, "")
			check("List", err)
			check("Delete", s.Delete(ctx, "k/data"))
		})
	}
}

func TestOpenInvalid(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	ep := Options{Endpoint: "http://127.0.0.1:1", AccessKey: "a", SecretKey: "b", Insecure: true}
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url  string
		opts Options
	}{
		{"", ep},
		{"/var/backups", ep},
		{"backups", ep},
		{"ftp://host/dir", ep},
		{"%zz", ep},
		{"file://host/dir", ep},
		{"file:relative/dir", ep},
		{"file:///", ep},
		{"file:///dir?x=1", ep},
		{"file://" + notDir, ep},
		{"s3://", ep},
		{"s3:///prefix", ep},
		{"s3://Bad_Bucket/p", ep},
		{"s3://ab/p", ep},
		{"s3://bucket/a/../b", ep},
		{"s3://bucket/a//b", ep},
		{"s3://bucket/p#frag", ep},
		{"s3://user:topsecret@bucket/p", ep},
		{"s3://bucket/p", Options{Endpoint: "http://127.0.0.1:1", AccessKey: "a", SecretKey: "b"}}, // plain HTTP not allowed
		{"s3://bucket/p", Options{Endpoint: "https://127.0.0.1:1/path", AccessKey: "a", SecretKey: "b"}},
		{"s3://bucket/p", Options{Endpoint: "ftp://127.0.0.1:1", AccessKey: "a", SecretKey: "b"}},
		{"s3://bucket/p", Options{Endpoint: "https://k:v@127.0.0.1:1", AccessKey: "a", SecretKey: "b"}},
		{"s3://bucket/p", Options{Endpoint: "127.0.0.1:1/x", AccessKey: "a", SecretKey: "b"}},
		{"s3://bucket/p", Options{Endpoint: "https://127.0.0.1:1", AccessKey: "a"}},
		{"s3://bucket/p", Options{Endpoint: "https://127.0.0.1:1", SecretKey: "b"}},
	} {
		s, err := Open(ctx, tc.url, tc.opts)
		if tenant.ErrorCode(err) != tenant.EInvalid {
			t.Errorf("Open(%q, endpoint %q) = %v, %v; want %s", tc.url, tc.opts.Endpoint, s, err, tenant.EInvalid)
		}
		if err != nil && strings.Contains(err.Error(), "topsecret") {
			t.Errorf("Open(%q): the error shows the password: %v", "s3://user:…@bucket/p", err)
		}
	}
}

func TestString(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	dir := filepath.Join(t.TempDir(), "with space")
	for _, tc := range []struct {
		url, want string
		opts      Options
	}{
		{"file://" + dir + "/", "file://" + strings.ReplaceAll(dir, " ", "%20"), Options{}},
		{"file://localhost" + dir, "file://" + strings.ReplaceAll(dir, " ", "%20"), Options{}},
		{"s3://bucket/tenants/backups/", "s3://bucket/tenants/backups", Options{Endpoint: "s3.example.com", AccessKey: "AKIDSHOWN", SecretKey: "neverShown"}},
		{"s3://bucket", "s3://bucket/", Options{Endpoint: "http://127.0.0.1:1", AccessKey: "AKIDSHOWN", SecretKey: "neverShown", Insecure: true}},
	} {
		s, err := Open(ctx, tc.url, tc.opts)
		if err != nil {
			t.Fatalf("Open(%q): %v", tc.url, err)
		}
		if got := s.String(); got != tc.want || strings.Contains(got, "AKID") || strings.Contains(got, "neverShown") {
			t.Errorf("Open(%q).String() = %q, want %q", tc.url, got, tc.want)
		}
	}
}

// The default AWS endpoint is TLS and needs no lookup request.
func TestS3EndpointDefaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		opts   Options
		host   string
		secure bool
	}{
		{Options{}, "s3.amazonaws.com", true},
		{Options{Endpoint: "minio.example.com:9000"}, "minio.example.com:9000", true},
		{Options{Endpoint: "minio.example.com:9000", Insecure: true}, "minio.example.com:9000", false},
		{Options{Endpoint: "https://minio.example.com/"}, "minio.example.com", true},
		{Options{Endpoint: "http://127.0.0.1:7070", Insecure: true}, "127.0.0.1:7070", false},
	} {
		host, secure, err := s3Endpoint(tc.opts)
		if err != nil || host != tc.host || secure != tc.secure {
			t.Errorf("s3Endpoint(%+v) = %q, %v, %v; want %q, %v", tc.opts, host, secure, err, tc.host, tc.secure)
		}
	}
}

// Concurrent Puts of one key: the artifact is one of them, whole.
func TestConcurrentPut(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, s Store) {
		ctx := platformtest.Context(t)
		const n, size = 4, 3 * mib
		key := platformtest.Rand(8) + "/data"
		sums := make(map[[32]byte]bool)
		var mu sync.Mutex
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				h := sha256.New()
				if _, err := s.Put(ctx, key, io.TeeReader(stream(uint64(10+i), size), h)); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				sums[[32]byte(h.Sum(nil))] = true
				mu.Unlock()
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		rc, err := s.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if got, gotN := sum(t, rc); gotN != size || !sums[got] {
			t.Fatalf("after %d concurrent Puts the artifact (%d bytes) is none of them", n, gotN)
		}
		if keys, err := s.List(ctx, ""); err != nil || !slices.Equal(keys, []string{key}) {
			t.Fatalf("List = %v, %v; want [%s]", keys, err, key)
		}
	})
}

// BenchmarkPutGet streams 64 MiB in and out of each store:
// go test -run '^$' -bench PutGet -benchtime 5x ./platform/backup/storage/
func BenchmarkPutGet(b *testing.B) {
	const size = 64 * mib
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			s := openForBench(b, k.name)
			ctx := context.Background()
			b.SetBytes(2 * size)
			for i := 0; b.Loop(); i++ {
				key := "bench-" + platformtest.Rand(8) + "/data"
				if _, err := s.Put(ctx, key, stream(uint64(i), size)); err != nil {
					b.Fatal(err)
				}
				rc, err := s.Get(ctx, key)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, rc); err != nil {
					b.Fatal(err)
				}
				rc.Close()
				if err := s.Delete(ctx, key); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func openForBench(b *testing.B, name string) Store {
	ctx := context.Background()
	url, opts := "file://"+filepath.Join(b.TempDir(), "backups"), Options{}
	if name == "s3" {
		url, opts = "s3://"+testBucket(b)+"/bench-"+platformtest.Rand(12), s3Options(b)
	}
	s, err := Open(ctx, url, opts)
	if err != nil {
		b.Fatal(err)
	}
	return s
}
