package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// The JSON scanner finds value boundaries in a response body without decoding it: events are published as
// slices of the body, exactly as received, and only the few values a source needs (ids, times, cursors) are
// looked at. It checks the grammar's structure (brackets, strings, separators) well enough to refuse a cut or
// garbled body, not every detail of numbers or escapes.

// maxDepth bounds nesting, so that a hostile body cannot exhaust the stack.
const maxDepth = 512

// shortString is how far str looks byte by byte before handing a long string to IndexByte.
const shortString = 32

// maxPaths is how many paths one object walk can look for.
const maxPaths = 4

var errDepth = errors.New("JSON nested too deeply")

// syntaxError is a JSON problem at a byte offset of the scanned text.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("invalid JSON at byte %d: %s", e.off, e.msg) }

type scanner struct {
	b     []byte
	i     int
	depth int
}

func (s *scanner) fail(msg string) error { return &syntaxError{off: s.i, msg: msg} }

func (s *scanner) ws() {
	b, i := s.b, s.i
	for i < len(b) {
		c := b[i]
		if c > ' ' || c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			break
		}
		i++
	}
	s.i = i
}

// peek returns the byte at the scan position, 0 at the end.
func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// str scans the string at s.i (which is '"') and returns the bounds of its contents and whether they hold
// escapes.
func (s *scanner) str() (start, end int, escaped bool, err error) {
	start = s.i + 1
	// Most strings of audit events are short: a byte loop beats two IndexByte calls there.
	b, i := s.b, start
	for n := min(len(b), start+shortString); i < n; i++ {
		if c := b[i]; c == '"' {
			s.i = i + 1
			return start, i, false, nil
		} else if c == '\\' {
			goto escaped
		}
	}
	if i < len(b) {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			s.i = len(s.b)
			return 0, 0, false, s.fail("unterminated string")
		}
		end = i + q
		bs := bytes.IndexByte(s.b[i:end], '\\')
		if bs < 0 { // no escape before the first quote
			s.i = end + 1
			return start, end, false, nil
		}
		i += bs
	}
escaped:
	// Walk from the first backslash: each escape takes the byte after it.
	for i < len(s.b) {
		switch s.b[i] {
		case '\\':
			i += 2
		case '"':
			s.i = i + 1
			return start, i, true, nil
		default:
			n := bytes.IndexAny(s.b[i:], "\\\"")
			if n < 0 {
				i = len(s.b)
			} else {
				i += n
			}
		}
	}
	s.i = len(s.b)
	return 0, 0, false, s.fail("unterminated string")
}

// skip scans one value.
func (s *scanner) skip() error {
	switch c := s.peek(); c {
	case '"':
		_, _, _, err := s.str()
		return err
	case '{':
		return s.object(nil, nil)
	case '[':
		return s.array()
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return s.number()
		}
		if s.i >= len(s.b) {
			return s.fail("unexpected end")
		}
		return s.fail(fmt.Sprintf("unexpected %q", c))
	}
}

func (s *scanner) literal(lit string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		return s.fail("invalid literal")
	}
	s.i += len(lit)
	return nil
}

func (s *scanner) number() error {
	start := s.i
	digits := false
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E':
		default:
			if !digits {
				s.i = start
				return s.fail("invalid number")
			}
			return nil
		}
		s.i++
	}
	if !digits {
		return s.fail("invalid number")
	}
	return nil
}

// object scans the object at s.i. For each paths[k] (dot-separated keys, relative to this object) not found
// yet, it sets found[k] to the raw bytes of the value there. A key is matched as a whole first, so keys that
// contain dots ("@odata.nextLink") work; keys with escapes are never matched.
func (s *scanner) object(paths []string, found [][]byte) error {
	if s.depth++; s.depth > maxDepth {
		return errDepth
	}
	defer func() { s.depth-- }()
	s.i++ // '{'
	s.ws()
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if s.peek() != '"' {
			return s.fail("expected a key")
		}
		ks, ke, kesc, err := s.str()
		if err != nil {
			return err
		}
		s.ws()
		if s.peek() != ':' {
			return s.fail("expected ':'")
		}
		s.i++
		s.ws()
		vs := s.i
		if len(paths) == 0 || kesc {
			err = s.skip()
		} else {
			err = s.member(s.b[ks:ke], vs, paths, found)
		}
		if err != nil {
			return err
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.fail("expected ',' or '}'")
		}
	}
}

// member scans the value at vs of an object member named key, recording it (or values under it) for paths.
func (s *scanner) member(key []byte, vs int, paths []string, found [][]byte) error {
	var direct [maxPaths]bool
	var sub [maxPaths]string
	var subOf [maxPaths]int
	nsub, ndirect := 0, 0
	for k, p := range paths {
		if found[k] != nil {
			continue
		}
		switch {
		case p == string(key):
			direct[k] = true
			ndirect++
		case len(p) > len(key) && p[len(key)] == '.' && p[:len(key)] == string(key):
			sub[nsub], subOf[nsub] = p[len(key)+1:], k
			nsub++
		}
	}
	var err error
	if nsub > 0 && s.peek() == '{' {
		var subFound [maxPaths][]byte
		err = s.object(sub[:nsub], subFound[:nsub])
		for j := range nsub {
			if subFound[j] != nil {
				found[subOf[j]] = subFound[j]
			}
		}
	} else {
		err = s.skip()
	}
	if err == nil && ndirect > 0 {
		for k := range paths {
			if direct[k] {
				found[k] = s.b[vs:s.i]
			}
		}
	}
	return err
}

// array scans the array at s.i.
func (s *scanner) array() error {
	if s.depth++; s.depth > maxDepth {
		return errDepth
	}
	defer func() { s.depth-- }()
	s.i++ // '['
	s.ws()
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if err := s.skip(); err != nil {
			return err
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.fail("expected ',' or ']'")
		}
	}
}

// lookup returns the raw values at paths in the JSON object b (nil where absent). b must be one object and
// nothing else but white space.
func lookup(b []byte, paths []string, found [][]byte) error {
	s := scanner{b: b}
	s.ws()
	if s.peek() != '{' {
		return s.fail("expected an object")
	}
	if err := s.object(paths, found); err != nil {
		return err
	}
	s.ws()
	if s.i != len(s.b) {
		return s.fail("data after the object")
	}
	return nil
}

// stringValue returns the contents of the raw JSON string v, unescaped when needed (then in new memory); ok is
// false when v is not a string. Other scalars (numbers) come back as their raw text with ok true.
func stringValue(v []byte) (out []byte, ok bool) {
	if len(v) == 0 {
		return nil, false
	}
	switch v[0] {
	case '"':
		if len(v) < 2 {
			return nil, false
		}
		inner := v[1 : len(v)-1]
		if bytes.IndexByte(inner, '\\') < 0 {
			return inner, true
		}
		return unescape(inner)
	case '{', '[', 'n', 't', 'f':
		return nil, false
	default:
		return v, true // a number
	}
}

// unescape decodes the contents of a JSON string that holds escapes.
func unescape(inner []byte) ([]byte, bool) {
	quoted := make([]byte, 0, len(inner)+2)
	quoted = append(append(append(quoted, '"'), inner...), '"')
	var out string
	if json.Unmarshal(quoted, &out) != nil {
		return nil, false
	}
	return []byte(out), true
}
