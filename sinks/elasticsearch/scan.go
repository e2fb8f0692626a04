package elasticsearch

import (
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/flickerlog/flicker/internal/jsonscan"
)

// The tokens of responseParser, read with jsontext: just enough to walk a response, skip what the sink does not
// need and read strings, booleans and status codes. jsontext checks the grammar; anything it refuses is
// errMalformed.

// responseOptions: encoding/json reads repeated names and invalid UTF-8, and so does the parser (the reasons it
// keeps have invalid UTF-8 replaced, as encoding/json decodes them).
var responseOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

func malformed(err error) error { return fmt.Errorf("%w: %w", errMalformed, err) }

func unexpected(k jsontext.Kind, want string) error {
	return fmt.Errorf("%w: %v where %s was expected", errMalformed, k, want)
}

// open reads the token that opens an object or an array (want is '{' or '[').
func (p *responseParser) open(want jsontext.Kind) error {
	if k := p.dec.PeekKind(); k != want && k != jsontext.KindInvalid {
		return unexpected(k, "'"+want.String()+"'")
	}
	if _, err := p.dec.ReadToken(); err != nil {
		return malformed(err)
	}
	if p.dec.StackDepth() > maxDepth {
		return fmt.Errorf("%w: nested deeper than %d", errMalformed, maxDepth)
	}
	return nil
}

// more says whether the object or array just opened has another member or element; false after reading its end.
func (p *responseParser) more() (bool, error) {
	switch p.dec.PeekKind() {
	case '}', ']':
		_, err := p.dec.ReadToken()
		if err != nil {
			return false, malformed(err)
		}
		return false, nil
	}
	return true, nil // an error is the next read's
}

// name reads the name of an object's member into p.str, unescaped.
func (p *responseParser) name() error {
	v, err := p.dec.ReadValue()
	if err != nil {
		return malformed(err)
	}
	p.str = unquote(p.str[:0], v)
	return nil
}

// unquote appends the contents of the JSON string v (as the decoder read it) to dst: invalid UTF-8 and lone
// surrogates become U+FFFD, as encoding/json decodes them.
func unquote(dst, v []byte) []byte {
	if bytes.IndexByte(v, '\\') < 0 && utf8.Valid(v) {
		return append(dst, v[1:len(v)-1]...)
	}
	dst, _ = jsontext.AppendUnquote(dst, v) // its error only reports what it replaced
	return dst
}

// skip reads one value, refusing nesting beyond maxDepth.
func (p *responseParser) skip() error {
	v, err := p.dec.ReadValue()
	if err != nil {
		return malformed(err)
	}
	if jsonscan.TooDeep(v, maxDepth-p.dec.StackDepth()) {
		return fmt.Errorf("%w: nested deeper than %d", errMalformed, maxDepth)
	}
	return nil
}

// end checks that only white space follows the response object.
func (p *responseParser) end() error {
	switch _, err := p.dec.ReadToken(); err {
	case io.EOF:
		return nil
	case nil:
		return fmt.Errorf("%w: data after the response object", errMalformed)
	default:
		return malformed(err)
	}
}

// readStringValue reads a string value and returns a copy; null reads as "", and any other value (a number or
// an object where a string was documented) is skipped as "".
func (p *responseParser) readStringValue() (string, error) {
	switch p.dec.PeekKind() {
	case '"':
		v, err := p.dec.ReadValue()
		if err != nil {
			return "", malformed(err)
		}
		p.str = unquote(p.str[:0], v)
		return string(p.str), nil
	case 'n':
		_, err := p.dec.ReadToken()
		if err != nil {
			return "", malformed(err)
		}
		return "", nil
	}
	return "", p.skip()
}

func (p *responseParser) readBool() (bool, error) {
	switch k := p.dec.PeekKind(); k {
	case 't', 'f':
		_, err := p.dec.ReadToken()
		if err != nil {
			return false, malformed(err)
		}
		return k == 't', nil
	default:
		if err := p.skip(); err != nil {
			return false, err
		}
		return false, unexpected(k, "true or false")
	}
}

// readInt reads a non-negative integer such as an HTTP status.
func (p *responseParser) readInt() (int, error) {
	if k := p.dec.PeekKind(); k != '0' && k != jsontext.KindInvalid {
		return 0, unexpected(k, "a status code")
	}
	v, err := p.dec.ReadValue()
	if err != nil {
		return 0, malformed(err)
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: a status code that is not a non-negative integer", errMalformed)
		}
		if n = n*10 + int(c-'0'); n > 1e6 {
			return 0, fmt.Errorf("%w: status code out of range", errMalformed)
		}
	}
	return n, nil
}
