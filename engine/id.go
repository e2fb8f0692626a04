package engine

import (
	"encoding/binary"
	"math/bits"
	"slices"

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

// AppendID appends the event's id: its own ID when it has one, else 128 bits derived from the stream's IDSeed
// and the event's Offset, in base32. Deterministic, so a replay produces the same id; for a fixed seed the first
// half is a bijection of the offset, so two events of one stream never share an id. It does not allocate when
// dst has room.
func (e *Event) AppendID(dst []byte) []byte {
	if len(e.ID) > 0 {
		return append(dst, e.ID...)
	}
	off := uint64(e.Offset)
	hi := mix64(off ^ binary.BigEndian.Uint64(e.Stream.IDSeed[:8]))
	lo := mix64(bits.RotateLeft64(off, 32) ^ binary.BigEndian.Uint64(e.Stream.IDSeed[8:]) ^ 0x9e3779b97f4a7c15)
	// 26 symbols of 5 bits: the 128 bits, most significant first, then two zero bits.
	n := len(dst)
	dst = slices.Grow(dst, IDLen)[:n+IDLen]
	out := dst[n : n+IDLen]
	for i := range out {
		out[i] = idAlphabet[hi>>59]
		hi = hi<<5 | lo>>59
		lo <<= 5
	}
	return dst
}

// mix64 is the splitmix64 finalizer: a fast bijection of 64-bit values with good avalanche.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
