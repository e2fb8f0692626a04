package container

import (
	"bytes"
	"time"

	"github.com/flickerlog/flicker/internal/rfc3339"
	"github.com/flickerlog/flicker/sources/file"
)

// Formats returns the container log formats the file source decodes (log_files format, docker_containers), each
// for the use of one source.
func Formats() []file.Format {
	return []file.Format{&dockerFormat{}, &criFormat{}}
}

// dockerFormat is Docker for the file source.
type dockerFormat struct {
	d Docker
	r Record
}

func (f *dockerFormat) Name() string { return file.FormatDocker }

func (f *dockerFormat) Decode(line []byte, p *file.Piece) error {
	if err := f.d.Decode(line, &f.r); err != nil {
		return err
	}
	p.Time, p.Stream, p.Partial, p.Content = f.r.Time, streamNames[f.r.Stream], f.r.Partial, f.r.Content
	return nil
}

var streamNames = [...]string{StreamUnknown: "", StreamStdout: "stdout", StreamStderr: "stderr"}

// criFormat is the CRI format of containerd and CRI-O for the file source.
type criFormat struct {
	seconds secondCache
	r       Record
}

func (*criFormat) Name() string { return file.FormatCRI }

// Decode decodes one CRI line. The "\r" of a "\r\n" the container wrote is dropped from the end of a message
// (its F record), so that a message reads the same on a CRI-O node, whose conmon keeps it, as on a containerd
// node, which strips it; a "\r" that ends a P record is content (the message goes on), as is any other.
func (f *criFormat) Decode(line []byte, p *file.Piece) error {
	r := &f.r // not a local: one handed to parseCRI would be allocated per line
	if err := parseCRI(line, &f.seconds, r); err != nil {
		return err
	}
	if n := len(r.Content); !r.Partial && n > 0 && r.Content[n-1] == '\r' {
		r.Content = r.Content[:n-1]
	}
	p.Time, p.Stream, p.Partial, p.Content = r.Time, streamNames[r.Stream], r.Partial, r.Content
	return nil
}

// secondCache remembers the second of the last time it parsed: a log's consecutive records mostly share their
// second, and only the fraction of such a time needs reading. A time whose date, clock and zone are not those of
// the remembered one, byte for byte, is parsed whole by internal/rfc3339, which also says what is wrong with it.
type secondCache struct {
	prefix [len(secondLayout)]byte // the remembered time up to its fraction
	zone   []byte                  // and after it
	unix   int64                   // the remembered time's second, in Unix time
	ok     bool
}

const secondLayout = "2006-01-02T15:04:05"

// parse is rfc3339.ParseError.
func (c *secondCache) parse(b []byte) (time.Time, error) {
	const n = len(secondLayout)
	if c.ok && len(b) > n && b[n] == '.' && string(b[:n]) == string(c.prefix[:]) {
		i, nsec, digits := n+1, 0, 0
		for ; i < len(b) && digit(b[i]); i++ {
			if digits < 9 {
				nsec = nsec*10 + int(b[i]-'0')
			}
			digits++
		}
		if digits > 0 && bytes.Equal(b[i:], c.zone) {
			for ; digits < 9; digits++ {
				nsec *= 10
			}
			return time.Unix(c.unix, int64(nsec)).UTC(), nil // as internal/rfc3339 makes it
		}
	}
	t, err := rfc3339.ParseError(b)
	if err != nil {
		return t, err
	}
	// b is valid, so its first n bytes are the date and clock; its zone follows the fraction digits, if any.
	i := n
	if b[i] == '.' {
		for i++; i < len(b) && digit(b[i]); i++ {
		}
	}
	copy(c.prefix[:], b[:n])
	c.zone = append(c.zone[:0], b[i:]...)
	c.unix, c.ok = t.Unix(), true
	return t, nil
}
