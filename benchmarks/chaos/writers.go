package chaos

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// allowedDeleted is why the lines of a part deleted while no pod was reading may be lost.
const allowedDeleted = "deleted while down"

// Rotation kinds.
const (
	rotateRename       = "rename"
	rotateCopytruncate = "copytruncate"
)

// part is one file's worth of a stream's lines: the live file from its creation (or truncation) to its
// rotation. The rotation log is the list of parts.
type part struct {
	ID       int32     `json:"id"`
	Stream   string    `json:"stream"`
	Path     string    `json:"path"` // where it is after its rotation
	Kind     string    `json:"kind,omitempty"`
	Opened   time.Time `json:"opened"`
	FirstSeq uint32    `json:"first_seq"`
	LastSeq  int64     `json:"last_seq"` // -1: none written
	Rotated  time.Time `json:"rotated,omitzero"`
	Deleted  time.Time `json:"deleted,omitzero"`
	// Allowed is why its lines may be lost, if they may (see doc.go); set by the check.
	Allowed string `json:"allowed_loss,omitempty"`
}

// rotationLog holds every part of every stream.
type rotationLog struct {
	mu    sync.Mutex
	parts []*part
}

func (r *rotationLog) open(stream string, firstSeq uint32) int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := int32(len(r.parts))
	r.parts = append(r.parts, &part{ID: id, Stream: stream, Opened: time.Now(), FirstSeq: firstSeq,
		LastSeq: int64(firstSeq) - 1})
	return id
}

func (r *rotationLog) rotated(id int32, kind, path string, lastSeq int64, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.parts[id]
	p.Kind, p.Path, p.LastSeq, p.Rotated = kind, path, lastSeq, at
}

func (r *rotationLog) deleted(id int32, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.parts[id].Deleted = at
}

// judge marks the parts whose unread lines may be lost, given the spans when no pod was reading: a part deleted
// then, and a part rotated then (to a name the globs do not match, where only its record in the registry lets
// flicker find it) whose lines the registry the next pod restored held none of: known(part, pod) tells.
func (r *rotationLog) judge(down []window, start time.Time, known func(part int32, pod int) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	in := func(t time.Time) int {
		s := t.Sub(start).Seconds()
		for i, w := range down {
			if s >= w.From && s <= w.To {
				return i
			}
		}
		return -1
	}
	for _, p := range r.parts {
		if !p.Deleted.IsZero() && in(p.Deleted) >= 0 {
			p.Allowed = allowedDeleted
		} else if w := in(p.Rotated); !p.Rotated.IsZero() && w >= 0 && !known(p.ID, down[w].Next) {
			p.Allowed = "rotated while down, unknown to the registry restored next"
		}
	}
}

// deletedWhileDown is how many bytes were written to the parts deleted while no pod was reading (after judge),
// given the bytes of each part.
func (r *rotationLog) deletedWhileDown(bytes map[int32]int64) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for _, p := range r.parts {
		if p.Allowed == allowedDeleted {
			n += bytes[p.ID]
		}
	}
	return n
}

// allowed reports whether part id's lines may be lost (after judge).
func (r *rotationLog) allowed(id int32) bool {
	if id < 0 {
		return false // a container's log: never rotated
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.parts[id].Allowed != ""
}

func (r *rotationLog) snapshot() []part {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]part, 0, len(r.parts))
	for _, p := range r.parts {
		if p.Kind != "" {
			out = append(out, *p)
		}
	}
	return out
}

// writerOptions are shared by the file writers.
type writerOptions struct {
	interval       time.Duration // between lines
	maxLine        int           // the input's max_line_bytes
	longEvery      int           // about one line in this many is long
	rotateMin      time.Duration // between rotations of one file
	rotateMax      time.Duration
	keepRotated    int // rotated parts kept per file; older ones are deleted
	lineBytes      int // length of a normal line's message
	longLinePieces int
}

// fileWriter appends numbered lines to one plain log file and rotates it.
type fileWriter struct {
	name   string
	id     uint16
	path   string
	opts   writerOptions
	ledger *ledger
	log    *rotationLog
	rng    *rand.Rand

	mu        sync.Mutex // held while writing or rotating
	f         *os.File
	seq       uint32
	part      int32
	rotations int
	kept      []int32 // rotated parts still on disk, oldest first
	longLines int
}

