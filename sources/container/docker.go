package container

import (
	"bytes"
	"errors"

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
// an empty partial record (dockerd omits an empty one). It decodes without encoding/json: the value of "log" is
// used in place when it holds no escapes, else unescaped into the Docker's scratch buffer. Not safe for
// concurrent use.
type Docker struct {
	scratch []byte
}

// Decode decodes line (without its newline) into r. r.Content aliases line or the scratch buffer until the next
// call. On an error r is unspecified.
func (d *Docker) Decode(line []byte, r *Record) error {
	b := line
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return ErrNotObject
	}
	i = skipSpace(b, i+1)
	var log, stream, tm []byte
	var logEscaped, haveTime bool
	if i < len(b) && b[i] == '}' {
		return ErrBadTime
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return ErrBadJSON
		}
		kend, kesc, err := scanString(b, i)
		if err != nil {
			return ErrBadJSON
		}
		key := b[i+1 : kend-1]
		i = skipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return ErrBadJSON
		}
		i = skipSpace(b, i+1)
		vstart := i
		if i, err = skipValue(b, i, 0); err != nil {
			return err
		}
		if !kesc && i-vstart >= 2 && b[vstart] == '"' {
			v, esc := b[vstart+1:i-1], bytes.IndexByte(b[vstart+1:i-1], '\\') >= 0
			switch string(key) {
			case "log":
				log, logEscaped = v, esc
			case "stream":
				stream = v
			case "time":
				tm, haveTime = v, !esc
			}
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
	t, ok := rfc3339.Parse(tm)
	if !haveTime || !ok {
		return ErrBadTime
	}
	r.Time = t
	switch string(stream) {
	case "stdout":
		r.Stream = StreamStdout
	case "stderr":
		r.Stream = StreamStderr
	case "":
		r.Stream = StreamUnknown
	default:
		return ErrBadStream
	}
	if logEscaped {
		var err error
		if d.scratch, err = appendUnescaped(d.scratch[:0], log); err != nil {
			return ErrBadJSON
		}
		log = d.scratch
		if cap(d.scratch) > 1<<20 {
			d.scratch = nil // do not keep a huge line's buffer
		}
	}
	r.Partial = len(log) == 0 || log[len(log)-1] != '\n'
	if !r.Partial {
		log = log[:len(log)-1]
	}
	r.Content = log
	return nil
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
		end, _, err := scanString(b, i)
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
				end, _, err := scanString(b, i)
				if i >= len(b) || b[i] != '"' || err != nil {
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
