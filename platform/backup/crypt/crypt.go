// Package crypt is the streamed authenticated encryption of backup
// artifacts: AES-256-GCM in chunks, after the STREAM construction
// (Hoang, Reyhanitabar, Rogaway, Vizár 2015) as age uses it.
//
// Format (version 1):
//
//	header  magic "TNCYBKP\n" (8) | version 1 (1) | chunk size, big-endian uint32 (4) | stream id (16)
//	chunk*  AES-256-GCM(plaintext of chunk size bytes) | 16-byte tag
//	final   AES-256-GCM(0..chunk size bytes) | 16-byte tag
//
// Every chunk is sealed under a per-stream key, HKDF-SHA256(data key, salt =
// stream id), with nonce = 3 zero bytes | chunk index (big-endian uint64) |
// final flag (1 on the last chunk, 0 before), and the whole header as
// additional data. So a chunk moved, dropped, duplicated or taken from
// another stream fails its tag; a stream cut at a chunk boundary ends on a
// chunk not sealed as final; bytes after the final chunk make it non-final;
// a changed header byte fails chunk 0 (every stream has one: an empty
// stream is one empty final chunk). The random stream id also means one
// data key used for two streams never reuses a (key, nonce) pair.
//
// Non-final chunks are always full; the final chunk is only empty for an
// empty stream. Writer and Reader each hold one chunk (plus its tag).
//
// A Reader hands out a chunk's plaintext as soon as its tag checks, before
// later chunks are read: a consumer (pg_restore) may have seen a prefix of
// a stream that turns out truncated or altered further on. Treat an
// artifact as good only when the Reader reached io.EOF.
package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

const (
	// KeySize is the size of a data key.
	KeySize = 32
	// ChunkSize is the plaintext size of every chunk but the last.
	ChunkSize = 1 << 20
	// MinChunkSize and MaxChunkSize bound what a header may declare, and so
	// what a Reader allocates for a stream of unknown origin.
	MinChunkSize = 64
	MaxChunkSize = 16 << 20

	version    = 1
	headerSize = 8 + 1 + 4 + 16
	idSize     = 16
	tagSize    = 16
	nonceSize  = 12
	kdfInfo    = "github.com/tenancy/platform backup/crypt v1 chunk key"
)

var magic = [8]byte{'T', 'N', 'C', 'Y', 'B', 'K', 'P', '\n'}

// ErrCorrupt is what any altered, truncated, extended or foreign stream
// gives, and a stream read with the wrong key (GCM cannot tell the two
// apart). The error in hand is a *CorruptError naming the chunk.
var ErrCorrupt = errors.New("backup stream is corrupt")

// CorruptError says where a stream failed. Chunk is the 0-based index of
// the chunk that failed, or -1 for the header.
type CorruptError struct {
	Chunk  int64
	Reason string
}

func (e *CorruptError) Error() string {
	if e.Chunk < 0 {
		return fmt.Sprintf("%v: header: %s", ErrCorrupt, e.Reason)
	}
	return fmt.Sprintf("%v: chunk %d: %s", ErrCorrupt, e.Chunk, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) hold.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// NewKey returns a fresh random data key.
func NewKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	return k, nil
}

// streamAEAD derives the per-stream chunk key.
func streamAEAD(key, id []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("crypt: key is %d bytes, want %d", len(key), KeySize)
	}
	sub, err := hkdf.Key(sha256.New, key, id, kdfInfo, KeySize)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(sub)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// setNonce writes chunk index and final flag into n (12 bytes; the first
// three stay zero).
func setNonce(n *[nonceSize]byte, index uint64, final bool) {
	binary.BigEndian.PutUint64(n[3:11], index)
	n[11] = 0
	if final {
		n[11] = 1
	}
}

type writer struct {
	w      io.Writer
	aead   cipher.AEAD
	header [headerSize]byte
	nonce  [nonceSize]byte
	buf    []byte // plaintext of the current chunk; capacity chunk + tag, sealed in place
	chunk  int
	index  uint64
	err    error // sticky: a stream with a failed write is not resumable
	closed bool
}

// NewWriter encrypts everything written to it into w, in chunks of
// ChunkSize of AES-256-GCM under key (KeySize bytes). It writes the header
// at once; Close writes the final chunk (and must be called: without it
// the stream is truncated and will not decrypt). Close does not close w.
func NewWriter(w io.Writer, key []byte) (io.WriteCloser, error) {
	return NewWriterSize(w, key, ChunkSize)
}

// NewWriterSize is NewWriter with another chunk size (MinChunkSize to
// MaxChunkSize), for tests and fuzzing; backups use ChunkSize.
func NewWriterSize(w io.Writer, key []byte, chunkSize int) (io.WriteCloser, error) {
	if chunkSize < MinChunkSize || chunkSize > MaxChunkSize {
		return nil, fmt.Errorf("crypt: chunk size %d out of [%d, %d]", chunkSize, MinChunkSize, MaxChunkSize)
	}
	x := &writer{w: w, chunk: chunkSize}
	copy(x.header[:8], magic[:])
	x.header[8] = version
	binary.BigEndian.PutUint32(x.header[9:13], uint32(chunkSize))
	if _, err := rand.Read(x.header[13:]); err != nil {
		return nil, err
	}
	aead, err := streamAEAD(key, x.header[13:])
	if err != nil {
		return nil, err
	}
	x.aead = aead
	if _, err := w.Write(x.header[:]); err != nil {
		return nil, fmt.Errorf("crypt: write header: %w", err)
	}
	x.buf = make([]byte, 0, chunkSize+tagSize)
	return x, nil
}

