// Package jsonscan finds value boundaries in JSON text without decoding it, for sources that publish slices of
// what they received exactly as received and look only at the few values they need (ids, times, cursors,
// messages), and for processors that walk a JSON log line's members (Members). It checks the grammar's structure
// (brackets, strings, separators) well enough to refuse a cut or garbled body, not every detail of numbers or
// escapes; Strict checks those too.
//
// It is hand-written rather than built on github.com/go-json-experiment/json/jsontext, flicker's JSON tokenizer
// elsewhere (the Elasticsearch output reads its responses with it): on these per-event paths jsontext took 1.4 to
// 2.4 times as long (benchmarks/RESULTS.md, "One JSON library"). TooDeep serves jsontext's users.
package jsonscan

import (
	"bytes"
	"errors"
	"fmt"
)

// maxDepth bounds nesting, so that a hostile body cannot exhaust the stack.
const maxDepth = 512

// MaxDepth is the deepest nesting the scanner follows (the outermost object or array is depth 1).
const MaxDepth = maxDepth

// shortString is how far str looks byte by byte before handing a long string to IndexByte.
const shortString = 32

// MaxPaths is how many paths one object walk can look for.
const MaxPaths = 4

// ErrDepth is a value nested deeper than the scanner follows.
var ErrDepth = errors.New("JSON nested too deeply")

// syntaxError is a JSON problem at a byte offset of the scanned text.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("invalid JSON at byte %d: %s", e.off, e.msg) }

// Scanner walks the JSON text B from the offset I. Its methods scan one construct at I and leave I after it.
type Scanner struct {
	B []byte
	I int
	// Strict makes the scanner refuse what encoding/json refuses inside strings and numbers too: control
	// characters, unknown escapes, numbers outside the grammar. A source that copies scanned values into its
	// events verbatim sets it, so that what it ships is valid JSON.
	Strict bool
	depth  int
}

// Fail returns a syntax error at the scan position.
func (s *Scanner) Fail(msg string) error { return &syntaxError{off: s.I, msg: msg} }

// WS skips white space.
func (s *Scanner) WS() {
	b, i := s.B, s.I
	for i < len(b) {
		c := b[i]
		if c > ' ' || c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			break
		}
		i++
	}
	s.I = i
}

// Peek returns the byte at the scan position, 0 at the end.
func (s *Scanner) Peek() byte {
	if s.I < len(s.B) {
		return s.B[s.I]
	}
	return 0
}

// Str scans the string at s.I (which is '"') and returns the bounds of its contents and whether they hold
// escapes.
func (s *Scanner) Str() (start, end int, escaped bool, err error) {
	if s.Strict {
		return s.strictStr()
	}
	start = s.I + 1
	// Most strings of audit events are short: a byte loop beats two IndexByte calls there.
	b, i := s.B, start
	for n := min(len(b), start+shortString); i < n; i++ {
		if c := b[i]; c == '"' {
			s.I = i + 1
			return start, i, false, nil
		} else if c == '\\' {
			goto escaped
		}
	}
	if i < len(b) {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			s.I = len(s.B)
			return 0, 0, false, s.Fail("unterminated string")
		}
		end = i + q
		bs := bytes.IndexByte(s.B[i:end], '\\')
		if bs < 0 { // no escape before the first quote
			s.I = end + 1
			return start, end, false, nil
		}
		i += bs
	}
escaped:
	// Walk from the first backslash: each escape takes the byte after it.
	for i < len(s.B) {
		switch s.B[i] {
		case '\\':
			i += 2
		case '"':
			s.I = i + 1
			return start, i, true, nil
		default:
			n := bytes.IndexAny(s.B[i:], "\\\"")
			if n < 0 {
				i = len(s.B)
			} else {
				i += n
			}
		}
	}
	s.I = len(s.B)
	return 0, 0, false, s.Fail("unterminated string")
}

// Skip scans one value.
func (s *Scanner) Skip() error {
	switch c := s.Peek(); c {
	case '"':
		_, _, _, err := s.Str()
		return err
	case '{':
		return s.Object(nil, nil)
	case '[':
		return s.Array()
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
		if s.I >= len(s.B) {
			return s.Fail("unexpected end")
		}
		return s.Fail(fmt.Sprintf("unexpected %q", c))
	}
}

func (s *Scanner) literal(lit string) error {
	if !bytes.HasPrefix(s.B[s.I:], []byte(lit)) {
		return s.Fail("invalid literal")
	}
	s.I += len(lit)
	return nil
}

func (s *Scanner) number() error {
	if s.Strict {
		return s.strictNumber()
	}
	start := s.I
	digits := false
	for s.I < len(s.B) {
		c := s.B[s.I]
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E':
		default:
			if !digits {
				s.I = start
				return s.Fail("invalid number")
			}
			return nil
		}
		s.I++
	}
	if !digits {
		return s.Fail("invalid number")
	}
	return nil
}

