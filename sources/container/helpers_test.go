package container_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sources/file"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memRegistry keeps file states in memory, by inode (the tests use one filesystem).
type memRegistry struct {
	mu     sync.Mutex
	states map[uint64]file.State
}

func newRegistry() *memRegistry { return &memRegistry{states: make(map[uint64]file.State)} }

func (r *memRegistry) Load(string) ([]file.State, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []file.State
	for _, st := range r.states {
		out = append(out, st)
	}
	return out, nil
}

func (r *memRegistry) Save(_ string, st file.State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states[st.Inode] = st
}

func (r *memRegistry) Remove(_ string, _, inode uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.states, inode)
}

func (r *memRegistry) get(inode uint64) (file.State, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.states[inode]
	return st, ok
}

// got is an event a recSink accepted, its bytes copied.
type got struct {
	Message, Extra, Path string
	Time                 time.Time
	Offset, Pos          int64
}

// recSink accepts and records every event.
type recSink struct {
	mu     sync.Mutex
	events []got
}

func (s *recSink) Write(_ context.Context, b *engine.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range b.Events {
		s.events = append(s.events, got{Message: string(e.Message), Extra: string(e.Extra), Path: e.Stream.Path,
			Time: e.Time, Offset: e.Offset, Pos: e.Pos})
	}
	return nil
}

func (s *recSink) Close(context.Context) error { return nil }

func (s *recSink) all() []got {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]got(nil), s.events...)
}

// with returns the events whose Extra contains every one of parts.
func (s *recSink) with(parts ...string) []got {
	var out []got
	for _, e := range s.all() {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(e.Extra, p)
		}
		if ok {
			out = append(out, e)
		}
	}
	return out
}

// run runs src in a pipeline delivering to sink until the returned stop is called, which waits for the
// pipeline to drain.
func run(t *testing.T, src engine.Source, sink engine.Sink) (stop func()) {
	t.Helper()
	pipe, err := engine.New(engine.Options{Outputs: []engine.Output{{Name: "rec", Sink: sink}},
		Batch: engine.BatchLimits{MaxWait: 5 * time.Millisecond}, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pipe.Run(ctx, []engine.Source{src}) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("pipeline: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds or 10 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
