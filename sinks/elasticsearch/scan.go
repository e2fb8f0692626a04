package elasticsearch

import (
	"fmt"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// The tokenizer of responseParser: just enough JSON to walk a response, skip what the sink does not need and
// read strings, booleans and status codes, strictly (anything malformed is errMalformed).

// next returns the next byte that is not whitespace.
func (p *responseParser) next() (byte, error) {
	for {
		c, err := p.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, fmt.Errorf("%w: %w", errMalformed, err)
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c, nil
	}
}

// end checks that only whitespace follows the value just read. It reads byte by byte without next, whose error at
// the end of the body would allocate on every good response.
func (p *responseParser) end() error {
	for {
		c, err := p.r.ReadByte()
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return fmt.Errorf("%w: %w", errMalformed, err)
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		}
		return fmt.Errorf("%w: %q after the response object", errMalformed, c)
	}
}

// peek returns the next byte that is not whitespace without consuming it.
func (p *responseParser) peek() (byte, error) {
	c, err := p.next()
	if err == nil {
		_ = p.r.UnreadByte()
	}
	return c, err
}

// expectByte consumes the byte that peek returned.
func (p *responseParser) expectByte() error {
	_, err := p.r.ReadByte()
	return err
}

func (p *responseParser) expect(want byte) error {
	c, err := p.next()
	if err != nil {
		return err
	}
	if c != want {
		return unexpected(c, string(want))
	}
	return nil
}

func unexpected(c byte, want string) error {
	return fmt.Errorf("%w: %q where %s was expected", errMalformed, c, want)
}

// member reads the key of an object's next member, whose '{' was read, and the ':' after it, leaving the key in
// p.str; ok is false at the closing '}'.
func (p *responseParser) member(first bool) (ok bool, err error) {
	c, err := p.next()
	if err != nil {
		return false, err
	}
	if c == '}' {
		return false, nil
	}
	if !first {
		if c != ',' {
			return false, unexpected(c, "',' or '}'")
		}
		if c, err = p.next(); err != nil {
			return false, err
		}
	}
	if c != '"' {
		return false, unexpected(c, "a member name")
	}
	if p.str, err = p.readString(p.str[:0]); err != nil {
		return false, err
	}
	return true, p.expect(':')
}

// element positions the reader on an array's next element, whose '[' was read; ok is false at the closing ']'.
func (p *responseParser) element(first bool) (ok bool, err error) {
	c, err := p.next()
	if err != nil {
		return false, err
	}
	switch {
	case c == ']':
		return false, nil
	case !first && c != ',':
		return false, unexpected(c, "',' or ']'")
	case first:
		_ = p.r.UnreadByte()
	}
	return true, nil
}

// readString appends a string's unescaped bytes to dst; the opening quote was read.
func (p *responseParser) readString(dst []byte) ([]byte, error) {
	for {
		c, err := p.r.ReadByte()
		if err != nil {
			return dst, fmt.Errorf("%w: unterminated string", errMalformed)
		}
		switch {
		case c == '"':
			return dst, nil
		case c == '\\':
			if dst, err = p.readEscape(dst); err != nil {
				return dst, err
			}
		case c < 0x20:
			return dst, fmt.Errorf("%w: control character in a string", errMalformed)
		default:
			dst = append(dst, c)
		}
	}
}

func (p *responseParser) readEscape(dst []byte) ([]byte, error) {
	c, err := p.r.ReadByte()
	if err != nil {
		return dst, fmt.Errorf("%w: unterminated string", errMalformed)
	}
	switch c {
	case '"', '\\', '/':
		return append(dst, c), nil
	case 'b':
		return append(dst, '\b'), nil
	case 'f':
		return append(dst, '\f'), nil
	case 'n':
		return append(dst, '\n'), nil
	case 'r':
		return append(dst, '\r'), nil
	case 't':
		return append(dst, '\t'), nil
	case 'u':
		r, err := p.readHex4()
		if err != nil {
			return dst, err
		}
		// A high surrogate is valid only followed by an escaped low one; anything else is U+FFFD, as
		// encoding/json decodes it.
		for utf16.IsSurrogate(r) && r < 0xdc00 {
			if b, _ := p.r.Peek(2); len(b) < 2 || b[0] != '\\' || b[1] != 'u' {
				break
			}
			_, _ = p.r.Discard(2)
			r2, err := p.readHex4()
			if err != nil {
				return dst, err
			}
			if r2 >= 0xdc00 && r2 < 0xe000 {
				return utf8.AppendRune(dst, utf16.DecodeRune(r, r2)), nil
			}
			dst, r = utf8.AppendRune(dst, utf8.RuneError), r2
		}
		if utf16.IsSurrogate(r) {
			r = utf8.RuneError
		}
		return utf8.AppendRune(dst, r), nil
	}
	return dst, fmt.Errorf("%w: invalid escape \\%c", errMalformed, c)
}

func (p *responseParser) readHex4() (rune, error) {
	var r rune
	for range 4 {
		c, err := p.r.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("%w: unterminated string", errMalformed)
		}
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, fmt.Errorf("%w: invalid \\u escape", errMalformed)
		}
	}
	return r, nil
}

// readStringValue reads a string value and returns a copy; null reads as "".
func (p *responseParser) readStringValue() (string, error) {
	c, err := p.next()
	if err != nil {
		return "", err
	}
	switch c {
	case '"':
		if p.str, err = p.readString(p.str[:0]); err != nil {
			return "", err
		}
		return validString(p.str), nil
	case 'n':
		return "", p.literal("ull")
	}
	_ = p.r.UnreadByte()
	return "", p.skip(5) // a number or an object where a string was documented: ignore it
}

