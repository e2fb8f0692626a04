package enginetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/flickerlog/flicker/engine"
)

// Record is an event a MemorySink saw, with its bytes copied.
type Record struct {
	Stream  *engine.Stream
	Input   string
	Path    string
	Offset  int64
	Pos     int64
	Message []byte
	Reason  string // in a dead-letter batch: why the original output rejected the event
}

// MemorySink is a thread-safe recording engine.Sink for tests. By default it accepts everything. Knobs, all safe
// to change while a pipeline runs: RetryWhen and RejectWhen choose results per event, FailNext makes Writes fail,
// Block makes Writes wait, SetHold makes it acknowledge late (ReleaseHeld reports the results).
type MemorySink struct {
	mu       sync.Mutex
	accepted []Record
	rejected []Record
	attempts map[eventKey]int
	byMsg    map[string]int
	retryIf  func(ev *engine.Event, attempt int) bool
	rejectIf func(ev *engine.Event) bool
	failN    int
	failErr  error
	block    chan struct{} // non-nil: Writes wait until it is closed
	hold     bool
	held     []heldBatch
	closeErr error

	writes   atomic.Int64
	closes   atomic.Int64
	inWrite  atomic.Int32
	overlaps atomic.Int64
}

type eventKey struct {
	s   *engine.Stream
	pos int64
}

type heldBatch struct {
	accepted []Record
	release  func()
}

// Errors a MemorySink returns.
var (
	ErrRetry    = errors.New("memory sink: retry requested")
	ErrRejected = errors.New("memory sink: rejected")
	ErrFailed   = errors.New("memory sink: write failed")
)

// NewMemorySink returns a sink that accepts everything.
func NewMemorySink() *MemorySink {
	return &MemorySink{attempts: make(map[eventKey]int), byMsg: make(map[string]int)}
}

// RetryWhen makes the sink ask to retry each event for which pred is true; attempt counts the earlier writes of
// the same event (stream and position) to this sink, from 0. Nil clears it.
func (s *MemorySink) RetryWhen(pred func(ev *engine.Event, attempt int) bool) {
	s.mu.Lock()
	s.retryIf = pred
	s.mu.Unlock()
}

// RejectWhen makes the sink reject each event for which pred is true, with reason ErrRejected. Nil clears it.
func (s *MemorySink) RejectWhen(pred func(ev *engine.Event) bool) {
	s.mu.Lock()
	s.rejectIf = pred
	s.mu.Unlock()
}

// FailNext makes the next n Writes return err (ErrFailed when nil) without marking any event.
func (s *MemorySink) FailNext(n int, err error) {
	if err == nil {
		err = ErrFailed
	}
	s.mu.Lock()
	s.failN, s.failErr = n, err
	s.mu.Unlock()
}

// Block makes Writes wait, before looking at their batch, until Unblock is called or their ctx ends (then they
// return ctx.Err()).
func (s *MemorySink) Block() {
	s.mu.Lock()
	if s.block == nil {
		s.block = make(chan struct{})
	}
	s.mu.Unlock()
}

// Unblock releases the Writes waiting since Block.
func (s *MemorySink) Unblock() {
	s.mu.Lock()
	if s.block != nil {
		close(s.block)
		s.block = nil
	}
	s.mu.Unlock()
}

// SetHold makes later Writes mark their results, hold the batch and return; ReleaseHeld records and releases them.
func (s *MemorySink) SetHold(on bool) {
	s.mu.Lock()
	s.hold = on
	s.mu.Unlock()
}

// ReleaseHeld records the accepted events of every held batch and releases the batches, in the order written. It
// returns how many batches it released.
func (s *MemorySink) ReleaseHeld() int {
	s.mu.Lock()
	held := s.held
	s.held = nil
	for _, h := range held {
		s.accepted = append(s.accepted, h.accepted...)
	}
	s.mu.Unlock()
	for _, h := range held {
		h.release()
	}
	return len(held)
}

// SetCloseError makes Close return err.
func (s *MemorySink) SetCloseError(err error) {
	s.mu.Lock()
	s.closeErr = err
	s.mu.Unlock()
}

// Write implements engine.Sink.
func (s *MemorySink) Write(ctx context.Context, b *engine.Batch) error {
	s.writes.Add(1)
	if s.inWrite.Add(1) > 1 {
		s.overlaps.Add(1)
	}
	defer s.inWrite.Add(-1)

	s.mu.Lock()
	block := s.block
	s.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failN > 0 {
		s.failN--
		return s.failErr
	}
	var accepted []Record
	for i := range b.Events {
		ev := &b.Events[i]
		key := eventKey{ev.Stream, ev.Pos}
		attempt := s.attempts[key]
		s.attempts[key] = attempt + 1
		s.byMsg[string(ev.Message)]++
		rec := record(ev, b.Reason(i))
		switch {
		case s.rejectIf != nil && s.rejectIf(ev):
			b.Reject(i, ErrRejected)
			s.rejected = append(s.rejected, rec)
		case s.retryIf != nil && s.retryIf(ev, attempt):
			b.Retry(i, ErrRetry)
		default:
			b.Accept(i)
			accepted = append(accepted, rec)
		}
	}
	if s.hold {
		s.held = append(s.held, heldBatch{accepted: accepted, release: b.Hold()})
		return nil
	}
	s.accepted = append(s.accepted, accepted...)
	return nil
}

func record(ev *engine.Event, reason error) Record {
	r := Record{Stream: ev.Stream, Path: ev.Stream.Path, Offset: ev.Offset, Pos: ev.Pos,
		Message: append([]byte(nil), ev.Message...)}
	if ev.Stream.Input != nil {
		r.Input = ev.Stream.Input.Name
	}
	if reason != nil {
		r.Reason = reason.Error()
	}
	return r
}

// Close implements engine.Sink; it counts the calls.
func (s *MemorySink) Close(context.Context) error {
	s.closes.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeErr
}

// Records returns the accepted events in the order accepted.
func (s *MemorySink) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.accepted...)
}

// Messages returns the accepted messages in the order accepted.
func (s *MemorySink) Messages() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]byte, len(s.accepted))
	for i, r := range s.accepted {
		out[i] = r.Message
	}
	return out
}

// Len returns how many events were accepted.
func (s *MemorySink) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.accepted)
}

// Rejected returns the events the sink rejected, in order.
func (s *MemorySink) Rejected() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.rejected...)
}

// Attempts returns how many times the event at pos of stream st was in a batch written to this sink.
func (s *MemorySink) Attempts(st *engine.Stream, pos int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[eventKey{st, pos}]
}

// AttemptsOf returns how many times events with message msg were in a batch written to this sink.
func (s *MemorySink) AttemptsOf(msg []byte) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byMsg[string(msg)]
}

// Seen returns how many distinct events were in a batch written to this sink.
func (s *MemorySink) Seen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.attempts)
}

// Held returns how many batches are held.
func (s *MemorySink) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.held)
}

// Writes returns how many Writes started.
func (s *MemorySink) Writes() int { return int(s.writes.Load()) }

// Closes returns how many times Close was called.
func (s *MemorySink) Closes() int { return int(s.closes.Load()) }

// Overlaps returns how many Writes started while another was running: the engine promises none.
func (s *MemorySink) Overlaps() int { return int(s.overlaps.Load()) }
