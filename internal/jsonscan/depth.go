package jsonscan

import "bytes"

// TooDeep reports whether v, a valid JSON value (as a jsontext.Decoder returns it), nests objects and arrays more
// than limit levels deep (v itself is level 1). It scans only values long enough to be that deep: each level takes
// two bytes. jsontext follows 10000 levels; a reader that promises a lower limit checks the values it reads whole.
func TooDeep(v []byte, limit int) bool {
	if len(v) < 2*(limit+1) || v[0] != '{' && v[0] != '[' {
		return false
	}
	depth := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			i = stringEnd(v, i)
		case '{', '[':
			if depth++; depth > limit {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}

// stringEnd returns the index of the quote closing the valid JSON string that opens at v[open].
func stringEnd(v []byte, open int) int {
	i := open + 1
	for {
		q := bytes.IndexByte(v[i:], '"')
		if q < 0 {
			return len(v)
		}
		i += q
		bs := 0
		for j := i - 1; j > open && v[j] == '\\'; j-- {
			bs++
		}
		if bs%2 == 0 {
			return i
		}
		i++
	}
}
