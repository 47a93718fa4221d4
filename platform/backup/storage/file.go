package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/tenancy/platform/tenant"
)

// fileStore keeps each artifact as a file under root (directories 0700,
// files 0600). A Put writes "<key>.<random>.partial" next to the final
// name, fsyncs it, renames it over the key and fsyncs the directory, so a
// reader sees the old artifact, the new one whole, or none; concurrent
// Puts of one key never share a partial file. A crash leaves only
// .partial files, which List skips.
type fileStore struct {
	root string // absolute and clean
}

func openFile(_ context.Context, u *url.URL) (Store, error) {
	if u.Host != "" && u.Host != "localhost" {
		return nil, tenant.Errorf(tenant.EInvalid, "backup storage URL %s names a host; want file:///absolute/dir", redact(u))
	}
	if u.Path == "" || !filepath.IsAbs(u.Path) {
		return nil, tenant.Errorf(tenant.EInvalid, "backup storage URL %s has no absolute directory; want file:///absolute/dir", redact(u))
	}
	root := filepath.Clean(u.Path)
	if root == "/" {
		return nil, tenant.Errorf(tenant.EInvalid, "backup storage URL %s is the root directory; name a directory of its own", redact(u))
	}
	s := &fileStore{root: root}
	err := os.MkdirAll(root, 0o700)
	if fi, serr := os.Stat(root); serr == nil && !fi.IsDir() || errors.Is(err, syscall.ENOTDIR) {
		return nil, tenant.Errorf(tenant.EInvalid, "backup storage %s is not a directory", s)
	}
	if err != nil {
		return nil, unavailable(s, "cannot create its directory", err)
	}
	return s, nil
}

func (s *fileStore) String() string { return (&url.URL{Scheme: "file", Path: s.root}).String() }

func (s *fileStore) path(key string) string { return filepath.Join(s.root, filepath.FromSlash(key)) }

func (s *fileStore) Put(ctx context.Context, key string, r io.Reader) (size int64, err error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	final := s.path(key)
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, s.ioErr("cannot create the directory of "+key, err)
	}
	f, err := os.CreateTemp(dir, filepath.Base(final)+".*"+partialSuffix) // mode 0600
	if err != nil {
		return 0, s.ioErr("cannot write "+key, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	n, err := io.Copy(f, ctxReader{ctx, r})
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return 0, ctxErr(ctx, err)
		}
		var we *writeError
		if errors.As(err, &we) {
			return 0, s.ioErr("cannot write "+key, err)
		}
		return 0, err // the caller's stream failed: its error, unchanged
	}
	if err = f.Sync(); err != nil {
		return 0, s.ioErr("cannot write "+key, err)
	}
	if err = f.Close(); err != nil {
		return 0, s.ioErr("cannot write "+key, err)
	}
	// The last moment a cancellation can still leave nothing behind.
	if err = ctx.Err(); err != nil {
		return 0, err
	}
	if err = os.Rename(f.Name(), final); err != nil {
		return 0, s.ioErr("cannot store "+key, err)
	}
	if err := syncDir(dir); err != nil {
		// The artifact is in place; only its durability across a crash is
		// in doubt. Say so rather than report success.
		return 0, s.ioErr("cannot sync the directory of "+key, err)
	}
	return n, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// ctxReader stops a copy once ctx ends. It hides the file's ReadFrom and
// the reader's WriteTo, so io.Copy goes through one 32 KiB buffer and a
// write failure is told apart (writeError) from a read failure.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (c ctxReader) WriteTo(w io.Writer) (int64, error) {
	buf := make([]byte, 32<<10)
	var n int64
	for {
		m, rerr := c.Read(buf)
		if m > 0 {
			k, werr := w.Write(buf[:m])
			n += int64(k)
			if werr == nil && k < m {
				werr = io.ErrShortWrite
			}
			if werr != nil {
				return n, &writeError{werr}
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// ioErr is a file system failure: a key clashing with a directory (or a
// file where a directory is needed) is a conflict, the rest unavailable.
func (s *fileStore) ioErr(what string, err error) error {
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.EEXIST) {
		return fmt.Errorf("%w: %w", tenant.Errorf(tenant.EConflict, "backup storage %s: %s: it clashes with an existing artifact or directory", s, what), err)
	}
	return unavailable(s, what, err)
}

func absent(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

func (s *fileStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(s.path(key))
	if err != nil {
		if absent(err) {
			return nil, notFound(s, key)
		}
		return nil, s.ioErr("cannot read "+key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, s.ioErr("cannot read "+key, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, notFound(s, key)
	}
	return f, nil
}

func (s *fileStore) Stat(ctx context.Context, key string) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	fi, err := os.Stat(s.path(key))
	if err != nil {
		if absent(err) {
			return 0, notFound(s, key)
		}
		return 0, s.ioErr("cannot read "+key, err)
	}
	if !fi.Mode().IsRegular() {
		return 0, notFound(s, key)
	}
	return fi.Size(), nil
}

func (s *fileStore) List(ctx context.Context, prefix string) ([]string, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	// Walk only the deepest directory the prefix names whole.
	start := s.root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = s.path(prefix[:i])
	}
	keys := []string{}
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == start && absent(err) {
				return fs.SkipAll // nothing stored under the prefix
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.Type().IsRegular() || strings.HasSuffix(d.Name(), partialSuffix) {
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		if key := filepath.ToSlash(rel); strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctxErr(ctx, err)
		}
		return nil, s.ioErr(listing(prefix), err)
	}
	sort.Strings(keys)
	return keys, nil
}

func (s *fileStore) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := s.path(key)
	fi, err := os.Lstat(p)
	if err != nil {
		if absent(err) {
			return nil
		}
		return s.ioErr("cannot delete "+key, err)
	}
	if fi.IsDir() {
		return nil // a directory is no artifact (os.Remove would take an empty one)
	}
	if err := os.Remove(p); err != nil && !absent(err) {
		return s.ioErr("cannot delete "+key, err)
	}
	return nil
}
