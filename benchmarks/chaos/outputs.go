package chaos

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// outputTail reads the NDJSON file a pod's file output writes, incrementally, following the output's own
// rotation (path -> path.1). It re-reads from the end of the last complete line each time, so that a partial line
// the output truncates away after a failed write (a full disk) is never mixed with what replaces it.
type outputTail struct {
	path   string
	pod    int
	out    uint8
	exited func() bool       // the pod's process has ended
	keep   string            // a directory finish copies the output's files to before removing them; "": none
	opened func(path string) // tests: called after each file is opened while following a rotation

	finished bool // read to the end after the pod ended, files removed
	// early is how many rotated files the first poll that found the output read: it rotated before.
	early int

	f       *os.File
	ino     uint64
	lineEnd int64 // offset after the last complete line consumed
	buf     []byte
	cut     int // lines that are the beginning of an event only (cut by a kill, ended by the next write)
}

// messageKey precedes the message in an event: the second member, after @timestamp.
var messageKey = []byte(`,"message":"`)

// event is the part of a delivered event the check reads.
type event struct {
	Message string `json:"message"`
}

// poll reads what was appended since the last poll and records every complete event as seen at now.
func (t *outputTail) poll(l *ledger, now time.Time) error {
	if t.f == nil {
		// The first poll that finds the output: a pod that starts with a backlog (an old snapshot restored, a
		// lease waited for) can fill rotate_bytes and rotate within a poll interval, so every file it has counts.
		return t.readFiles(l, now)
	}
	if err := t.readNew(l, now); err != nil {
		return err
	}
	st, err := os.Stat(t.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // between the rename and the create
	}
	if err != nil {
		return fmt.Errorf("output %s: %w", t.path, err)
	}
	if st.Sys().(*syscall.Stat_t).Ino == t.ino {
		return nil
	}
	// Rotated (path -> path.1 -> ... -> path.N, as many times as it did since the last poll): the rest of the
	// file being read (complete: the output rotates between writes), then every file newer than it.
	if err := t.readNew(l, now); err != nil {
		return err
	}
	return t.readFiles(l, now)
}

// readFiles reads every file of the output newer than the one being read (all of them on the first poll),
// oldest first, and goes on with the current one.
func (t *outputTail) readFiles(l *ledger, now time.Time) error {
	// Open newest first: a rotation in between moves every file towards older names, so one not opened yet is
	// still ahead (opening oldest first, a file could move from the path to a name already passed).
	var files []*os.File
	seen := map[uint64]bool{}
	for n := 0; n <= outputRotateFiles; n++ {
		path := t.path
		if n > 0 {
			path = fmt.Sprintf("%s.%d", t.path, n)
		}
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		if t.opened != nil {
			t.opened(path)
		}
		ino, err := inode(f)
		if err != nil || seen[ino] {
			f.Close()
			continue
		}
		seen[ino] = true
		files = append(files, f)
	}
	slices.Reverse(files)
	var errs []error
	mine := -1
	if t.f != nil {
		for i, f := range files {
			if ino, _ := inode(f); ino == t.ino {
				mine = i
			}
		}
		t.f.Close()
		t.f = nil
		if mine < 0 {
			errs = append(errs, fmt.Errorf("output %s rotated more than %d times between two polls: the reader missed files",
				t.path, outputRotateFiles))
		}
	} else if t.early = max(len(files)-1, 0); len(files) > outputRotateFiles {
		errs = append(errs, fmt.Errorf("output %s rotated %d times before the first poll: the reader may have missed files",
			t.path, outputRotateFiles))
	}
	for i, f := range files {
		if i <= mine {
			f.Close()
			continue
		}
		ino, _ := inode(f)
		t.f, t.ino, t.lineEnd = f, ino, 0
		if err := t.readNew(l, now); err != nil {
			errs = append(errs, err)
		}
		if i < len(files)-1 {
			f.Close()
			t.f = nil
		}
	}
	return errors.Join(errs...)
}

func (t *outputTail) readNew(l *ledger, now time.Time) error {
	t.buf = t.buf[:0]
	off := t.lineEnd
	chunk := make([]byte, 256<<10)
	for {
		n, err := t.f.ReadAt(chunk, off)
		t.buf = append(t.buf, chunk[:n]...)
		off += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("output %s: %w", t.path, err)
		}
	}
	b := t.buf
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return nil
		}
		if err := t.record(l, b[:i], now); err != nil {
			return err
		}
		t.lineEnd += int64(i + 1)
		b = b[i+1:]
	}
}

func (t *outputTail) record(l *ledger, line []byte, now time.Time) error {
	// The harness's messages need no escaping: read the message without decoding the whole event (the output of
	// a burst is large, and the short profile runs under -race), and decode only what looks otherwise.
	if i := bytes.Index(line, messageKey); i >= 0 && bytes.HasSuffix(line, []byte("}")) {
		rest := line[i+len(messageKey):]
		if j := bytes.IndexByte(rest, '"'); j >= 0 && bytes.IndexByte(rest[:j], '\\') < 0 {
			if !l.delivered(t.out, t.pod, string(rest[:j]), now) {
				l.phantomEvent(t.out, t.pod, line)
			}
			return nil
		}
	}
	var ev event
	err := json.Unmarshal(line, &ev)
	var syntax *json.SyntaxError
	switch {
	case err == nil:
		if !l.delivered(t.out, t.pod, ev.Message, now) {
			l.phantomEvent(t.out, t.pod, line)
		}
	case errors.As(err, &syntax) && syntax.Offset == int64(len(line)) && bytes.HasPrefix(line, []byte(`{"`)):
		t.cut++ // the beginning of an event, cut mid-write
	default:
		return fmt.Errorf("output %s: a line that is not an event (%v): %.200q", t.path, err, line)
	}
	return nil
}

// finish closes the tail and removes the output's files, copying them to keep first when it is set.
func (t *outputTail) finish() error {
	t.close()
	t.finished = true
	var errs []error
	for n := range outputRotateFiles + 1 {
		p := t.path
		if n > 0 {
			p = fmt.Sprintf("%s.%d", t.path, n)
		}
		if t.keep != "" {
			if err := copyFile(p, filepath.Join(t.keep, filepath.Base(p))); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("keep output %s: %w", p, err))
			}
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("output %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

func (t *outputTail) close() {
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
}

func inode(f *os.File) (uint64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("output %s: %w", f.Name(), err)
	}
	return st.Sys().(*syscall.Stat_t).Ino, nil
}
