package loadgen_test

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// syslogMessage is an RFC 5424 message as parseRFC5424 reads it.
type syslogMessage struct {
	Priority                         int
	Timestamp                        time.Time
	Hostname, AppName, ProcID, MsgID string
	StructuredData                   string // as sent, "-" for none
	Message                          []byte
}

// parseRFC5424 is the test's reference reading of RFC 5424 section 6 (its ABNF, strictly): it accepts a message
// only if every header field is there with its allowed characters and lengths, the timestamp is a valid RFC 3339
// time with at most 6 fraction digits, and the structured data is NILVALUE or well-formed elements.
func parseRFC5424(b []byte) (syslogMessage, error) {
	var m syslogMessage
	if len(b) < 2 || b[0] != '<' {
		return m, errors.New("no PRI")
	}
	end := bytes.IndexByte(b, '>')
	if end < 2 || end > 4 {
		return m, errors.New("PRI: 1 to 3 digits")
	}
	pri, err := strconv.Atoi(string(b[1:end]))
	if err != nil || pri > 191 || (end > 2 && b[1] == '0') {
		return m, fmt.Errorf("PRI %q", b[1:end])
	}
	m.Priority = pri
	b = b[end+1:]
	version, b, ok := field(b)
	if !ok || version != "1" {
		return m, fmt.Errorf("VERSION %q, want 1", version)
	}
	ts, b, ok := field(b)
	if !ok {
		return m, errors.New("no TIMESTAMP")
	}
	if ts != "-" {
		if frac := len(ts) - len("2006-01-02T15:04:05Z"); frac > 7 {
			return m, fmt.Errorf("TIMESTAMP %q: more than 6 fraction digits", ts)
		}
		if m.Timestamp, err = time.Parse(time.RFC3339Nano, ts); err != nil {
			return m, fmt.Errorf("TIMESTAMP: %w", err)
		}
	}
	for _, f := range []struct {
		dst *string
		max int
		nm  string
	}{{&m.Hostname, 255, "HOSTNAME"}, {&m.AppName, 48, "APP-NAME"}, {&m.ProcID, 128, "PROCID"}, {&m.MsgID, 32, "MSGID"}} {
		if *f.dst, b, ok = field(b); !ok || len(*f.dst) > f.max {
			return m, fmt.Errorf("%s %q: 1 to %d printable characters", f.nm, *f.dst, f.max)
		}
	}
	sd, rest, err := structuredData(b)
	if err != nil {
		return m, err
	}
	m.StructuredData = string(sd)
	switch {
	case len(rest) == 0:
	case rest[0] == ' ':
		m.Message = rest[1:]
	default:
		return m, fmt.Errorf("no space after STRUCTURED-DATA: %q", rest)
	}
	return m, nil
}

// field reads one header field of printable US-ASCII and the space after it.
func field(b []byte) (string, []byte, bool) {
	sp := bytes.IndexByte(b, ' ')
	if sp < 1 {
		return "", b, false
	}
	for _, c := range b[:sp] {
		if c < 33 || c > 126 {
			return "", b, false
		}
	}
	return string(b[:sp]), b[sp+1:], true
}

// structuredData reads NILVALUE or 1*SD-ELEMENT and returns it and what follows.
func structuredData(b []byte) ([]byte, []byte, error) {
	if len(b) > 0 && b[0] == '-' {
		return b[:1], b[1:], nil
	}
	i := 0
	for i < len(b) && b[i] == '[' {
		i++
		n, err := sdName(b[i:], "SD-ID")
		if err != nil {
			return nil, nil, err
		}
		i += n
		for i < len(b) && b[i] == ' ' {
			i++
			n, err := sdName(b[i:], "PARAM-NAME")
			if err != nil {
				return nil, nil, err
			}
			i += n
			if i+1 >= len(b) || b[i] != '=' || b[i+1] != '"' {
				return nil, nil, errors.New(`SD-PARAM: want ="value"`)
			}
			for i += 2; ; i++ {
				if i >= len(b) {
					return nil, nil, errors.New("PARAM-VALUE: no closing quote")
				}
				if b[i] == '\\' && i+1 < len(b) && (b[i+1] == '"' || b[i+1] == '\\' || b[i+1] == ']') {
					i++
					continue
				}
				if b[i] == '"' || b[i] == ']' {
					break
				}
			}
			if b[i] != '"' {
				return nil, nil, errors.New("PARAM-VALUE: unescaped ]")
			}
			i++
		}
		if i >= len(b) || b[i] != ']' {
			return nil, nil, errors.New("SD-ELEMENT: no closing ]")
		}
		i++
	}
	if i == 0 {
		return nil, nil, errors.New("STRUCTURED-DATA: want - or [")
	}
	return b[:i], b[i:], nil
}

// sdName reads an SD-NAME (1 to 32 printable characters but = ] " and space) and returns its length.
func sdName(b []byte, what string) (int, error) {
	n := 0
	for n < len(b) && b[n] > 32 && b[n] < 127 && b[n] != '=' && b[n] != ']' && b[n] != '"' {
		n++
	}
	if n < 1 || n > 32 {
		return 0, fmt.Errorf("%s: 1 to 32 characters, got %d", what, n)
	}
	return n, nil
}
