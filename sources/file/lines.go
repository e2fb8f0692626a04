package file

import (
	"bytes"
	"encoding/binary"
	"unicode/utf16"
	"unicode/utf8"
)

// encoding is a file's character encoding. Lines are split on raw bytes first (so offsets are raw byte
// offsets), then decoded to UTF-8.
type encoding uint8

const (
	encUTF8 encoding = iota
	encUTF16LE
	encUTF16BE
	encLatin1
)

func parseEncoding(name string) encoding {
	switch encodings[name] {
	case "utf-16le":
		return encUTF16LE
	case "utf-16be":
		return encUTF16BE
	case "latin1":
		return encLatin1
	}
	return encUTF8
}

// unit is the size of the encoding's code unit: newlines are found only at unit boundaries.
func (e encoding) unit() int {
	if e == encUTF16LE || e == encUTF16BE {
		return 2
	}
	return 1
}

// splitter finds line ends in raw bytes. Data given to it always starts at a line boundary.
type splitter struct {
	enc encoding
	max int // longest line content in raw bytes (a multiple of the unit)
}

func newSplitter(enc encoding, maxLine int) splitter {
	u := enc.unit()
	return splitter{enc: enc, max: maxLine / u * u}
}

// next reports the first line of d: its content length without the newline and the bytes it consumes. A line
// whose content is longer than max is cut: the piece is max bytes and consumes max bytes (a UTF-8 line of max
// bytes and a \r before its newline is whole: its content is max+1 bytes with the \r, which the caller drops). consumed == 0 means d
// holds no complete line or piece yet.
func (s splitter) next(d []byte) (lineLen, consumed int) {
	u := s.enc.unit()
	limit := s.max + u
	if s.enc == encUTF8 && len(d) > s.max && d[s.max] == '\r' {
		limit++ // a line of max bytes ending in \r\n: the \r is not content, and must not become a line of its own
	}
	window := d
	if len(window) > limit {
		window = window[:limit]
	}
	if i := s.index(window); i >= 0 {
		return i, i + u
	}
	if len(d) >= limit {
		return s.max, s.max
	}
	return 0, 0
}

// index returns where the first newline unit of d starts, or -1. A UTF-16 newline is found at any byte offset,
// not only at a unit boundary of d: after an odd number of bytes (a stray byte written by another program, a
// line cut at an odd length) every later newline is one byte off, and only this keeps such a line from holding
// up the rest of the file. The line before it decodes with a U+FFFD for its odd byte, and the next line starts
// aligned again. In well-formed text an unaligned match needs a unit of U+0A00-U+0AFF (Gurmukhi, Gujarati)
// next to one whose other byte is zero (U+0100, U+3000, U+4E00...): that one line is then split in two, its
// second part decoded one byte off; no byte is lost and the next line is aligned again.
func (s splitter) index(d []byte) int {
	switch s.enc {
	case encUTF16LE:
		return bytes.Index(d, newlineUTF16LE)
	case encUTF16BE:
		return bytes.Index(d, newlineUTF16BE)
	}
	return bytes.IndexByte(d, '\n')
}

var newlineUTF16LE, newlineUTF16BE = []byte{'\n', 0}, []byte{0, '\n'}

// decodedMax bounds the UTF-8 size of n raw bytes.
func (e encoding) decodedMax(n int) int {
	switch e {
	case encUTF16LE, encUTF16BE:
		return n/2*3 + 3 // a unit decodes to at most 3 bytes; a pair (2 units) to 4
	case encLatin1:
		return 2 * n
	}
	return n
}

// appendDecoded appends the UTF-8 form of raw to dst and returns the number of invalid code units replaced.
func (e encoding) appendDecoded(dst, raw []byte) ([]byte, int) {
	invalid := 0
	switch e {
	case encLatin1:
		for len(raw) > 0 {
			n := asciiPrefix(raw)
			dst = append(dst, raw[:n]...)
			if n == len(raw) {
				break
			}
			b := raw[n]
			dst = append(dst, 0xC0|b>>6, 0x80|b&0x3F)
			raw = raw[n+1:]
		}
	case encUTF16LE, encUTF16BE:
		unit := func(i int) rune {
			if e == encUTF16LE {
				return rune(raw[i]) | rune(raw[i+1])<<8
			}
			return rune(raw[i])<<8 | rune(raw[i+1])
		}
		for i := 0; i+1 < len(raw); i += 2 {
			r := unit(i)
			switch {
			case utf16.IsSurrogate(r):
				var r2 rune = utf8.RuneError
				if i+3 < len(raw) {
					r2 = utf16.DecodeRune(r, unit(i+2))
				}
				if r2 == utf8.RuneError {
					r = utf8.RuneError
					invalid++
				} else {
					r = r2
					i += 2
				}
			}
			dst = utf8.AppendRune(dst, r)
		}
		if len(raw)&1 == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
			invalid++
		}
	default:
		dst = append(dst, raw...)
	}
	return dst, invalid
}

// asciiPrefix returns the length of b's leading run of ASCII bytes, testing eight bytes at a time.
func asciiPrefix(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 != 0 {
			break
		}
	}
	for i < len(b) && b[i] < utf8.RuneSelf {
		i++
	}
	return i
}