func (x *writer) Write(p []byte) (int, error) {
	if x.closed {
		return 0, errors.New("crypt: write after Close")
	}
	if x.err != nil {
		return 0, x.err
	}
	n := 0
	for len(p) > 0 {
		// A full chunk is sealed only once more data comes: the last
		// chunk must carry the final flag, and only Close knows it is last.
		if len(x.buf) == x.chunk {
			if err := x.seal(false); err != nil {
				return n, err
			}
		}
		c := copy(x.buf[len(x.buf):x.chunk], p)
		x.buf = x.buf[:len(x.buf)+c]
		p = p[c:]
		n += c
	}
	return n, nil
}

func (x *writer) seal(final bool) error {
	if x.index == ^uint64(0) {
		x.err = errors.New("crypt: stream too long")
		return x.err
	}
	setNonce(&x.nonce, x.index, final)
	out := x.aead.Seal(x.buf[:0], x.nonce[:], x.buf, x.header[:])
	if _, err := x.w.Write(out); err != nil {
		x.err = fmt.Errorf("crypt: write chunk %d: %w", x.index, err)
		return x.err
	}
	x.index++
	x.buf = x.buf[:0]
	return nil
}

// Close seals and writes the final chunk. A second Close does nothing.
func (x *writer) Close() error {
	if x.closed {
		return x.err
	}
	x.closed = true
	if x.err != nil {
		return x.err
	}
	return x.seal(true)
}

type reader struct {
	r      io.Reader
	aead   cipher.AEAD
	header [headerSize]byte
	nonce  [nonceSize]byte
	buf    []byte // one sealed chunk plus one byte of look-ahead
	enc    int    // sealed size of a full chunk
	carry  bool   // buf[enc] of the previous read is the next chunk's first byte
	next   byte
	plain  []byte // the unread rest of the current chunk's plaintext
	index  uint64
	done   bool // the final chunk has been opened
	err    error
}

// NewReader decrypts a stream made by NewWriter. It reads the header and
// opens the first chunk at once, so a wrong key or an altered header fails
// here. Any tampering gives an error matching ErrCorrupt (a *CorruptError
// naming the chunk); a failure of r itself is returned as it is, wrapped.
func NewReader(r io.Reader, key []byte) (io.Reader, error) {
	x := &reader{r: r}
	if n, err := io.ReadFull(r, x.header[:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, &CorruptError{Chunk: -1, Reason: fmt.Sprintf("truncated (%d of %d bytes)", n, headerSize)}
		}
		return nil, fmt.Errorf("crypt: read header: %w", err)
	}
	if [8]byte(x.header[:8]) != magic {
		return nil, &CorruptError{Chunk: -1, Reason: "not an encrypted backup (bad magic)"}
	}
	if v := x.header[8]; v != version {
		return nil, &CorruptError{Chunk: -1, Reason: fmt.Sprintf("unknown version %d", v)}
	}
	cs := binary.BigEndian.Uint32(x.header[9:13])
	if cs < MinChunkSize || cs > MaxChunkSize {
		return nil, &CorruptError{Chunk: -1, Reason: fmt.Sprintf("chunk size %d out of range", cs)}
	}
	aead, err := streamAEAD(key, x.header[13:])
	if err != nil {
		return nil, err
	}
	x.aead = aead
	x.enc = int(cs) + tagSize
	x.buf = make([]byte, x.enc+1)
	if err := x.fill(); err != nil {
		return nil, err
	}
	return x, nil
}

func (x *reader) Read(p []byte) (int, error) {
	for len(x.plain) == 0 {
		if x.err != nil {
			return 0, x.err
		}
		if x.done {
			return 0, io.EOF
		}
		if err := x.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, x.plain)
	x.plain = x.plain[n:]
	return n, nil
}

// fill reads and opens the next chunk. Reading one byte past a full chunk
// tells whether it is the last one without trusting anything in the data.
func (x *reader) fill() error {
	start := 0
	if x.carry {
		x.buf[0] = x.next
		start = 1
	}
	n, err := io.ReadFull(x.r, x.buf[start:])
	n += start
	final := false
	switch {
	case err == nil:
		x.next, x.carry = x.buf[x.enc], true
		n = x.enc
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		final, x.carry = true, false
	default:
		x.err = fmt.Errorf("crypt: read chunk %d: %w", x.index, err)
		return x.err
	}
	if n < tagSize {
		x.err = &CorruptError{Chunk: int64(x.index), Reason: fmt.Sprintf("truncated (%d bytes, less than a tag)", n)}
		return x.err
	}
	setNonce(&x.nonce, x.index, final)
	plain, err := x.aead.Open(x.buf[:0], x.nonce[:], x.buf[:n], x.header[:])
	if err != nil {
		reason := "authentication failed (altered, moved, from another stream, or the wrong key)"
		if final {
			reason = "authentication failed as the last chunk (truncated, altered, or the wrong key)"
		}
		x.err = &CorruptError{Chunk: int64(x.index), Reason: reason}
		return x.err
	}
	if final && len(plain) == 0 && x.index > 0 {
		// Writers never end on an empty chunk after data; refuse it so a
		// stream has one encoding only.
		x.err = &CorruptError{Chunk: int64(x.index), Reason: "empty last chunk"}
		return x.err
	}
	x.plain = plain
	x.done = final
	x.index++
	return nil
}
