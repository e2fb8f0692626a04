// Package stdout is the stdout output: newline-delimited JSON events written to a stream (the process's standard
// output in production), one Write call per batch. Nothing is fsync'd: an event counts as delivered once the
// write call returned.
package stdout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventjson"
)

// maxKeptBuffer caps the encoding buffer kept between batches, so one huge batch does not pin its memory.
const maxKeptBuffer = 4 << 20

// Sink writes events to an io.Writer.
type Sink struct {
	w   io.Writer
	log zerolog.Logger
	enc eventjson.Encoder
	buf []byte
	// pending is the last write handed to its goroutine; buf is its data until it is done.
	pending *pendingWrite
	// brokenPipe is set once the reader was found gone, which is logged once.
	brokenPipe bool
	midLine    bool // the last write that ended stopped inside a line
}

// pendingWrite is one call of the writer's Write, made in a goroutine of its own so that Write can return when
// ctx ends: a write to a pipe or terminal nobody reads blocks in the kernel, where no context reaches.
type pendingWrite struct {
	done chan struct{} // closed when the call returned; n and err are set then
	n    int
	err  error
	// midLine: the write stopped inside a line (a partial write that failed), so the next one starts a new line.
	midLine bool
}

// New returns a sink that writes to w (cmd passes os.Stdout). The sink never closes w.
func New(w io.Writer, log zerolog.Logger) *Sink {
	return &Sink{w: w, log: log.With().Str("component", "sink").Str("sink", "stdout").Logger()}
}

// Write encodes the batch, one event per line, and writes it with one call. On error every event is marked Retry
// and the error returned; lines written before the error will be duplicated. When ctx ends before the call
// returned (a reader that stopped reading), the events are marked Retry and the call is left to finish: the next
// Write and Close wait for it, and if it does finish, its lines appear again when they are retried. A broken pipe (the reader exited, EPIPE) is an error like any other: the events
// are retried, so they stay unacknowledged and are re-sent after a restart, and it is logged once.
func (s *Sink) Write(ctx context.Context, b *engine.Batch) error {
	if err := s.wait(ctx); err != nil {
		return retryAll(b, fmt.Errorf("write stdout: an earlier write is still blocked: %w", err))
	}
	buf := s.buf[:0]
	if s.midLine {
		buf = append(buf, '\n') // the last write stopped inside a line: end it, or the next event would join it
	}
	dead := b.DeadLetter()
	for i := range b.Events {
		if dead {
			buf = s.enc.AppendDeadLetter(buf, &b.Events[i], b.Reason(i))
		} else {
			buf = s.enc.Append(buf, &b.Events[i])
		}
		buf = append(buf, '\n')
	}
	if cap(buf) <= maxKeptBuffer {
		s.buf = buf
	} else {
		s.buf = nil
	}
	p := &pendingWrite{done: make(chan struct{})}
	s.pending = p
	go func() {
		defer close(p.done)
		p.n, p.err = s.w.Write(buf)
		p.midLine = p.n > 0 && buf[p.n-1] != '\n'
	}()
	if err := s.wait(ctx); err != nil {
		return retryAll(b, fmt.Errorf("write stdout: blocked (is its reader reading?): %w", err))
	}
	if err := p.err; err != nil {
		if p.n > 0 {
			s.log.Warn().Err(err).Int("written", p.n).Int("size", len(buf)).
				Msg("partial batch written; its events are retried and some lines will be duplicated")
		}
		if errors.Is(err, syscall.EPIPE) && !s.brokenPipe {
			s.brokenPipe = true
			s.log.Error().Err(err).Msg("stdout is a broken pipe: its reader exited, so nothing more can be " +
				"written; the events stay unacknowledged and are retried (restart flicker with a reader on its " +
				"stdout, or remove the stdout output)")
		}
		return retryAll(b, fmt.Errorf("write stdout: %w", err))
	}
	for i := range b.Events {
		b.Accept(i)
	}
	return nil
}

// wait waits until the pending write, if any, returned, or ctx ends.
func (s *Sink) wait(ctx context.Context) error {
	if s.pending == nil {
		return nil
	}
	select {
	case <-s.pending.done:
		s.midLine = s.pending.midLine
		s.pending = nil
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryAll marks every event of b Retry with err and returns err.
func retryAll(b *engine.Batch, err error) error {
	for i := range b.Events {
		b.Retry(i, err)
	}
	return err
}

// InvalidUTF8 is the number of events written with invalid UTF-8 replaced.
func (s *Sink) InvalidUTF8() int64 { return s.enc.InvalidUTF8.Load() }

// Close waits, until ctx ends, for a write still blocked; the writer belongs to the caller and stays open. A
// write blocked past ctx keeps its goroutine until it returns or the process exits.
func (s *Sink) Close(ctx context.Context) error {
	if err := s.wait(ctx); err != nil {
		return fmt.Errorf("close stdout: a write is still blocked: %w", err)
	}
	return nil
}
