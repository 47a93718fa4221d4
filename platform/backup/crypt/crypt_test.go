package crypt_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/tenancy/platform/platform/backup/crypt"
)

const (
	headerSize = 29
	tagSize    = 16
)

// plain returns a reader of n pseudo-random bytes made on the fly (seeded,
// so two calls give the same stream).
func plain(seed uint64, n int64) io.Reader {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	return io.LimitReader(rand.NewChaCha8(s), n)
}

func newKey(t testing.TB) []byte {
	t.Helper()
	k, err := crypt.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func seal(t testing.TB, key []byte, chunk int, p []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := crypt.NewWriterSize(&out, key, chunk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(p); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func open(key, ct []byte) ([]byte, error) {
	r, err := crypt.NewReader(bytes.NewReader(ct), key)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func chunks(size, chunk int64) int64 {
	if size == 0 {
		return 1
	}
	return (size + chunk - 1) / chunk
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	cs := int64(crypt.ChunkSize)
	for _, size := range []int64{0, 1, cs - 1, cs, cs + 1, 10*cs + 7} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			t.Parallel()
			var ct bytes.Buffer
			w, err := crypt.NewWriter(&ct, key)
			if err != nil {
				t.Fatal(err)
			}
			// Odd-sized writes cross chunk boundaries everywhere.
			if _, err := io.CopyBuffer(w, plain(uint64(size), size), make([]byte, 4093)); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if want := headerSize + size + tagSize*chunks(size, cs); int64(ct.Len()) != want {
				t.Errorf("ciphertext is %d bytes, want %d", ct.Len(), want)
			}
			r, err := crypt.NewReader(bytes.NewReader(ct.Bytes()), key)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			if n, err := io.CopyBuffer(h, r, make([]byte, 7919)); err != nil || n != size {
				t.Fatalf("read %d bytes, %v; want %d", n, err, size)
			}
			w2 := sha256.New()
			if _, err := io.Copy(w2, plain(uint64(size), size)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(h.Sum(nil), w2.Sum(nil)) {
				t.Error("plaintext differs")
			}
		})
	}
}

// The Reader follows io.Reader's contract for reads of any size
// (iotest.TestReader also reads after EOF).
func TestReaderContract(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	p, _ := io.ReadAll(plain(1, 1000))
	ct := seal(t, key, 64, p)
	for name, wrap := range map[string]func(io.Reader) io.Reader{
		"plain": func(r io.Reader) io.Reader { return r },
		"one":   iotest.OneByteReader,
		"half":  iotest.HalfReader,
		"eof":   iotest.DataErrReader,
	} {
		r, err := crypt.NewReader(wrap(bytes.NewReader(ct)), key)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := iotest.TestReader(r, p); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func corruptAt(t *testing.T, what string, err error) int64 {
	t.Helper()
	var ce *crypt.CorruptError
	if !errors.Is(err, crypt.ErrCorrupt) || !errors.As(err, &ce) {
		t.Errorf("%s: %v, want a CorruptError", what, err)
		return -2
	}
	return ce.Chunk
}

// Every single flipped byte, in the header, any chunk's body or any tag,
// fails, and the error names the chunk the byte is in.
func TestFlippedByte(t *testing.T) {
	t.Parallel()
	const cs = 64
	key := newKey(t)
	p, _ := io.ReadAll(plain(2, 4*cs+10)) // 5 chunks, the last one short
	ct := seal(t, key, cs, p)
	if len(ct) != headerSize+len(p)+5*tagSize {
		t.Fatalf("ciphertext is %d bytes", len(ct))
	}
	for i := range ct {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x01 << (i % 8)
		_, err := open(key, bad)
		got := corruptAt(t, fmt.Sprintf("byte %d", i), err)
		var want []int64
		switch {
		case i < 9: // magic, version
			want = []int64{-1}
		case i < 13: // chunk size: out of range, or chunk 0 read wrong
			want = []int64{-1, 0}
		case i < headerSize: // stream id
			want = []int64{0}
		default:
			want = []int64{int64((i - headerSize) / (cs + tagSize))}
		}
		if got != -2 && got != want[0] && (len(want) == 1 || got != want[1]) {
			t.Errorf("byte %d: error names chunk %d, want %v", i, got, want)
		}
	}
}

// A stream cut anywhere (at every chunk boundary and inside every chunk,
// tag and header) fails.
func TestTruncated(t *testing.T) {
	t.Parallel()
	const cs = 64
	key := newKey(t)
	p, _ := io.ReadAll(plain(3, 3*cs)) // 3 full chunks, the last one final
	ct := seal(t, key, cs, p)
	for n := range ct {
		_, err := open(key, ct[:n])
		got := corruptAt(t, fmt.Sprintf("cut at %d", n), err)
		want := int64(-1)
		if n >= headerSize {
			want = int64((n - headerSize) / (cs + tagSize))
		}
		if n > headerSize && (n-headerSize)%(cs+tagSize) == 0 {
			// Cut at a boundary: the last whole chunk was not sealed as
			// final (or nothing follows the header).
			want--
		}
		if n == headerSize {
			want = 0
		}
		if got != -2 && got != want {
			t.Errorf("cut at %d: error names chunk %d, want %d", n, got, want)
		}
	}
}

func TestRearranged(t *testing.T) {
	t.Parallel()
	const cs = 64
	enc := cs + tagSize
	key := newKey(t)
	p, _ := io.ReadAll(plain(4, 4*cs+10))
	ct := seal(t, key, cs, p)
	other := seal(t, key, cs, p) // same key and plaintext, another stream id
	hdr, body := ct[:headerSize], ct[headerSize:]
	ch := func(b []byte, i int) []byte { return b[i*enc : min((i+1)*enc, len(b))] }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	last := ch(body, 4)

	for _, c := range []struct {
		name  string
		ct    []byte
		key   []byte
		chunk int64
	}{
		{"chunks 1 and 2 swapped", cat(hdr, ch(body, 0), ch(body, 2), ch(body, 1), ch(body, 3), last), key, 1},
		{"chunk 1 dropped", cat(hdr, ch(body, 0), ch(body, 2), ch(body, 3), last), key, 1},
		{"chunk 1 duplicated", cat(hdr, ch(body, 0), ch(body, 1), ch(body, 1), ch(body, 2), ch(body, 3), last), key, 2},
		{"last chunk dropped", cat(hdr, body[:4*enc]), key, 3},
		{"first chunk dropped", cat(hdr, body[enc:]), key, 0},
		{"one byte appended", cat(ct, []byte{0}), key, 4},
		{"a tag's worth appended", cat(ct, make([]byte, tagSize)), key, 4},
		{"the last chunk again", cat(ct, last), key, 4},
		{"a full chunk appended", cat(ct, ch(body, 0)), key, 4},
		{"another stream's chunk 2", cat(hdr, ch(body, 0), ch(body, 1), ch(other[headerSize:], 2), ch(body, 3), last), key, 2},
		{"another stream's header", cat(other[:headerSize], body), key, 0},
		{"another stream's last chunk", cat(hdr, body[:4*enc], ch(other[headerSize:], 4)), key, 4},
		{"another key", ct, newKey(t), 0},
		{"empty stream of another key", seal(t, newKey(t), cs, nil), key, 0},
	} {
		_, err := open(c.key, c.ct)
		if got := corruptAt(t, c.name, err); got != -2 && got != c.chunk {
			t.Errorf("%s: error names chunk %d, want %d (%v)", c.name, got, c.chunk, err)
		}
	}
	if got, err := open(key, other); err != nil || !bytes.Equal(got, p) {
		t.Errorf("the other stream itself: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	if _, err := crypt.NewWriter(io.Discard, key[:16]); err == nil || errors.Is(err, crypt.ErrCorrupt) {
		t.Errorf("16-byte key: %v", err)
	}
	if _, err := crypt.NewWriterSize(io.Discard, key, crypt.MinChunkSize-1); err == nil {
		t.Error("chunk size below the minimum accepted")
	}
	ct := seal(t, key, 64, []byte("hello"))
	if _, err := crypt.NewReader(bytes.NewReader(ct), key[:31]); err == nil || errors.Is(err, crypt.ErrCorrupt) {
		t.Errorf("31-byte key: %v", err)
	}
	for name, b := range map[string][]byte{
		"empty":   nil,
		"gzip":    append([]byte{0x1f, 0x8b, 8, 0}, make([]byte, 64)...),
		"version": append(append(bytes.Clone(ct[:8]), 2), ct[9:]...),
	} {
		if _, err := open(key, b); corruptAt(t, name, err) != -1 {
			t.Errorf("%s: %v, want a header error", name, err)
		}
	}

	// A failure of the source is not corruption, and is kept.
	boom := errors.New("boom")
	_, err := crypt.NewReader(io.MultiReader(bytes.NewReader(ct[:headerSize+3]), iotest.ErrReader(boom)), key)
	if !errors.Is(err, boom) || errors.Is(err, crypt.ErrCorrupt) {
		t.Errorf("failing source: %v", err)
	}
}

type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

func TestWriterErrors(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	if _, err := crypt.NewWriterSize(&failWriter{0}, key, 64); err == nil {
		t.Error("header write failure not reported")
	}
	w, err := crypt.NewWriterSize(&failWriter{1}, key, 64) // header only
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 65)); err == nil {
		t.Error("chunk write failure not reported")
	}
	if _, err := w.Write([]byte{1}); err == nil {
		t.Error("write after a failure accepted")
	}
	if err := w.Close(); err == nil {
		t.Error("Close after a failure reported success")
	}

	var out bytes.Buffer
	w, _ = crypt.NewWriterSize(&out, key, 64)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	n := out.Len()
	if err := w.Close(); err != nil || out.Len() != n {
		t.Errorf("second Close: %v, wrote %d more bytes", err, out.Len()-n)
	}
	if _, err := w.Write([]byte{1}); err == nil {
		t.Error("write after Close accepted")
	}
	if got, err := open(key, out.Bytes()); err != nil || len(got) != 0 {
		t.Errorf("empty stream: %q, %v", got, err)
	}
}

// A 64 MiB stream goes through Writer and Reader with about two chunks of
// allocation in all, whatever its length (TotalAlloc counts every heap
// allocation, freed or not; not parallel, so the count is this test's).
func TestMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB")
	}
	const size = 64 << 20
	key := newKey(t)
	want := sha256.New()
	if _, err := io.Copy(want, plain(9, size)); err != nil {
		t.Fatal(err)
	}
	wantSum := want.Sum(nil)
	h := sha256.New()
	copyBuf := make([]byte, 32<<10)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)

	pr, pw := io.Pipe()
	sent, got := crypt.NewDigest(), crypt.NewDigest()
	done := make(chan error, 1)
	go func() {
		w, err := crypt.NewWriter(sent.Writer(pw), key)
		if err == nil {
			_, err = io.CopyBuffer(w, plain(9, size), copyBuf)
		}
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
		done <- err
	}()
	r, err := crypt.NewReader(got.Reader(pr), key)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.CopyBuffer(h, r, make([]byte, 32<<10))
	if err != nil || n != size {
		t.Fatalf("read %d bytes, %v", n, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)

	if !bytes.Equal(h.Sum(nil), wantSum) {
		t.Error("plaintext differs")
	}
	if sent.Sum() != got.Sum() || sent.Size() != got.Size() || got.Size() != headerSize+size+64*tagSize {
		t.Errorf("ciphertext digests: sent %s/%d, got %s/%d", sent.Sum(), sent.Size(), got.Sum(), got.Size())
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	limit := uint64(2*crypt.ChunkSize + 1<<20)
	t.Logf("allocated %d KiB for a %d MiB stream", alloc>>10, size>>20)
	if alloc > limit {
		t.Errorf("allocated %d KiB, want at most %d KiB (about two chunks)", alloc>>10, limit>>10)
	}
}

func TestDigest(t *testing.T) {
	t.Parallel()
	p := []byte("the artifact as stored")
	want := fmt.Sprintf("%x", sha256.Sum256(p))
	d := crypt.NewDigest()
	var out bytes.Buffer
	if _, err := d.Writer(&out).Write(p); err != nil {
		t.Fatal(err)
	}
	if d.Sum() != want || d.Size() != int64(len(p)) || out.String() != string(p) {
		t.Errorf("writer: %s/%d", d.Sum(), d.Size())
	}
	if err := d.Check(want, int64(len(p))); err != nil {
		t.Error(err)
	}
	if err := d.Check(want, int64(len(p))+1); !errors.Is(err, crypt.ErrCorrupt) {
		t.Errorf("size mismatch: %v", err)
	}
	if err := d.Check(fmt.Sprintf("%x", sha256.Sum256(nil)), int64(len(p))); !errors.Is(err, crypt.ErrCorrupt) {
		t.Errorf("sum mismatch: %v", err)
	}
	// Only what the destination accepted is hashed.
	d = crypt.NewDigest()
	_, err := d.Writer(&failWriter{0}).Write(p)
	if err == nil || d.Size() != 0 || d.Sum() != fmt.Sprintf("%x", sha256.Sum256(nil)) {
		t.Errorf("failed write hashed: %v, %d", err, d.Size())
	}
	d = crypt.NewDigest()
	if got, err := io.ReadAll(d.Reader(iotest.HalfReader(bytes.NewReader(p)))); err != nil || string(got) != string(p) || d.Sum() != want {
		t.Errorf("reader: %v, %s", err, d.Sum())
	}
}

var fuzzKey = bytes.Repeat([]byte{0x42}, crypt.KeySize)

// Whatever the bytes, the Reader neither panics nor allocates past its
// bound, and fails only with ErrCorrupt; nothing it accepts is longer than
// its input allows.
func FuzzReader(f *testing.F) {
	for _, n := range []int{0, 1, 63, 64, 65, 200} {
		p := bytes.Repeat([]byte{byte(n)}, n)
		ct := seal(f, fuzzKey, 64, p)
		f.Add(ct)
		bad := bytes.Clone(ct)
		bad[len(bad)-1] ^= 1
		f.Add(bad)
		f.Add(ct[:len(ct)-1])
	}
	f.Add([]byte("TNCYBKP\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := crypt.NewReader(bytes.NewReader(data), fuzzKey)
		if err != nil {
			if !errors.Is(err, crypt.ErrCorrupt) {
				t.Fatalf("NewReader: %v, not ErrCorrupt", err)
			}
			return
		}
		out, err := io.ReadAll(r)
		if err != nil && !errors.Is(err, crypt.ErrCorrupt) {
			t.Fatalf("Read: %v, not ErrCorrupt", err)
		}
		if len(out) > len(data)-headerSize-tagSize {
			t.Fatalf("%d bytes out of %d in", len(out), len(data))
		}
	})
}

// Any plaintext, any chunk size: what goes in comes out.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{}, uint16(0))
	f.Add([]byte("x"), uint16(1))
	f.Add(bytes.Repeat([]byte("ab"), 300), uint16(64))
	f.Fuzz(func(t *testing.T, p []byte, c uint16) {
		cs := crypt.MinChunkSize + int(c%512)
		ct := seal(t, fuzzKey, cs, p)
		if want := headerSize + len(p) + tagSize*int(chunks(int64(len(p)), int64(cs))); len(ct) != want {
			t.Fatalf("ciphertext %d bytes, want %d", len(ct), want)
		}
		got, err := open(fuzzKey, ct)
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func BenchmarkWriter(b *testing.B) {
	key := newKey(b)
	buf, _ := io.ReadAll(plain(5, 1<<20))
	const size = 64 << 20
	b.SetBytes(size)
	for b.Loop() {
		w, err := crypt.NewWriter(io.Discard, key)
		if err != nil {
			b.Fatal(err)
		}
		for range size / len(buf) {
			if _, err := w.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReader(b *testing.B) {
	key := newKey(b)
	const size = 64 << 20
	var ct bytes.Buffer
	w, _ := crypt.NewWriter(&ct, key)
	if _, err := io.Copy(w, plain(6, size)); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 32<<10)
	b.SetBytes(size)
	for b.Loop() {
		r, err := crypt.NewReader(bytes.NewReader(ct.Bytes()), key)
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.CopyBuffer(io.Discard, r, buf); err != nil || n != size {
			b.Fatal(n, err)
		}
	}
}

// specSeal builds a stream from the package documentation alone, with
// the chunks given (the last one sealed as final): a second implementation
// that pins the format.
func specSeal(t *testing.T, key []byte, cs int, parts [][]byte) []byte {
	t.Helper()
	hdr := append([]byte("TNCYBKP\n"), 1, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(hdr[9:], uint32(cs))
	id := bytes.Repeat([]byte{7}, 16)
	hdr = append(hdr, id...)
	sub, err := hkdf.Key(sha256.New, key, id, "github.com/tenancy/platform backup/crypt v1 chunk key", 32)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(sub)
	gcm, _ := cipher.NewGCM(block)
	out := bytes.Clone(hdr)
	for i, p := range parts {
		nonce := make([]byte, 12)
		binary.BigEndian.PutUint64(nonce[3:11], uint64(i))
		if i == len(parts)-1 {
			nonce[11] = 1
		}
		out = gcm.Seal(out, nonce, p, hdr)
	}
	return out
}

func TestFormat(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	a, b := bytes.Repeat([]byte("a"), 64), []byte("tail")
	got, err := open(key, specSeal(t, key, 64, [][]byte{a, a, b}))
	if err != nil || !bytes.Equal(got, bytes.Join([][]byte{a, a, b}, nil)) {
		t.Fatalf("stream built from the spec: %v", err)
	}
	if got, err := open(key, specSeal(t, key, 64, [][]byte{nil})); err != nil || len(got) != 0 {
		t.Errorf("empty stream built from the spec: %q, %v", got, err)
	}
	// Authentic but not what a Writer makes: data then an empty final chunk.
	_, err = open(key, specSeal(t, key, 64, [][]byte{a, nil}))
	if c := corruptAt(t, "empty last chunk", err); c != 1 {
		t.Errorf("empty last chunk: chunk %d, %v", c, err)
	}
	// And a Writer's stream opens by the spec, chunk by chunk, with nothing
	// left over.
	ct := seal(t, key, 64, bytes.Join([][]byte{a, a, b}, nil))
	id := ct[13:29]
	sub, _ := hkdf.Key(sha256.New, key, id, "github.com/tenancy/platform backup/crypt v1 chunk key", 32)
	block, _ := aes.NewCipher(sub)
	gcm, _ := cipher.NewGCM(block)
	nonce := make([]byte, 12)
	off := headerSize
	for i, want := range [][]byte{a, a, b} {
		binary.BigEndian.PutUint64(nonce[3:11], uint64(i))
		nonce[11] = 0
		if i == 2 {
			nonce[11] = 1
		}
		n := len(want) + tagSize
		p, err := gcm.Open(nil, nonce, ct[off:off+n], ct[:headerSize])
		if err != nil || !bytes.Equal(p, want) {
			t.Fatalf("Writer's chunk %d does not open by the spec: %v", i, err)
		}
		off += n
	}
	if off != len(ct) {
		t.Errorf("Writer's stream has %d bytes after its chunks", len(ct)-off)
	}
}