func (p *responseParser) readBool() (bool, error) {
	c, err := p.next()
	if err != nil {
		return false, err
	}
	switch c {
	case 't':
		return true, p.literal("rue")
	case 'f':
		return false, p.literal("alse")
	}
	return false, unexpected(c, "true or false")
}

// readInt reads a non-negative integer such as an HTTP status.
func (p *responseParser) readInt() (int, error) {
	c, err := p.next()
	if err != nil {
		return 0, err
	}
	if c < '0' || c > '9' {
		return 0, unexpected(c, "a status code")
	}
	v := int(c - '0')
	for {
		c, err := p.r.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("%w: %w", errMalformed, io.ErrUnexpectedEOF)
		}
		if v == 0 && c >= '0' && c <= '9' {
			return 0, errBadNumber // a leading zero
		}
		if c < '0' || c > '9' {
			if c == '.' || c == 'e' || c == 'E' {
				return 0, fmt.Errorf("%w: a status code that is not an integer", errMalformed)
			}
			_ = p.r.UnreadByte()
			return v, nil
		}
		if v = v*10 + int(c-'0'); v > 1e6 {
			return 0, fmt.Errorf("%w: status code out of range", errMalformed)
		}
	}
}

// literal consumes the rest of true, false or null.
func (p *responseParser) literal(rest string) error {
	for i := 0; i < len(rest); i++ {
		c, err := p.r.ReadByte()
		if err != nil || c != rest[i] {
			return fmt.Errorf("%w: invalid literal", errMalformed)
		}
	}
	return nil
}

// skip consumes one value of any kind.
func (p *responseParser) skip(depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nested deeper than %d", errMalformed, maxDepth)
	}
	c, err := p.next()
	if err != nil {
		return err
	}
	switch c {
	case '{':
		for first := true; ; first = false {
			ok, err := p.member(first)
			if err != nil || !ok {
				return err
			}
			if err := p.skip(depth + 1); err != nil {
				return err
			}
		}
	case '[':
		for first := true; ; first = false {
			ok, err := p.element(first)
			if err != nil || !ok {
				return err
			}
			if err := p.skip(depth + 1); err != nil {
				return err
			}
		}
	case '"':
		return p.skipString()
	case 't':
		return p.literal("rue")
	case 'f':
		return p.literal("alse")
	case 'n':
		return p.literal("ull")
	}
	if c == '-' || c >= '0' && c <= '9' {
		return p.skipNumber(c)
	}
	return unexpected(c, "a value")
}

// skipString consumes the rest of a string whose opening quote was read, checking its escapes as JSON does.
func (p *responseParser) skipString() error {
	for {
		c, err := p.r.ReadByte()
		if err != nil {
			return fmt.Errorf("%w: unterminated string", errMalformed)
		}
		switch {
		case c == '"':
			return nil
		case c == '\\':
			if err := p.skipEscape(); err != nil {
				return err
			}
		case c < 0x20:
			return fmt.Errorf("%w: control character in a string", errMalformed)
		}
	}
}

// skipEscape consumes what follows a backslash in a string.
func (p *responseParser) skipEscape() error {
	c, err := p.r.ReadByte()
	if err != nil {
		return fmt.Errorf("%w: unterminated string", errMalformed)
	}
	switch c {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return nil
	case 'u':
		for range 4 {
			h, err := p.r.ReadByte()
			if err != nil || !isHex(h) {
				return fmt.Errorf("%w: invalid \\u escape", errMalformed)
			}
		}
		return nil
	}
	return fmt.Errorf("%w: invalid escape \\%c", errMalformed, c)
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

var errBadNumber = fmt.Errorf("%w: invalid number", errMalformed)

// skipNumber consumes a number whose first byte (a digit or '-') was read as first, following JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *responseParser) skipNumber(first byte) error {
	bad := errBadNumber
	c := first
	var err error
	if c == '-' {
		if c, err = p.r.ReadByte(); err != nil {
			return bad
		}
	}
	switch {
	case c == '0':
		c, err = p.r.ReadByte()
	case c >= '1' && c <= '9':
		c, err = p.digits()
	default:
		return bad
	}
	if err == nil && c == '.' {
		if c, err = p.r.ReadByte(); err != nil || c < '0' || c > '9' {
			return bad
		}
		c, err = p.digits()
	}
	if err == nil && (c == 'e' || c == 'E') {
		if c, err = p.r.ReadByte(); err == nil && (c == '+' || c == '-') {
			c, err = p.r.ReadByte()
		}
		if err != nil || c < '0' || c > '9' {
			return bad
		}
		c, err = p.digits()
	}
	if err != nil {
		return fmt.Errorf("%w: %w", errMalformed, io.ErrUnexpectedEOF) // a number is never the whole body here
	}
	_ = p.r.UnreadByte()
	if c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' {
		return bad // 00, 1.2.3, 1e5e5
	}
	return nil
}

// digits consumes digits and returns the first byte after them.
func (p *responseParser) digits() (byte, error) {
	for {
		c, err := p.r.ReadByte()
		if err != nil || c < '0' || c > '9' {
			return c, err
		}
	}
}

// validString copies b, replacing each byte of invalid UTF-8 with U+FFFD as encoding/json does: reasons end up in
// logs and dead-letter records.
func validString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return string(out)
}
