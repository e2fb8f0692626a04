package container

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/flickerlog/flicker/internal/rfc3339"
)

// CRI log lines, as containerd and CRI-O write them for the kubelet (one record per line):
//
//	2016-10-06T00:17:09.669794202Z stdout P log content 1
//	2024-01-02T03:04:05.123456789+01:00 stderr F log content 2
//
// containerd writes time.RFC3339Nano in the node's zone (fraction trimmed of trailing zeros, absent when zero;
// "Z" only on a UTC node); CRI-O always writes 9 fraction digits and a numeric offset. The tag is P (the message
// continues in the stream's next record) or F, possibly followed by further ':'-separated fields the CRI keeps
// for later use.

// CRIError is a line that is not in the CRI format.
type CRIError struct {
	Part   string // the part that is wrong: "line", "time", "stream", "tag" or "content"
	Offset int    // the byte of the line where the problem was found
	Reason string
}

func (e *CRIError) Error() string {
	return fmt.Sprintf("cri line: %s at byte %d: %s", e.Part, e.Offset, e.Reason)
}

func criError(part string, offset int, format string, args ...any) error {
	return &CRIError{Part: part, Offset: offset, Reason: fmt.Sprintf(format, args...)}
}

// ParseCRI decodes one line of a CRI log, given with or without its final "\n". Content aliases line (nothing is
// copied) and is everything after the single space that follows the tag. A "\r" before the newline is content:
// containerd already strips the "\r\n" a container writes, while CRI-O's conmon keeps it, and the kubelet's
// reader keeps it too; trimming it is the caller's choice, made on the joined message. Time is in UTC, the line's
// offset applied. A malformed line returns a *CRIError; that includes a tag whose first field is neither P nor
// F, which the kubelet would read as F: no runtime writes one, so the line is not what it seems.
func ParseCRI(line []byte) (Record, error) {
	var rec Record
	if err := parseCRI(line, nil, &rec); err != nil {
		return Record{}, err
	}
	return rec, nil
}

// parseCRI is ParseCRI decoding into rec (left in any state on an error), reading the time through seconds when
// it is not nil.
func parseCRI(line []byte, seconds *rfc3339.Cache, rec *Record) error {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if len(line) == 0 {
		return criError("line", 0, "empty line")
	}
	// The time is the line up to its first space, RFC 3339 as internal/rfc3339 reads it (which allocates
	// nothing, unlike time.Parse with a numeric offset).
	var t time.Time
	var sp int
	var err error
	if seconds != nil {
		t, sp, err = seconds.ParseField(line)
	} else {
		if sp = bytes.IndexByte(line, ' '); sp < 0 {
			sp = len(line)
		}
		t, err = rfc3339.ParseError(line[:sp])
	}
	field := line[:sp]
	if err != nil {
		var terr *rfc3339.Error
		errors.As(err, &terr)
		return criError("time", terr.Offset, "want an RFC 3339 time: %s in %q", terr.Reason, clip(field))
	}
	if sp == len(line) {
		return criError("time", len(line), "want a space after the time in %q", clip(field))
	}
	p := sp + 1
	rec.Time, rec.Partial = t, false
	const streamLen = len("stdout") // == len("stderr")
	// The stream and tag as runtimes write them, a one-letter tag with no further fields: one look at them.
	if rest := line[p:]; len(rest) >= len("stdout F ") && rest[streamLen] == ' ' && rest[streamLen+2] == ' ' &&
		(rest[streamLen+1] == 'F' || rest[streamLen+1] == 'P') {
		switch string(rest[:streamLen]) {
		case "stdout":
			rec.Stream = StreamStdout
		case "stderr":
			rec.Stream = StreamStderr
		default:
			return criError("stream", p, "want stdout or stderr, found %q", firstField(rest))
		}
		rec.Partial, rec.Content = rest[streamLen+1] == 'P', rest[len("stdout F "):]
		return nil
	}
	switch {
	case len(line)-p >= streamLen && string(line[p:p+streamLen]) == "stdout":
		rec.Stream = StreamStdout
	case len(line)-p >= streamLen && string(line[p:p+streamLen]) == "stderr":
		rec.Stream = StreamStderr
	default:
		return criError("stream", p, "want stdout or stderr, found %q", firstField(line[p:]))
	}
	p += streamLen
	if p == len(line) || line[p] != ' ' {
		return criError("stream", p, "want a space after the stream, found %q", firstField(line[p-streamLen:]))
	}
	p++
	tagEnd := bytes.IndexByte(line[p:], ' ')
	tag := line[p:]
	if tagEnd >= 0 {
		tag = line[p : p+tagEnd]
	}
	first := tag
	if i := bytes.IndexByte(tag, ':'); i >= 0 {
		first = tag[:i]
	}
	switch {
	case len(first) == 1 && first[0] == 'P':
		rec.Partial = true
	case len(first) == 1 && first[0] == 'F':
	case len(tag) == 0:
		return criError("tag", p, "empty tag, want P or F")
	default:
		return criError("tag", p, "want P or F, found %q", clip(tag))
	}
	if tagEnd < 0 {
		return criError("content", len(line), "want a space after the tag, found the end of the line")
	}
	rec.Content = line[p+tagEnd+1:]
	return nil
}

// firstField is b up to its first space, for error messages.
func firstField(b []byte) []byte {
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		b = b[:i]
	}
	return clip(b)
}

// clip keeps error messages short whatever the line.
func clip(b []byte) []byte {
	const most = 40
	if len(b) > most {
		return b[:most]
	}
	return b
}

func digit(c byte) bool { return c >= '0' && c <= '9' }
