package eventjson

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
	"unsafe"
)

// plainASCII[c] is true for the ASCII bytes copied into a JSON string as they are.
var plainASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special8 flags the bytes packed in x (little-endian) that are not plain ASCII: it returns a word whose lowest
// set bit is the high bit of the first such byte, or 0 when all eight are plain. Each subtraction sets a byte's
// high bit where that byte is below 0x20, equal to '"' or equal to '\\'; a borrow only carries past a byte that
// matched, so the lowest flag is always a real one (later flags may be spurious, and are never used).
func special8(x uint64) uint64 {
	return ((x - ones*0x20) | ((x ^ ones*'"') - ones) | ((x ^ ones*'\\') - ones) | x) & highs
}

// appendString is appendBytes for a string.
func appendString(dst []byte, s string) ([]byte, bool) {
	// A read-only view of the string's bytes: appendBytes neither modifies nor retains its argument, and the
	// view saves the copy that []byte(s) would make for every input name and path.
	return appendBytes(dst, unsafe.Slice(unsafe.StringData(s), len(s)))
}

// appendBytes appends s as a quoted JSON string. It escapes '"', '\\' and control characters, replaces each byte
// of invalid UTF-8 with U+FFFD and reports whether it did. Runs of bytes that need no change are copied in one
// append each.
func appendBytes(dst []byte, s []byte) ([]byte, bool) {
	dst = append(dst, '"')
	invalid := false
	for {
		n := plainPrefix(s)
		dst = append(dst, s[:n]...)
		if n == len(s) {
			return append(dst, '"'), invalid
		}
		// plainPrefix stops only at an ASCII byte to escape or at a byte of invalid UTF-8.
		if c := s[n]; c < utf8.RuneSelf {
			dst = appendEscape(dst, c)
		} else {
			dst = append(dst, "\uFFFD"...)
			invalid = true
		}
		s = s[n+1:]
	}
}

// plainPrefix returns the length of the longest prefix of s that goes into a JSON string unchanged: plain ASCII
// and valid UTF-8. It is kept apart from the appends so that its loop runs in registers. ASCII is scanned eight
// bytes at a time, and a run of non-ASCII text is validated without going back to the ASCII scan for every rune.
func plainPrefix(s []byte) int {
	i := 0
	for i < len(s) {
		if len(s)-i >= 8 {
			m := special8(binary.LittleEndian.Uint64(s[i:]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3 // straight to the first byte that needs a look
		}
		if c := s[i]; c < utf8.RuneSelf {
			if !plainASCII[c] {
				return i
			}
			i++
			continue
		}
		for i < len(s) && s[i] >= utf8.RuneSelf {
			if c := s[i]; c >= 0xC2 && c <= 0xDF && i+1 < len(s) && s[i+1]&0xC0 == 0x80 {
				i += 2 // a valid two-byte sequence (Latin, Greek, Cyrillic...), without the call below
				continue
			}
			r, n := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && n == 1 {
				return i
			}
			i += n
		}
	}
	return len(s)
}

const hexDigits = "0123456789abcdef"

// appendEscape appends the JSON escape of the ASCII byte c.
func appendEscape(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	default:
		return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
	}
}

// AppendString appends s as a quoted JSON string the way events are encoded: '"', '\\' and control characters
// escaped, each byte of invalid UTF-8 replaced with U+FFFD. Sources use it to render the JSON members they put
// in Stream.Extra and Event.Extra.
func AppendString(dst, s []byte) []byte {
	dst, _ = appendBytes(dst, s)
	return dst
}
