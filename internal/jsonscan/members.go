package jsonscan

import (
	"errors"
	"unicode/utf8"
)

// ErrNotObject is text that is not one JSON object.
var ErrNotObject = errors.New("not a JSON object")

// Members calls fn with each member of the JSON object obj, in order: its name, unescaped, and its value exactly
// as written (a slice of obj). name is valid only until fn returns; value as long as obj. fn's error stops the
// walk and is returned as is. Members allocates nothing unless a name holds escapes or invalid UTF-8 (then it
// decodes the name into a buffer of its own). StringValue decodes a value that is a string.
//
// obj must be one object, white space around it allowed, valid by encoding/json's rules (the strict scanner);
// else the error gives the byte offset where it is wrong. Nesting deeper than maxDepth (the object itself is
// depth 1; MaxDepth at most) is ErrDepth. Repeated names are passed on each time: the caller picks the one that
// counts (encoding/json keeps the last). Invalid UTF-8 in strings is accepted, as encoding/json accepts it: a name
// has it replaced with U+FFFD, a value keeps it as written.
//
// It is built on the hand-written Scanner, not on jsontext: on a JSON log line it takes less than half the time
// (benchmarks/RESULTS.md, "One JSON library").
func Members(obj []byte, maxDepth int, fn func(name, value []byte) error) error {
	s := Scanner{B: obj, Strict: true}
	s.WS()
	if s.Peek() != '{' {
		if s.I < len(obj) && s.Skip() != nil {
			return s.Fail("expected an object")
		}
		return ErrNotObject
	}
	if maxDepth < 1 {
		return ErrDepth
	}
	// The scanner refuses a level past its own limit: starting the object at that limit less maxDepth makes the
	// levels below it count against maxDepth.
	s.depth = MaxDepth - min(maxDepth, MaxDepth) + 1
	s.I++ // '{'
	s.WS()
	if s.Peek() == '}' {
		s.I++
	} else if err := s.members(fn); err != nil {
		return err
	}
	s.WS()
	if s.I != len(obj) {
		return ErrNotObject
	}
	return nil
}

// members scans the members of the object Members entered, up to and including its '}'. Its loop is written out
// as Object's is: a shared function for the name and the separator measured 3-5% slower per JSON log line, and
// parse_json calls this once per event.
func (s *Scanner) members(fn func(name, value []byte) error) error {
	var nameBuf []byte
	for {
		s.WS()
		if s.Peek() != '"' {
			return s.Fail("expected a name")
		}
		ns, ne, escaped, err := s.Str()
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
		if err := s.Skip(); err != nil {
			return err
		}
		name := s.B[ns:ne]
		if escaped || !utf8.Valid(name) {
			nameBuf, _ = AppendUnescaped(nameBuf[:0], name) // the strict scan checked the escapes
			name = nameBuf
		}
		if err := fn(name, s.B[vs:s.I]); err != nil {
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
