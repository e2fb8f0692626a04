package rfc3339

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"time"
)

// Cache remembers the second of the last time it parsed: a log's consecutive records mostly share their
// second, and only the fraction of such a time needs reading. A time whose date, clock and zone are not those of
// the remembered one, byte for byte, is parsed whole by ParseError, which also says what is wrong with it.
type Cache struct {
	prefix [len(secondLayout)]byte // the remembered time up to its fraction
	zone   []byte                  // and after it
	unix   int64                   // the remembered time's second, in Unix time
	ok     bool
}

const secondLayout = "2006-01-02T15:04:05"

// Parse is ParseError, faster for a time in the same second as the one before.
func (c *Cache) Parse(b []byte) (time.Time, error) {
	const n = len(secondLayout)
	if c.ok && len(b) > n && b[n] == '.' && c.samePrefix(b) {
		if nsec, digits, i := fraction(b, n+1); digits > 0 && bytes.Equal(b[i:], c.zone) {
			return time.Unix(c.unix, int64(nsec)).UTC(), nil // as parse makes it
		}
	}
	t, err := ParseError(b)
	if err != nil {
		return t, err
	}
	// b is valid, so its first n bytes are the date and clock; its zone follows the fraction digits, if any.
	i := n
	if b[i] == '.' {
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	copy(c.prefix[:], b[:n])
	c.zone = append(c.zone[:0], b[i:]...)
	c.unix, c.ok = t.Unix(), true
	return t, nil
}

// ParseField is Parse of b up to its first space (all of b when it has none), the time that starts a CRI log
// line, and returns that length too. A time in the same second as the one before is read without looking for the
// space first.
func (c *Cache) ParseField(b []byte) (time.Time, int, error) {
	const n = len(secondLayout)
	// A space is accepted for the T (byte 10): such a field would end there.
	if c.ok && len(b) > n && b[n] == '.' && b[10] != ' ' && c.samePrefix(b) {
		nsec, digits, i := fraction(b, n+1)
		if end := i + len(c.zone); digits > 0 && end <= len(b) && string(b[i:end]) == string(c.zone) &&
			(end == len(b) || b[end] == ' ') {
			return time.Unix(c.unix, int64(nsec)).UTC(), end, nil
		}
	}
	field := b
	if sp := bytes.IndexByte(b, ' '); sp >= 0 {
		field = b[:sp]
	}
	t, err := c.Parse(field)
	return t, len(field), err
}

// fraction reads the fraction digits at b[i:]: their value in nanoseconds (digits past the ninth dropped), how
// many there are, and the index after them. Where eight bytes are left it reads up to eight digits at once.
func fraction(b []byte, i int) (nsec, digits, end int) {
	if i+8 <= len(b) {
		const ones = 0x0101010101010101
		d := binary.LittleEndian.Uint64(b[i:]) - '0'*ones
		// A byte of d is a digit's value when neither it nor it plus 0x76 has its high bit set; a borrow or
		// carry only starts at a byte that is not, so the first byte flagged is the first that is not a digit.
		n := 8
		if m := ((d + 0x76*ones) | d) & (0x80 * ones); m != 0 {
			n = bits.TrailingZeros64(m) / 8
		}
		// The n digits moved to the top, zeros before them; then pairs, then fours (the first digit is the
		// lowest byte, the most significant).
		v := d << (8 * (8 - n))
		v = v*10 + v>>8
		v = ((v&0x000000FF000000FF)*(100+1000000<<32) + ((v>>16)&0x000000FF000000FF)*(1+10000<<32)) >> 32
		nsec, digits, i = int(uint32(v)), n, i+n
		if n < 8 {
			return nsec * pow10[9-n], digits, i
		}
	}
	for ; i < len(b) && isDigit(b[i]); i++ {
		if digits < 9 {
			nsec = nsec*10 + int(b[i]-'0')
		}
		digits++
	}
	for d := digits; d < 9; d++ {
		nsec *= 10
	}
	return nsec, digits, i
}

var pow10 = [...]int{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000}

// samePrefix reports whether b (at least as long) starts with the remembered date and clock: three overlapping
// eight-byte compares, no call.
func (c *Cache) samePrefix(b []byte) bool {
	p := c.prefix[:]
	return binary.LittleEndian.Uint64(b) == binary.LittleEndian.Uint64(p) &&
		binary.LittleEndian.Uint64(b[8:]) == binary.LittleEndian.Uint64(p[8:]) &&
		binary.LittleEndian.Uint64(b[len(p)-8:]) == binary.LittleEndian.Uint64(p[len(p)-8:])
}
