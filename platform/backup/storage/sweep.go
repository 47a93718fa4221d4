package storage

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Sweeper is a Store that can remove what interrupted Puts left behind:
// a process killed mid-Put cannot clean up after itself, so a file://
// store keeps its .partial file and an S3 store its incomplete multipart
// upload (whose parts the bucket bills and keeps forever).
type Sweeper interface {
	// SweepPartial removes the leftovers of Puts under prefix that began
	// more than olderThan ago (a Put still running is younger than that)
	// and says how many it removed.
	SweepPartial(ctx context.Context, prefix string, olderThan time.Duration) (int, error)
}

func (s *fileStore) SweepPartial(ctx context.Context, prefix string, olderThan time.Duration) (int, error) {
	if err := checkPrefix(prefix); err != nil {
		return 0, err
	}
	start := s.root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = s.path(prefix[:i])
	}
	cutoff := time.Now().Add(-olderThan)
	n := 0
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == start && absent(err) {
				return fs.SkipAll
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.Type().IsRegular() || !strings.HasSuffix(d.Name(), partialSuffix) {
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil || !strings.HasPrefix(filepath.ToSlash(rel), prefix) {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			if absent(err) { // its Put just ended
				return nil
			}
			return err
		}
		if fi.ModTime().After(cutoff) {
			return nil
		}
		if err := os.Remove(p); err != nil && !absent(err) {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return n, ctxErr(ctx, err)
		}
		return n, s.ioErr("cannot sweep partial files under "+prefix, err)
	}
	return n, nil
}

func (s *s3Store) SweepPartial(ctx context.Context, prefix string, olderThan time.Duration) (int, error) {
	if err := checkPrefix(prefix); err != nil {
		return 0, err
	}
	cutoff := time.Now().Add(-olderThan)
	// path.Join drops a trailing slash, which keeps "a/" from matching "ab".
	obj := s.object(prefix)
	if (prefix == "" && s.prefix != "") || strings.HasSuffix(prefix, "/") {
		obj += "/"
	}
	n := 0
	for up := range s.client.ListIncompleteUploads(ctx, s.bucket, obj, true) {
		if up.Err != nil {
			return n, s.translate(ctx, up.Err, "cannot list incomplete uploads under "+prefix, prefix)
		}
		if up.Initiated.After(cutoff) {
			continue
		}
		if err := s.client.RemoveIncompleteUpload(ctx, s.bucket, up.Key); err != nil {
			return n, s.translate(ctx, err, "cannot abort the incomplete upload of "+up.Key, up.Key)
		}
		n++
	}
	return n, nil
}

var (
	_ Sweeper = (*fileStore)(nil)
	_ Sweeper = (*s3Store)(nil)
)
