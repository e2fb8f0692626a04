package jsonscan

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// stop8 flags the bytes packed in x (little-endian) where a strict string scan must look: below 0x20, '"' or
// '\\'. The lowest flag is always a real one (a borrow only carries past a byte that matched).
func stop8(x uint64) uint64 {
	return ((x - ones*0x20) | ((x ^ ones*'"') - ones) | ((x ^ ones*'\\') - ones)) & ^x & highs
}

// strictStr is Str refusing control characters and escapes that encoding/json refuses.
func (s *Scanner) strictStr() (start, end int, escaped bool, err error) {
	b := s.B
	start = s.I + 1
	i := start
	for {
		for len(b)-i >= 8 {
			m := stop8(binary.LittleEndian.Uint64(b[i:]))
			if m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(b) {
			s.I = len(b)
			return 0, 0, false, s.Fail("unterminated string")
		}
		switch c := b[i]; {
		case c == '"':
			s.I = i + 1
			return start, i, escaped, nil
		case c == '\\':
			n := escapeLen(b[i:])
			if n == 0 {
				s.I = i
				return 0, 0, false, s.Fail("invalid escape")
			}
			escaped = true
			i += n
		case c < 0x20:
			s.I = i
			return 0, 0, false, s.Fail("control character in string")
		default:
			i++
		}
	}
}

// escapeLen returns the length of the escape sequence at the start of b ('\\' first), 0 when it is invalid.
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if len(b) < 6 {
			return 0
		}
		for _, c := range b[2:6] {
			if unhex(c) < 0 {
				return 0
			}
		}
		return 6
	}
	return 0
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// strictNumber scans a number of the JSON grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *Scanner) strictNumber() error {
	b, i := s.B, s.I
	digits := func() bool {
		n := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return s.Fail("invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return s.Fail("invalid number")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return s.Fail("invalid number")
		}
	}
	s.I = i
	return nil
}

// AppendUnescaped appends the decoded contents of a JSON string (inner: between the quotes) to dst, as
// encoding/json decodes them: invalid UTF-8 and lone surrogates become U+FFFD. ok is false for an invalid escape.
func AppendUnescaped(dst, inner []byte) (out []byte, ok bool) {
	for len(inner) > 0 {
		i := 0
		for i < len(inner) && inner[i] != '\\' && inner[i] < utf8.RuneSelf {
			i++
		}
		dst = append(dst, inner[:i]...)
		inner = inner[i:]
		if len(inner) == 0 {
			break
		}
		if c := inner[0]; c >= utf8.RuneSelf {
			r, n := utf8.DecodeRune(inner)
			dst = utf8.AppendRune(dst, r) // RuneError for invalid UTF-8, as encoding/json
			inner = inner[n:]
			continue
		}
		n := escapeLen(inner)
		if n == 0 {
			return dst, false
		}
		if n == 2 {
			dst = append(dst, unescapeByte(inner[1]))
			inner = inner[2:]
			continue
		}
		r := rune(hex4(inner[2:6]))
		inner = inner[6:]
		if utf16.IsSurrogate(r) {
			r2 := utf8.RuneError
			if len(inner) >= 6 && inner[0] == '\\' && inner[1] == 'u' && escapeLen(inner) == 6 {
				if d := utf16.DecodeRune(r, rune(hex4(inner[2:6]))); d != utf8.RuneError {
					r2 = d
					inner = inner[6:]
				}
			}
			r = r2
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst, true
}

func hex4(b []byte) int { return unhex(b[0])<<12 | unhex(b[1])<<8 | unhex(b[2])<<4 | unhex(b[3]) }

func unescapeByte(c byte) byte {
	switch c {
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	}
	return c // '"', '\\', '/'
}
