package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventjson"
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("file sink closed")

// maxKeptBuffer caps the encoding buffer kept between batches, so one huge batch does not pin its memory.
const maxKeptBuffer = 4 << 20

// Sink appends events to a file as newline-delimited JSON. Write puts a batch's bytes in the file and holds the
// batch; the syncer goroutine fsyncs once for every batch written since its previous fsync and then releases them
// in write order (group commit), so fsync latency is shared instead of paid per batch.
type Sink struct {
	cfg Config
	log zerolog.Logger
	enc eventjson.Encoder

	mode fs.FileMode // of the files it creates: cfg.Mode parsed

	// Used by Write only (the engine calls it one at a time).
	buf  []byte      // encoding buffer, reused across batches
	size int64       // bytes in the current file
	info os.FileInfo // identity of the current file, to notice it being removed or replaced

	mu       sync.Mutex
	cond     *sync.Cond // broadcast when pending grows, when an fsync ends and when closing starts
	f        *os.File   // the current file; nil while it could not be (re)opened. Set by Write, read by the syncer.
	pending  []held     // batches written since the syncer last took the list, in write order
	syncing  bool       // the syncer is fsyncing without holding mu: the file must not be closed meanwhile
	broken   bool       // a write or an fsync failed: reopen the file before writing again
	closing  bool
	closeErr error         // set by the syncer before done is closed
	done     chan struct{} // closed when the syncer has ended

	syncFile func(*os.File) error // the syncer's fsync; tests replace it to hold a round open
	syncs    atomic.Int64         // group commits done by the syncer
}

// held is a written batch waiting for an fsync.
type held struct {
	b       *engine.Batch
	release func()
	err     error // the fsync that covered this batch already failed
}

// New opens (creating it and its directories when missing) the file at cfg.Path for appending and starts the
// syncer. Close stops it. A new file gets cfg.Mode and new directories DirMode of it, both narrowed by the
// process umask as usual; a symbolic link at the path is refused (ErrSymlink).
func New(cfg Config, log zerolog.Logger) (*Sink, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	mode, _ := ParseMode(cfg.Mode) // checked by Validate
	if err := os.MkdirAll(filepath.Dir(cfg.Path), DirMode(mode)); err != nil {
		return nil, fmt.Errorf("create directory for %s: %w", cfg.Path, err)
	}
	s := &Sink{
		cfg:      cfg,
		log:      log.With().Str("component", "sink.file").Str("path", cfg.Path).Logger(),
		done:     make(chan struct{}),
		syncFile: (*os.File).Sync,
		mode:     mode,
	}
	s.cond = sync.NewCond(&s.mu)
	if err := s.open(); err != nil {
		return nil, err
	}
	go s.runSyncer()
	return s, nil
}

// Write appends the batch's events, one line each, and holds the batch until an fsync covers them; its events are
// then accepted, or marked Retry if the fsync failed. The release may run before Write returns. When writing
// fails, every event is marked Retry and the error returned; lines that reached the file before the error (when
// the batch spanned a rotation) will be written again: duplicates, never loss.
func (s *Sink) Write(_ context.Context, b *engine.Batch) error {
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		return ErrClosed
	}
	if b.Len() == 0 {
		return nil
	}
	if err := s.writeBatch(b); err != nil {
		for i := range b.Events {
			b.Retry(i, err)
		}
		return err
	}
	release := b.Hold()
	s.mu.Lock()
	s.pending = append(s.pending, held{b: b, release: release})
	s.cond.Broadcast()
	s.mu.Unlock()
	return nil
}

// writeBatch encodes the batch and writes it with one write call, or one per file when it crosses rotate_bytes:
// lines are never split between files.
func (s *Sink) writeBatch(b *engine.Batch) error {
	if err := s.ensureOpen(); err != nil {
		return err
	}
	buf := s.buf[:0]
	defer func() {
		if cap(buf) <= maxKeptBuffer {
			s.buf = buf[:0]
		}
	}()
	dead := b.DeadLetter()
	written := 0 // bytes of this batch in an earlier file
	for i := range b.Events {
		mark := len(buf)
		if dead {
			buf = s.enc.AppendDeadLetter(buf, &b.Events[i], b.Reason(i))
		} else {
			buf = s.enc.Append(buf, &b.Events[i])
		}
		buf = append(buf, '\n')
		if s.cfg.RotateBytes > 0 && s.size+int64(len(buf)) > s.cfg.RotateBytes && s.size+int64(mark) > 0 {
			// This line would take the file past the limit: finish the file without it, then rotate.
			if err := s.writeFile(buf[:mark]); err != nil {
				return s.failed(err, written)
			}
			written += mark
			buf = buf[:copy(buf, buf[mark:])]
			if err := s.rotate(); err != nil {
				return s.failed(err, written)
			}
		}
	}
	if err := s.writeFile(buf); err != nil {
		return s.failed(err, written)
	}
	return nil
}

// failed logs that part of a failed batch is already in a rotated file, where it stays.
func (s *Sink) failed(err error, written int) error {
	if written > 0 {
		s.log.Warn().Err(err).Int("bytes_written", written).
			Msg("batch partly written before an error; it is retried and the written lines will be duplicated")
	}
	return err
}

// writeFile writes p to the current file. A short write is truncated away so that no partial line stays; if that
// fails too, the file is reopened before the next write, which ends the partial line first.
func (s *Sink) writeFile(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	n, err := s.f.Write(p)
	if err == nil {
		s.size += int64(n)
		return nil
	}
	err = fmt.Errorf("write %s: %w", s.cfg.Path, err)
	if n > 0 {
		if terr := s.f.Truncate(s.size); terr != nil {
			s.log.Warn().Err(terr).Int("bytes_written", n).Msg("cannot remove a partly written batch; " +
				"its lines are retried and the partial one will be cut off by a newline")
		}
	}
	s.mu.Lock()
	s.broken = true
	s.mu.Unlock()
	return err
}

// Syncs is the number of group commits (fsyncs by the syncer) so far; with Write calls it tells how many batches
// share an fsync.
func (s *Sink) Syncs() int64 { return s.syncs.Load() }

// InvalidUTF8 is the number of events written with invalid UTF-8 replaced.
func (s *Sink) InvalidUTF8() int64 { return s.enc.InvalidUTF8.Load() }

// Close waits until every written batch is fsync'd and released, stops the syncer and closes the file. If ctx ends
// first, Close returns its error and the syncer finishes (and closes the file) on its own.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.cond.Broadcast()
	s.mu.Unlock()
	select {
	case <-s.done:
		return s.closeErr
	case <-ctx.Done():
		return fmt.Errorf("close %s: %w", s.cfg.Path, ctx.Err())
	}
}
