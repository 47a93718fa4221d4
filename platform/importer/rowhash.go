package importer

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// rowHashSize is how much of a row's SHA-256 the id map keeps: enough to
// tell a changed row from an unchanged one, not a proof of anything.
const rowHashSize = 16

// hashColumns are the indexes into p.read that a row's hash covers, in
// the order of their (lower-cased) names, so that reordering a mapping's
// columns keeps the hashes of earlier imports. The source columns of the
// password column are left out: a short hash of a row is an offline
// guessable fingerprint of a plaintext password in it (the rest of the
// row is in the tenant), and a changed password must not make the row
// "changed" (the user may have changed it in the tenant already).
func hashColumns(p *tablePlan) []int {
	secret := map[int]bool{}
	for _, c := range p.cols {
		if c.password {
			for _, j := range c.src {
				secret[j] = true
			}
		}
	}
	var idx []int
	for j := range p.read {
		if !secret[j] {
			idx = append(idx, j)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return strings.ToLower(p.read[idx[a]]) < strings.ToLower(p.read[idx[b]]) })
	return idx
}

// Type tags of the row hash's encoding: a value is its tag, then its
// bytes, so 1 and "1", or NULL and "", never encode alike.
const (
	tagNull byte = iota
	tagInt
	tagFloat
	tagText
	tagBytes
	tagBool
	tagTime
	tagOther
)

// appendRowEncoding appends the canonical encoding of row's columns idx
// (each its name, lower-cased by the caller, then its value, type-tagged
// and length-prefixed) to buf.
func appendRowEncoding(buf []byte, names []string, row []any, idx []int) []byte {
	for _, j := range idx {
		buf = appendLenBytes(buf, names[j])
		switch v := row[j].(type) {
		case nil:
			buf = append(buf, tagNull)
		case int64:
			buf = binary.BigEndian.AppendUint64(append(buf, tagInt), uint64(v))
		case float64:
			buf = binary.BigEndian.AppendUint64(append(buf, tagFloat), math.Float64bits(v))
		case string:
			buf = appendLenBytes(append(buf, tagText), v)
		case []byte:
			buf = appendLenBytes(append(buf, tagBytes), string(v))
		case bool:
			b := byte(0)
			if v {
				b = 1
			}
			buf = append(buf, tagBool, b)
		case time.Time:
			_, off := v.Zone()
			buf = binary.BigEndian.AppendUint64(append(buf, tagTime), uint64(v.Unix()))
			buf = binary.BigEndian.AppendUint32(buf, uint32(v.Nanosecond()))
			buf = binary.BigEndian.AppendUint32(buf, uint32(int32(off)))
		default: // not a type a Source returns; still typed
			buf = appendLenBytes(append(buf, tagOther), fmt.Sprintf("%T:%v", v, v))
		}
	}
	return buf
}

func appendLenBytes(buf []byte, s string) []byte {
	return append(binary.AppendUvarint(buf, uint64(len(s))), s...)
}

// rowHasher hashes a table's rows, reusing its buffer.
type rowHasher struct {
	names []string // lower-cased
	idx   []int
	buf   []byte
}

// newRowHasher hashes rows of the columns read (names) at idx
// (hashColumns).
func newRowHasher(names []string, idx []int) *rowHasher {
	lower := make([]string, len(names))
	for i, n := range names {
		lower[i] = strings.ToLower(n)
	}
	return &rowHasher{names: lower, idx: idx}
}

func (h *rowHasher) hash(row []any) [rowHashSize]byte {
	h.buf = appendRowEncoding(h.buf[:0], h.names, row, h.idx)
	sum := sha256.Sum256(h.buf)
	return [rowHashSize]byte(sum[:rowHashSize])
}