// Object scans the object at s.I. For each paths[k] (dot-separated keys, relative to this object) not found
// yet, it sets found[k] to the raw bytes of the value there. A key is matched as a whole first, so keys that
// contain dots ("@odata.nextLink") work; keys with escapes are never matched.
func (s *Scanner) Object(paths []string, found [][]byte) error {
	if s.depth++; s.depth > maxDepth {
		return ErrDepth
	}
	defer func() { s.depth-- }()
	s.I++ // '{'
	s.WS()
	if s.Peek() == '}' {
		s.I++
		return nil
	}
	for {
		s.WS()
		if s.Peek() != '"' {
			return s.Fail("expected a key")
		}
		ks, ke, kesc, err := s.Str()
		if err != nil {
			return err
		}
		s.WS()
		if s.Peek() != ':' {
			return s.Fail("expected ':'")
		}
		s.I++
		s.WS()
		vs := s.I
		key := s.B[ks:ke]
		if kesc && len(paths) > 0 {
			// An escaped key names the same member as written plainly: "mess\u0061ge" is message.
			if u, ok := unescape(key); ok {
				key = u
			} else {
				key = nil
			}
		}
		if len(paths) == 0 || key == nil {
			err = s.Skip()
		} else {
			err = s.member(key, vs, paths, found)
		}
		if err != nil {
			return err
		}
		s.WS()
		switch s.Peek() {
		case ',':
			s.I++
		case '}':
			s.I++
			return nil
		default:
			return s.Fail("expected ',' or '}'")
		}
	}
}

// member scans the value at vs of an object member named key, recording it (or values under it) for paths.
func (s *Scanner) member(key []byte, vs int, paths []string, found [][]byte) error {
	var direct [MaxPaths]bool
	var sub [MaxPaths]string
	var subOf [MaxPaths]int
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
	if nsub > 0 && s.Peek() == '{' {
		var subFound [MaxPaths][]byte
		err = s.Object(sub[:nsub], subFound[:nsub])
		for j := range nsub {
			if subFound[j] != nil {
				found[subOf[j]] = subFound[j]
			}
		}
	} else {
		err = s.Skip()
	}
	if err == nil && ndirect > 0 {
		for k := range paths {
			if direct[k] {
				found[k] = s.B[vs:s.I]
			}
		}
	}
	return err
}

// Array scans the array at s.I.
func (s *Scanner) Array() error {
	if s.depth++; s.depth > maxDepth {
		return ErrDepth
	}
	defer func() { s.depth-- }()
	s.I++ // '['
	s.WS()
	if s.Peek() == ']' {
		s.I++
		return nil
	}
	for {
		s.WS()
		if err := s.Skip(); err != nil {
			return err
		}
		s.WS()
		switch s.Peek() {
		case ',':
			s.I++
		case ']':
			s.I++
			return nil
		default:
			return s.Fail("expected ',' or ']'")
		}
	}
}

// Lookup returns the raw values at paths in the JSON object b (nil where absent). b must be one object and
// nothing else but white space.
func Lookup(b []byte, paths []string, found [][]byte) error {
	s := Scanner{B: b}
	s.WS()
	if s.Peek() != '{' {
		return s.Fail("expected an object")
	}
	if err := s.Object(paths, found); err != nil {
		return err
	}
	s.WS()
	if s.I != len(s.B) {
		return s.Fail("data after the object")
	}
	return nil
}

// StringValue returns the contents of the raw JSON string v, unescaped when needed (then in new memory); ok is
// false when v is not a string. Other scalars (numbers) come back as their raw text with ok true.
func StringValue(v []byte) (out []byte, ok bool) {
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
	return AppendUnescaped(make([]byte, 0, len(inner)), inner)
}

// EnterArray starts scanning the array at I (which must be '['), leaving I at its first element or at its ']'
// (then it returns false): a caller that scans the elements itself, one Skip or Object each, then calls
// NextElement after each one.
func (s *Scanner) EnterArray() (bool, error) {
	if s.Peek() != '[' {
		return false, s.Fail("expected an array")
	}
	if s.depth++; s.depth > maxDepth {
		return false, ErrDepth
	}
	s.I++
	s.WS()
	if s.Peek() == ']' {
		s.I++
		s.depth--
		return false, nil
	}
	return true, nil
}

// NextElement moves past the separator after an element of the array entered with EnterArray: true with I at
// the next element, false after the closing ']'.
func (s *Scanner) NextElement() (bool, error) {
	s.WS()
	switch s.Peek() {
	case ',':
		s.I++
		s.WS()
		return true, nil
	case ']':
		s.I++
		s.depth--
		return false, nil
	}
	return false, s.Fail("expected ',' or ']'")
}
