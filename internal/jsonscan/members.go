package jsonscan

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// ErrNotObject is text that is not one JSON object.
var ErrNotObject = errors.New("not a JSON object")

// lenient are the decoder options of text flicker passes on as written: encoding/json reads repeated names
// (the caller picks which one counts) and invalid UTF-8 (flicker's encoder replaces it where it writes strings).
var lenient = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// memberWalker is what one Members call needs; pooled, so that a call allocates nothing once warm.
type memberWalker struct {
	src  bytes.Buffer // the decoder reads the object in place through it: values are slices of the object
	dec  jsontext.Decoder
	name []byte // an escaped name, unescaped
}

var memberWalkers = sync.Pool{New: func() any { return new(memberWalker) }}

// Members calls fn with each member of the JSON object obj, in order: its name, unescaped, and its value exactly
// as written (a slice of obj, white space around it trimmed). name is valid only until fn returns; value as
// long as obj. fn's error stops the walk and is returned as is.
//
// obj must be one object, white space around it allowed, by the JSON grammar; else the error says where it is
// wrong. Nesting deeper than maxDepth (the object itself is depth 1) is ErrDepth. Repeated names are passed on
// each time. Invalid UTF-8 in strings is accepted: a name has it replaced with U+FFFD, a value keeps it as
// written.
func Members(obj []byte, maxDepth int, fn func(name, value []byte) error) error {
	w := memberWalkers.Get().(*memberWalker)
	defer func() {
		w.src = bytes.Buffer{}
		w.dec.Reset(&w.src) // drops obj: the pool must not keep it reachable
		memberWalkers.Put(w)
	}()
	w.src = *bytes.NewBuffer(obj)
	d := &w.dec
	d.Reset(&w.src, lenient...)
	if d.PeekKind() != '{' {
		if _, err := d.ReadToken(); err != nil && err != io.EOF {
			return err
		}
		return ErrNotObject
	}
	if maxDepth < 1 {
		return ErrDepth
	}
	if _, err := d.ReadToken(); err != nil {
		return err
	}
	for d.PeekKind() != '}' {
		name, err := d.ReadValue() // an invalid kind here: ReadValue returns the error PeekKind saw
		if err != nil {
			return err
		}
		value, err := d.ReadValue()
		if err != nil {
			return err
		}
		if deeper(value, maxDepth-1) {
			return ErrDepth
		}
		if bytes.IndexByte(name, '\\') < 0 && utf8.Valid(name) {
			name = name[1 : len(name)-1]
		} else {
			w.name, _ = jsontext.AppendUnquote(w.name[:0], name) // an error here only reports invalid UTF-8
			name = w.name
		}
		if err := fn(name, value); err != nil {
			return err
		}
	}
	if _, err := d.ReadToken(); err != nil {
		return err
	}
	if _, err := d.ReadToken(); err != io.EOF {
		if err == nil {
			return ErrNotObject // another value after the object
		}
		return err
	}
	return nil
}

// deeper reports whether v, a valid JSON value, nests objects and arrays more than limit levels deep. It scans
// only values long enough to be that deep: each level takes two bytes.
func deeper(v []byte, limit int) bool {
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
