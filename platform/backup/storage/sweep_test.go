package storage

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// leftover leaves what a Put killed mid-way leaves under key: a .partial
// file (file://) or an incomplete multipart upload with a part (s3://).
func leftover(t *testing.T, s Store, key string, age time.Duration) {
	t.Helper()
	ctx := context.Background()
	switch s := s.(type) {
	case *fileStore:
		p := s.path(key) + ".12345" + partialSuffix
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("half an artifact"), 0o600); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(-age)
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	case *s3Store:
		core := minio.Core{Client: s.client}
		id, err := core.NewMultipartUpload(ctx, s.bucket, s.object(key), minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		part := bytes.Repeat([]byte("x"), 5<<20)
		if _, err := core.PutObjectPart(ctx, s.bucket, s.object(key), id, 1, bytes.NewReader(part), int64(len(part)), minio.PutObjectPartOptions{}); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("store %T", s)
	}
}

// leftovers counts the leftovers under prefix.
func leftovers(t *testing.T, s Store, prefix string) int {
	t.Helper()
	n := 0
	switch s := s.(type) {
	case *fileStore:
		err := filepath.WalkDir(s.root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(s.root, p)
			if !d.IsDir() && filepath.Ext(p) == partialSuffix && len(rel) >= len(prefix) && filepath.ToSlash(rel)[:len(prefix)] == prefix {
				n++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	case *s3Store:
		for up := range s.client.ListIncompleteUploads(context.Background(), s.bucket, s.object(prefix)+"/", true) {
			if up.Err != nil {
				t.Fatal(up.Err)
			}
			n++
		}
	}
	return n
}

// TestSweepPartial: the leftovers of killed Puts under a prefix are
// removed once older than the bound; other prefixes, young leftovers and
// stored objects stay.
func TestSweepPartial(t *testing.T) {
	forEach(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		sw, ok := s.(Sweeper)
		if !ok {
			t.Fatalf("%T is no Sweeper", s)
		}
		if _, err := s.Put(ctx, "t1/kept/data", bytes.NewReader([]byte("whole"))); err != nil {
			t.Fatal(err)
		}
		leftover(t, s, "t1/b1/data", 48*time.Hour)
		leftover(t, s, "t2/b2/data", 48*time.Hour)
		t.Cleanup(func() { sw.SweepPartial(context.Background(), "", -time.Hour) })
		if a, b := leftovers(t, s, "t1"), leftovers(t, s, "t2"); a != 1 || b != 1 {
			t.Fatalf("leftovers before: %d %d", a, b)
		}
		// The s3 upload began just now: a bound of an hour keeps it.
		if _, isS3 := s.(*s3Store); isS3 {
			if n, err := sw.SweepPartial(ctx, "t1/", time.Hour); err != nil || n != 0 || leftovers(t, s, "t1") != 1 {
				t.Fatalf("swept a young upload: %d %v", n, err)
			}
		}
		n, err := sw.SweepPartial(ctx, "t1/", -time.Minute)
		if err != nil || n != 1 {
			t.Fatalf("sweep t1/: %d %v, want 1", n, err)
		}
		if a, b := leftovers(t, s, "t1"), leftovers(t, s, "t2"); a != 0 || b != 1 {
			t.Errorf("leftovers after: t1 %d (want 0), t2 %d (want 1)", a, b)
		}
		if keys, err := s.List(ctx, "t1/"); err != nil || len(keys) != 1 || keys[0] != "t1/kept/data" {
			t.Errorf("stored objects after the sweep: %v %v", keys, err)
		}
		if _, err := sw.SweepPartial(ctx, "../x", 0); err == nil {
			t.Error("a bad prefix was accepted")
		}
	})
}
