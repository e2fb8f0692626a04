package container

import (
	"bytes"
	"errors"
	"time"

	"github.com/flickerlog/flicker/internal/rfc3339"
)

// Errors of a Docker json-file line that cannot be decoded; the line is then shipped raw with the error's text.
var (
	ErrNotObject  = errors.New("not a JSON object")
	ErrBadJSON    = errors.New("invalid JSON")
	ErrBadTime    = errors.New(`no valid "time"`)
	ErrBadStream  = errors.New(`"stream" is neither stdout nor stderr`)
	errDeepNested = errors.New("JSON nested too deep")
)

// maxNesting bounds how deep an unknown value (attrs) may nest.
const maxNesting = 32

// Docker decodes the lines of Docker's json-file logging driver:
//
//	{"log":"GET / 200\n","stream":"stdout","attrs":{"tag":"web"},"time":"2024-05-01T10:00:01.5Z"}
//
// Keys may come in any order and unknown keys are skipped. A "log" without a final newline is a partial record:
// dockerd cut the message at its 16 KiB buffer and it continues in the stream's next record. A missing "log" is
// an empty partial record (dockerd omits an empty one). As encoding/json reads an object into a map, the last of
// duplicate keys wins and keys and values may be escaped; a "log", "stream" or "time" that is not a string counts
// as absent.
//
// It decodes without encoding/json, and the record as dockerd writes it (keys log, stream, attrs, time in that
// order, no spaces) without the general scanner, unescaping "log" while it looks for the string's end. The value
// of "log" is used in place when it holds no escape but the final \n that ends every complete message, else
// unescaped into the Docker's scratch buffer (as are escaped keys, streams and times) or, for the file source,
// straight into its output arena. Not safe for concurrent use.
type Docker struct {
	scratch []byte
	seconds rfc3339.Cache // consecutive records mostly share their second
	// room, when set, gives the space an escaped "log" of a dockerd record is unescaped into instead of the
	// scratch buffer (file.Piece.Room: the file source's output arena, so the message is not copied again).
	room func(n int) []byte
}

// Decode decodes line (without its newline) into r. r.Content aliases line or the scratch buffer until the next
// call. On an error r is unspecified.
func (d *Docker) Decode(line []byte, r *Record) error {
	var err error
	if !d.decodeDockerd(line, r) {
		err = d.decodeAny(line, r)
	}
	if cap(d.scratch) > 1<<20 {
		d.scratch = nil // do not keep a huge line's buffer
	}
	return err
}

// The members of a record as dockerd writes it (moby's jsonlog.JSONLogs.MarshalJSONBuf): log and stream are
// omitted when empty, attrs is there only with log options that add attributes, time is always last.
const (
	dockerdLog    = `{"log":`
	dockerdStdout = `,"stream":"stdout"`
	dockerdStderr = `,"stream":"stderr"`
	dockerdAttrs  = `,"attrs":`
	dockerdTime   = `,"time":"`
	dockerdEnd    = `"}`
)

// decodeDockerd decodes a record laid out as dockerd writes it, and reports false for any other line, which
// decodeAny then reads (or refuses). It relies on nothing in dockerd's escaping: any escape in "log" other than
// its final \n is unescaped. Where it decodes a line, decodeAny would decode it to the same record.
func (d *Docker) decodeDockerd(b []byte, r *Record) bool {
	if !hasPrefix(b, dockerdLog+`"`) {
		return false
	}
	log, whole, i, err := d.logAt(b, len(dockerdLog))
	if err != nil {
		return false
	}
	var stream Stream
	switch {
	case hasPrefix(b[i:], dockerdStdout):
		stream, i = StreamStdout, i+len(dockerdStdout)
	case hasPrefix(b[i:], dockerdStderr):
		stream, i = StreamStderr, i+len(dockerdStderr)
	default:
		return false
	}
	if hasPrefix(b[i:], dockerdAttrs) {
		if i, err = skipValue(b, i+len(dockerdAttrs), 0); err != nil {
			return false
		}
	}
	// The time is all that is left but the closing quote and brace: a quote or backslash in it fails Parse.
	rest := b[i:]
	if len(rest) < len(dockerdTime)+len(dockerdEnd) || !hasPrefix(rest, dockerdTime) ||
		string(rest[len(rest)-len(dockerdEnd):]) != dockerdEnd {
		return false
	}
	t, err := d.seconds.Parse(rest[len(dockerdTime) : len(rest)-len(dockerdEnd)])
	if err != nil {
		return false
	}
	r.Time, r.Stream, r.Content, r.Partial = t, stream, log, !whole
	return true
}

