package engine

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
)

// idAlphabet is lower-case base32 without the letters easily confused with digits (i, l, o, u).
const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// IDLen is the length of a derived event id: 128 bits in base32.
const IDLen = 26

// SeedID derives a stream's IDSeed from the parts that identify it: for a file, the input name, the file
// fingerprint and the truncation generation. Each part is length-prefixed so that ("ab","c") != ("a","bc").
func SeedID(parts ...[]byte) [16]byte {
	d1, d2 := xxhash.New(), xxhash.New()
	_, _ = d2.Write([]byte{0xff})
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		for _, d := range []*xxhash.Digest{d1, d2} {
			_, _ = d.Write(n[:])
			_, _ = d.Write(p)
		}
	}
	var seed [16]byte
	binary.BigEndian.PutUint64(seed[:8], d1.Sum64())
	binary.BigEndian.PutUint64(seed[8:], d2.Sum64())
	return seed
}

// AppendID appends the event's id: its own ID when it has one, else the base32 of a 128-bit hash of the stream's
// IDSeed and the event's Offset. Deterministic, so a replay produces the same id. It does not allocate when dst
// has room.
func (e *Event) AppendID(dst []byte) []byte {
	if len(e.ID) > 0 {
		return append(dst, e.ID...)
	}
	var in [25]byte
	copy(in[1:17], e.Stream.IDSeed[:])
	binary.BigEndian.PutUint64(in[17:], uint64(e.Offset))
	h1 := xxhash.Sum64(in[:])
	in[0] = 1
	h2 := xxhash.Sum64(in[:])
	// 26 symbols of 5 bits cover 130 bits: the 128 hash bits, then two zero bits.
	for i := 0; i < IDLen; i++ {
		bit := i * 5
		var v uint64
		switch {
		case bit+5 <= 64:
			v = h1 >> (59 - bit)
		case bit < 64:
			v = h1<<(bit+5-64) | h2>>(128-bit-5)
		case bit+5 <= 128:
			v = h2 >> (123 - bit)
		default:
			v = h2 << (bit + 5 - 128)
		}
		dst = append(dst, idAlphabet[v&31])
	}
	return dst
}
