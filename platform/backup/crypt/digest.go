package crypt

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
)

// Digest counts and hashes (SHA-256) the bytes that pass through it. The
// manifest carries the digest of the CIPHERTEXT, the artifact exactly as
// stored: a copy (file, S3, the remote copy) can be checked against it
// without the data key or Vault, and the plaintext needs no digest of its
// own, since every chunk's GCM tag authenticates it.
//
// Backup: pg_dump → crypt.NewWriter(d.Writer(storage)) — everything the
// storage accepted is hashed. Verify: crypt.NewReader(d.Reader(object)),
// read to io.EOF, then d.Check(manifest sha256, size).
type Digest struct {
	h hash.Hash
	n int64
}

// NewDigest returns an empty digest.
func NewDigest() *Digest { return &Digest{h: sha256.New()} }

// Writer returns a writer that writes to w and hashes what w accepted.
func (d *Digest) Writer(w io.Writer) io.Writer { return digestWriter{d, w} }

// Reader returns a reader that reads from r and hashes what it returns.
func (d *Digest) Reader(r io.Reader) io.Reader { return digestReader{d, r} }

// Sum is the lower-case hex SHA-256 of the bytes seen so far.
func (d *Digest) Sum() string { return hex.EncodeToString(d.h.Sum(nil)) }

// Size is the number of bytes seen so far.
func (d *Digest) Size() int64 { return d.n }

// Check compares with a manifest's size and sha256; a mismatch is
// ErrCorrupt (an artifact that is not what was written).
func (d *Digest) Check(sha256Hex string, size int64) error {
	if d.n != size {
		return fmt.Errorf("%w: artifact is %d bytes, the manifest says %d", ErrCorrupt, d.n, size)
	}
	if got := d.Sum(); got != sha256Hex {
		return fmt.Errorf("%w: artifact sha256 %s, the manifest says %s", ErrCorrupt, got, sha256Hex)
	}
	return nil
}

type digestWriter struct {
	d *Digest
	w io.Writer
}

func (t digestWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	t.d.h.Write(p[:n])
	t.d.n += int64(n)
	return n, err
}

type digestReader struct {
	d *Digest
	r io.Reader
}

func (t digestReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.d.h.Write(p[:n])
	t.d.n += int64(n)
	return n, err
}
