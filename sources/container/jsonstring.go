package container

import (
	"bytes"
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

var (
	errBadString = errors.New("unterminated or invalid JSON string")
	errBadEscape = errors.New("invalid escape in a JSON string")
)

// stringAt reads the JSON string whose opening quote is at b[i]: its contents (without the quotes, still
// escaped), the index in them of its first backslash (-1 when it holds no escapes), and the index after its
// closing quote. It looks for the quote and the backslash with bytes.IndexByte rather than byte by byte; only a
// string with escapes is looked at again, from the quote found. Control bytes are accepted: dockerd escapes
// them, but refusing a line for one would lose it. Escapes are checked by appendUnescaped, for the strings that
// are used.
func stringAt(b []byte, i int) (s []byte, firstEsc, end int, err error) {
	s = b[i+1:]
	q := bytes.IndexByte(s, '"')
	if q < 0 {
		return nil, -1, 0, errBadString
	}
	firstEsc = bytes.IndexByte(s[:q], '\\')
	for firstEsc >= 0 {
		// A quote ends the string when an even number of backslashes precede it: in a run of backslashes each
		// pair is one escaped backslash, and an odd one left escapes the quote.
		n := 0
		for n < q && s[q-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			break
		}
		next := bytes.IndexByte(s[q+1:], '"')
		if next < 0 {
			return nil, -1, 0, errBadString
		}
		q += 1 + next
	}
	return s[:q], firstEsc, i + 1 + q + 1, nil
}

// appendUnescaped appends the decoded contents of a JSON string (without its quotes) to dst. Lone surrogates
// become U+FFFD, as encoding/json decodes them.
func appendUnescaped(dst, s []byte) ([]byte, error) {
	for i := 0; i < len(s); {
		j := bytes.IndexByte(s[i:], '\\')
		if j < 0 {
			return append(dst, s[i:]...), nil
		}
		dst = append(dst, s[i:i+j]...)
		var err error
		if dst, i, err = appendEscape(dst, s, i+j); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// appendEscape appends the decoding of the escape at s[i] (a backslash) to dst and returns the index after it.
func appendEscape(dst, s []byte, i int) ([]byte, int, error) {
	if i+1 >= len(s) {
		return dst, i, errBadEscape
	}
	switch s[i+1] {
	case '"', '\\', '/':
		dst = append(dst, s[i+1])
	case 'b':
		dst = append(dst, '\b')
	case 'f':
		dst = append(dst, '\f')
	case 'n':
		dst = append(dst, '\n')
	case 'r':
		dst = append(dst, '\r')
	case 't':
		dst = append(dst, '\t')
	case 'u':
		r, ok := hex4(s[i+2:])
		if !ok {
			return dst, i, errBadEscape
		}
		i += 6
		if utf16.IsSurrogate(r) {
			r2, ok := rune(-1), false
			if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
				r2, ok = hex4(s[i+2:])
			}
			if d := utf16.DecodeRune(r, r2); ok && d != utf8.RuneError {
				r = d
				i += 6
			} else {
				r = utf8.RuneError
			}
		}
		return utf8.AppendRune(dst, r), i, nil
	default:
		return dst, i, errBadEscape
	}
	return dst, i + 2, nil
}

// hex4 decodes the four hex digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