// logAt reads the "log" string whose opening quote is at b[i] in one pass, unescaping it as it goes: its content
// without the final newline that ends a whole message, whether that newline was there, and the index after the
// closing quote (the first quote no escape covers). A content with no escape but that final \n aliases b; any
// other is unescaped into the room or the scratch buffer. An invalid escape is an error, as for appendUnescaped.
func (d *Docker) logAt(b []byte, i int) (content []byte, whole bool, end int, err error) {
	s := b[i+1:]
	q := bytes.IndexByte(s, '"')
	if q < 0 {
		return nil, false, 0, errBadString
	}
	e := bytes.IndexByte(s[:q], '\\')
	switch {
	case e < 0:
		content = s[:q]
		if whole = len(content) > 0 && content[len(content)-1] == '\n'; whole {
			content = content[:len(content)-1]
		}
		return content, whole, i + 1 + q + 1, nil
	case e == q-2 && s[q-1] == 'n':
		return s[:e], true, i + 1 + q + 1, nil // only the final \n that ends every complete message: no copy
	}
	var dst []byte
	if d.room != nil {
		dst = d.room(len(s))[:0] // unescaping never lengthens
	} else {
		dst = d.scratch[:0]
	}
	from := 0
	for {
		dst = append(dst, s[from:e]...)
		if e == q-2 && s[q-1] == 'n' {
			// The final \n of a whole message, the string's last escape.
			if d.room == nil {
				d.scratch = dst
			}
			return dst, true, i + 1 + q + 1, nil
		}
		if dst, from, err = appendEscape(dst, s, e); err != nil {
			return nil, false, 0, err
		}
		if from > q { // that quote was escaped: the string goes on
			n := bytes.IndexByte(s[from:], '"')
			if n < 0 {
				return nil, false, 0, errBadString
			}
			q = from + n
		}
		n := bytes.IndexByte(s[from:q], '\\')
		if n < 0 {
			break
		}
		e = from + n
	}
	dst = append(dst, s[from:q]...)
	if d.room == nil {
		d.scratch = dst
	}
	if whole = len(dst) > 0 && dst[len(dst)-1] == '\n'; whole {
		dst = dst[:len(dst)-1]
	}
	return dst, whole, i + 1 + q + 1, nil
}

// The members of a record Decode reads.
const (
	memberOther = iota
	memberLog
	memberStream
	memberTime
)

func memberOf(key []byte) int {
	switch string(key) {
	case "log":
		return memberLog
	case "stream":
		return memberStream
	case "time":
		return memberTime
	}
	return memberOther
}

