package rfc3339

import (
	"bytes"
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
	if c.ok && len(b) > n && b[n] == '.' && string(b[:n]) == string(c.prefix[:]) {
		i, nsec, digits := n+1, 0, 0
		for ; i < len(b) && isDigit(b[i]); i++ {
			if digits < 9 {
				nsec = nsec*10 + int(b[i]-'0')
			}
			digits++
		}
		if digits > 0 && bytes.Equal(b[i:], c.zone) {
			for ; digits < 9; digits++ {
				nsec *= 10
			}
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
	if c.ok && len(b) > n && b[n] == '.' && b[10] != ' ' && string(b[:n]) == string(c.prefix[:]) {
		i, nsec, digits := n+1, 0, 0
		for ; i < len(b) && isDigit(b[i]); i++ {
			if digits < 9 {
				nsec = nsec*10 + int(b[i]-'0')
			}
			digits++
		}
		if end := i + len(c.zone); digits > 0 && end <= len(b) && string(b[i:end]) == string(c.zone) &&
			(end == len(b) || b[end] == ' ') {
			for ; digits < 9; digits++ {
				nsec *= 10
			}
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