func newFileWriter(dir string, i int, seed uint64, opts writerOptions, l *ledger, log *rotationLog) (*fileWriter, error) {
	name := fmt.Sprintf("f%03d", i)
	w := &fileWriter{name: name, id: l.stream(name), path: filepath.Join(dir, name+".log"), opts: opts, ledger: l,
		log: log, rng: rand.New(rand.NewPCG(seed, uint64(i)))}
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("writer %s: %w", name, err)
	}
	w.f, w.part = f, log.open(name, 0)
	return w, nil
}

// run writes a line every interval and rotates now and then until ctx ends; it closes the file when it returns.
func (w *fileWriter) run(ctx context.Context) error {
	defer w.f.Close()
	tick := time.NewTicker(w.opts.interval)
	defer tick.Stop()
	nextRotation := time.Now().Add(w.rotateAfter())
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			if err := w.writeLine(now); err != nil {
				return err
			}
			if now.After(nextRotation) {
				kind := rotateRename
				if w.rng.IntN(2) == 0 {
					kind = rotateCopytruncate
				}
				if _, err := w.rotate(kind, false); err != nil {
					return err
				}
				nextRotation = now.Add(w.rotateAfter())
			}
		}
	}
}

func (w *fileWriter) rotateAfter() time.Duration {
	return w.opts.rotateMin + time.Duration(w.rng.Int64N(int64(w.opts.rotateMax-w.opts.rotateMin)+1))
}

func (w *fileWriter) writeLine(now time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	pieces, size := 1, w.opts.lineBytes
	if w.rng.IntN(w.opts.longEvery) == 0 {
		pieces, size = w.opts.longLinePieces, w.opts.maxLine
		w.longLines++
	}
	buf := make([]byte, 0, pieces*size+1)
	for p := range pieces {
		buf = append(buf, message(w.name, w.seq, p, pieces, size)...)
	}
	buf = append(buf, '\n')
	// In the ledger first: flicker may ship the line before Write returns.
	w.ledger.wrote(w.id, w.seq, pieces, w.part, false, now, size)
	if _, err := w.f.Write(buf); err != nil {
		return fmt.Errorf("writer %s: %w", w.name, err)
	}
	w.seq++
	return nil
}

// writeBurst writes n lines at once.
func (w *fileWriter) writeBurst(n int) error {
	for range n {
		if err := w.writeLine(time.Now()); err != nil {
			return err
		}
	}
	return nil
}

// rotate rotates the file by kind; with deleteNow the rotated part is deleted at once (a rotation whose old file
// is gone before a stopped flicker comes back). It returns the rotated part.
func (w *fileWriter) rotate(kind string, deleteNow bool) (int32, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rotations++
	rotatedPath := fmt.Sprintf("%s.%d", w.path, w.rotations)
	switch kind {
	case rotateRename:
		if err := os.Rename(w.path, rotatedPath); err != nil {
			return 0, fmt.Errorf("writer %s: rotate: %w", w.name, err)
		}
		f, err := os.OpenFile(w.path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return 0, fmt.Errorf("writer %s: rotate: %w", w.name, err)
		}
		w.f.Close()
		w.f = f
	case rotateCopytruncate:
		if err := copyFile(w.path, rotatedPath); err != nil {
			return 0, fmt.Errorf("writer %s: copytruncate: %w", w.name, err)
		}
		if err := w.f.Truncate(0); err != nil {
			return 0, fmt.Errorf("writer %s: copytruncate: %w", w.name, err)
		}
	}
	rotated := w.part
	w.log.rotated(rotated, kind, rotatedPath, int64(w.seq)-1, time.Now())
	w.part = w.log.open(w.name, w.seq)
	w.kept = append(w.kept, rotated)
	for len(w.kept) > w.opts.keepRotated || deleteNow && len(w.kept) > 0 {
		old := w.kept[0]
		w.kept = w.kept[1:]
		if err := w.deletePart(old); err != nil {
			return 0, err
		}
		if old == rotated {
			break
		}
	}
	return rotated, nil
}

func (w *fileWriter) deletePart(id int32) error {
	w.log.mu.Lock()
	path := w.log.parts[id].Path
	w.log.mu.Unlock()
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("writer %s: delete %s: %w", w.name, path, err)
	}
	w.log.deleted(id, time.Now())
	return nil
}

// copyFile copies the file at from to a new file at to.
func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}