// decodeAny decodes a line of any layout: a JSON object whose members may come in any order, with spaces.
func (d *Docker) decodeAny(b []byte, r *Record) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return ErrNotObject
	}
	i = skipSpace(b, i+1)
	var log []byte
	logEsc := -1
	var stream Stream
	var streamBad, timeOK bool
	var t time.Time
	if i < len(b) && b[i] == '}' {
		return ErrBadTime
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return ErrBadJSON
		}
		key, kesc, kend, err := stringAt(b, i)
		if err != nil {
			return ErrBadJSON
		}
		if kesc >= 0 {
			if d.scratch, err = appendUnescaped(d.scratch[:0], key); err != nil {
				return ErrBadJSON
			}
			key = d.scratch
		}
		member := memberOf(key)
		i = skipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return ErrBadJSON
		}
		i = skipSpace(b, i+1)
		var v []byte // the contents of a string value; nil for any other value, which counts as absent
		esc := -1
		if i < len(b) && b[i] == '"' {
			if v, esc, i, err = stringAt(b, i); err != nil {
				return ErrBadJSON
			}
		} else if i, err = skipValue(b, i, 0); err != nil {
			return err
		}
		switch member {
		case memberLog:
			log, logEsc = v, esc
		case memberStream:
			if v, err = d.unescaped(v, esc); err != nil {
				return ErrBadJSON
			}
			stream, streamBad = streamOf(v)
		case memberTime:
			if v, err = d.unescaped(v, esc); err != nil {
				return ErrBadJSON
			}
			t, err = d.seconds.Parse(v)
			timeOK = err == nil
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return ErrBadJSON
		}
		if b[i] == '}' {
			i++
			break
		}
		if b[i] != ',' {
			return ErrBadJSON
		}
		i = skipSpace(b, i+1)
	}
	if skipSpace(b, i) != len(b) {
		return ErrBadJSON
	}
	if !timeOK {
		return ErrBadTime
	}
	if streamBad {
		return ErrBadStream
	}
	if err := d.setContent(r, log, logEsc); err != nil {
		return ErrBadJSON
	}
	r.Time, r.Stream = t, stream
	return nil
}

// setContent sets r.Content and r.Partial from the contents of a "log" string (without its quotes; esc is the
// index in log of its first backslash, -1 when none).
func (d *Docker) setContent(r *Record, log []byte, esc int) error {
	switch {
	case esc < 0:
	case esc == len(log)-2 && log[esc+1] == 'n':
		// Only the final \n that ends every complete message: no copy.
		r.Content, r.Partial = log[:esc], false
		return nil
	default:
		var err error
		if d.scratch, err = appendUnescaped(append(d.scratch[:0], log[:esc]...), log[esc:]); err != nil {
			return err
		}
		log = d.scratch
	}
	r.Partial = len(log) == 0 || log[len(log)-1] != '\n'
	if !r.Partial {
		log = log[:len(log)-1]
	}
	r.Content = log
	return nil
}

// unescaped returns the contents of a string (esc as for setContent), unescaped into the scratch buffer when
// they hold escapes.
func (d *Docker) unescaped(v []byte, esc int) ([]byte, error) {
	if esc < 0 {
		return v, nil
	}
	var err error
	d.scratch, err = appendUnescaped(d.scratch[:0], v)
	return d.scratch, err
}

// streamOf returns the stream a "stream" value names (absent or empty: unknown), and whether it names none.
func streamOf(v []byte) (Stream, bool) {
	switch string(v) {
	case "stdout":
		return StreamStdout, false
	case "stderr":
		return StreamStderr, false
	case "":
		return StreamUnknown, false
	}
	return StreamUnknown, true
}

func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value at b[i]. Numbers and literals are checked only for their
// characters: their values are never used.
func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, ErrBadJSON
	}
	switch c := b[i]; {
	case c == '"':
		_, _, end, err := stringAt(b, i)
		if err != nil {
			return 0, ErrBadJSON
		}
		return end, nil
	case c == '{' || c == '[':
		if depth >= maxNesting {
			return 0, errDeepNested
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1, nil
		}
		for {
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return 0, ErrBadJSON
				}
				_, _, end, err := stringAt(b, i)
				if err != nil {
					return 0, ErrBadJSON
				}
				i = skipSpace(b, end)
				if i >= len(b) || b[i] != ':' {
					return 0, ErrBadJSON
				}
				i = skipSpace(b, i+1)
			}
			var err error
			if i, err = skipValue(b, i, depth+1); err != nil {
				return 0, err
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return 0, ErrBadJSON
			}
			if b[i] == closer {
				return i + 1, nil
			}
			if b[i] != ',' {
				return 0, ErrBadJSON
			}
			i = skipSpace(b, i+1)
		}
	default:
		j := i
		for j < len(b) && (b[j] == '-' || b[j] == '+' || b[j] == '.' || b[j] >= '0' && b[j] <= '9' ||
			b[j] >= 'a' && b[j] <= 'z' || b[j] >= 'A' && b[j] <= 'Z') {
			j++
		}
		if j == i {
			return 0, ErrBadJSON
		}
		return j, nil
	}
}
