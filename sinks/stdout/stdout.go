// Package stdout is the stdout output: newline-delimited JSON events written to a stream (the process's standard
// output in production), one Write call per batch. Nothing is fsync'd: an event counts as delivered once the
// write call returned.
package stdout

import (
	"context"
	"fmt"
	"io"

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
}

// New returns a sink that writes to w (cmd passes os.Stdout). The sink never closes w.
func New(w io.Writer, log zerolog.Logger) *Sink {
	return &Sink{w: w, log: log.With().Str("component", "sink").Str("sink", "stdout").Logger()}
}

// Write encodes the batch, one event per line, and writes it with one call. On error every event is marked Retry
// and the error returned; lines written before the error will be duplicated.
func (s *Sink) Write(_ context.Context, b *engine.Batch) error {
	buf := s.buf[:0]
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
	n, err := s.w.Write(buf)
	if err != nil {
		if n > 0 {
			s.log.Warn().Err(err).Int("written", n).Int("size", len(buf)).
				Msg("partial batch written; its events are retried and some lines will be duplicated")
		}
		err = fmt.Errorf("write stdout: %w", err)
		for i := range b.Events {
			b.Retry(i, err)
		}
		return err
	}
	for i := range b.Events {
		b.Accept(i)
	}
	return nil
}

// InvalidUTF8 is the number of events written with invalid UTF-8 replaced.
func (s *Sink) InvalidUTF8() int64 { return s.enc.InvalidUTF8.Load() }

// Close does nothing: the writer belongs to the caller.
func (s *Sink) Close(context.Context) error { return nil }
