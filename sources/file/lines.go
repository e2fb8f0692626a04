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
// whose content is longer than max is cut: the piece is max bytes and consumes max bytes. consumed == 0 means d
// holds no complete line or piece yet.
func (s splitter) next(d []byte) (lineLen, consumed int) {
	u := s.enc.unit()
	window := d
	if len(window) > s.max+u {
		window = window[:s.max+u]
	}
	if i := s.index(window); i >= 0 {
		return i, i + u
	}
	if len(d) >= s.max+u {
		return s.max, s.max
	}
	return 0, 0
}

// index returns where the first newline unit of d starts, or -1.
func (s splitter) index(d []byte) int {
	switch s.enc {
	case encUTF16LE:
		for from := 0; ; {
			j := bytes.IndexByte(d[from:], '\n')
			if j < 0 {
				return -1
			}
			j += from
			if j&1 == 0 && j+1 < len(d) && d[j+1] == 0 {
				return j
			}
			from = j + 1
		}
	case encUTF16BE:
		for from := 0; ; {
			j := bytes.IndexByte(d[from:], '\n')
			if j < 0 {
				return -1
			}
			j += from
			if j&1 == 1 && d[j-1] == 0 {
				return j - 1
			}
			from = j + 1
		}
	}
	return bytes.IndexByte(d, '\n')
}

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
