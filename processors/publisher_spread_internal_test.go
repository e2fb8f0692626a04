package processors

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/engine"
)

// withHelpers returns the Publisher of newPublisher(next, chains) allowed n helpers, whatever the machine's cores.
func withHelpers(t *testing.T, next engine.Publisher, chains map[string]processor, n int) *Publisher {
	t.Helper()
	p, ok := newPublisher(next, chains).(*Publisher)
	if !ok {
		t.Fatal("newPublisher over a plain Publisher is not a *Publisher")
	}
	p.helpers = n
	return p
}

// rendezvous is a chain that reports whether two goroutines were ever inside Process at once: each call waits
// (up to a bound, once) for another one to come in.
type rendezvous struct {
	mu     sync.Mutex
	inside int
	met    chan struct{}
	gaveUp bool
}

func (r *rendezvous) Process(*engine.Event) bool {
	r.mu.Lock()
	r.inside++
	if r.inside == 2 && !r.metAlready() {
		close(r.met)
	}
	wait := !r.gaveUp
	r.mu.Unlock()
	if wait {
		select {
		case <-r.met:
		case <-time.After(5 * time.Second):
			r.mu.Lock()
			r.gaveUp = true
			r.mu.Unlock()
		}
	}
	r.mu.Lock()
	r.inside--
	r.mu.Unlock()
	return true
}

func (r *rendezvous) metAlready() bool {
	select {
	case <-r.met:
		return true
	default:
		return false
	}
}

// A large call is processed on more than one goroutine at once: a spare core takes part of it.
func TestPublisherSpreadsALargeCallOverHelpers(t *testing.T) {
	defer goleak.VerifyNone(t)
	st := engine.NewStream(&engine.Input{Name: "parsed"}, nil)
	r := &rendezvous{met: make(chan struct{})}
	rec := &recorder{}
	pub := withHelpers(t, rec, map[string]processor{"parsed": r}, 1)
	msgs := make([]string, 4*minChunk)
	for i := range msgs {
		msgs[i] = strconv.Itoa(i)
	}
	if err := pub.Publish(t.Context(), events(st, msgs...)); err != nil {
		t.Fatal(err)
	}
	if !r.metAlready() {
		t.Error("the chain never ran on two goroutines at once over a call of 256 events with a helper allowed")
	}
	if len(rec.calls) != 1 || len(rec.calls[0]) != len(msgs) {
		t.Fatalf("handed on %d calls, want 1 of %d events", len(rec.calls), len(msgs))
	}
}

// A call smaller than two chunks starts no helper: it is processed in the caller's goroutine.
func TestPublisherProcessesASmallCallInPlace(t *testing.T) {
	st := engine.NewStream(&engine.Input{Name: "parsed"}, nil)
	r := &rendezvous{met: make(chan struct{}), gaveUp: true} // never waits
	pub := withHelpers(t, &recorder{}, map[string]processor{"parsed": r}, 3)
	msgs := make([]string, 2*minChunk-1)
	if err := pub.Publish(t.Context(), events(st, msgs...)); err != nil {
		t.Fatal(err)
	}
	if r.metAlready() {
		t.Error("a call of fewer than two chunks' events was spread over helpers")
	}
}

// dropEvery7 is a chain that drops every event whose number (its message) is a multiple of 7 and replaces the
// others' message with new bytes.
type dropEvery7 struct{}

func (dropEvery7) Process(ev *engine.Event) bool {
	n, err := strconv.Atoi(string(ev.Message))
	if err != nil {
		panic(err)
	}
	if n%7 == 0 {
		return false
	}
	ev.Message = []byte("p" + string(ev.Message))
	return true
}

// Many sources publish calls of many chunks each, over streams of an input with a chain and of one without, all
// at once (run with -race), through Publish and through TryPublishWait (push sources): every stream's events
// are handed on complete and in order, each processed once, the dropped ones marked Filtered and emptied, and no
// goroutine is left.
func TestPublisherKeepsEachStreamsOrderAcrossChunks(t *testing.T) {
	for _, try := range []bool{false, true} {
		t.Run(fmt.Sprintf("try=%v", try), func(t *testing.T) { testKeepsOrderAcrossChunks(t, try) })
	}
}

func testKeepsOrderAcrossChunks(t *testing.T, try bool) {
	defer goleak.VerifyNone(t)
	rec := &tryRecorder{}
	chains := map[string]processor{"parsed": dropEvery7{}}
	publish := withHelpers(t, &rec.recorder, chains, 3).Publish
	if try {
		tp, ok := newPublisher(rec, chains).(tryPublisher)
		if !ok {
			t.Fatal("the decorator of a TryPublisher is not a tryPublisher")
		}
		tp.helpers = 3
		publish = func(ctx context.Context, evs []engine.Event) error {
			ok, err := tp.TryPublishWait(ctx, evs, time.Second)
			if err == nil && !ok {
				err = errors.New("refused")
			}
			return err
		}
	}
	parsed, plain := &engine.Input{Name: "parsed"}, &engine.Input{Name: "plain"}
	const sources, calls, perCall = 6, 15, 7*minChunk + 5 // uneven chunks
	var wg sync.WaitGroup
	for range sources {
		wg.Go(func() {
			streams := []*engine.Stream{engine.NewStream(parsed, nil), engine.NewStream(parsed, nil),
				engine.NewStream(plain, nil)}
			next := make([]int64, len(streams))
			var evs []engine.Event // reused between calls, as the sources do
			for c := range calls {
				evs = evs[:0]
				for i := range perCall {
					s := (i + c) % len(streams) // interleaved
					next[s]++
					evs = append(evs, engine.Event{Stream: streams[s], Pos: next[s],
						Message: []byte(strconv.FormatInt(next[s], 10))})
				}
				if err := publish(t.Context(), evs); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	seen := map[*engine.Stream]int64{}
	for _, call := range rec.calls {
		for _, ev := range call {
			want := seen[ev.Stream] + 1
			if ev.Pos != want {
				t.Fatalf("stream %p: event at position %d handed on where %d was due", ev.Stream, ev.Pos, want)
			}
			seen[ev.Stream] = ev.Pos
			num := strconv.FormatInt(ev.Pos, 10)
			switch {
			case ev.Stream.Input == plain:
				if string(ev.Message) != num || ev.Filtered {
					t.Fatalf("plain event %d changed: %q filtered %v", ev.Pos, ev.Message, ev.Filtered)
				}
			case ev.Pos%7 == 0:
				if !ev.Filtered || ev.Message != nil {
					t.Fatalf("dropped event %d: filtered %v message %q", ev.Pos, ev.Filtered, ev.Message)
				}
			default:
				if string(ev.Message) != "p"+num || ev.Filtered {
					t.Fatalf("event %d: %q filtered %v, want %q", ev.Pos, ev.Message, ev.Filtered, "p"+num)
				}
			}
		}
	}
	if len(seen) != 3*sources {
		t.Fatalf("%d streams handed on, want %d", len(seen), 3*sources)
	}
	total := int64(0)
	for _, n := range seen {
		total += n
	}
	if total != sources*calls*perCall {
		t.Errorf("%d events handed on, want %d", total, sources*calls*perCall)
	}
}

// blocked is the wrapped Publisher of a full queue: it queues nothing and returns when ctx ends.
type blocked struct{ entered chan struct{} }

func (b blocked) Publish(ctx context.Context, _ []engine.Event) error {
	close(b.entered)
	<-ctx.Done()
	return ctx.Err()
}

// A call cancelled while the wrapped Publisher waits for room returns the context's error, and leaves no
// goroutine behind.
func TestPublisherCancelledWhileHandingOn(t *testing.T) {
	defer goleak.VerifyNone(t)
	st := engine.NewStream(&engine.Input{Name: "parsed"}, nil)
	next := blocked{entered: make(chan struct{})}
	pub := withHelpers(t, next, map[string]processor{"parsed": dropEvery7{}}, 3)
	msgs := make([]string, 10*minChunk)
	for i := range msgs {
		msgs[i] = fmt.Sprint(i + 1)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- pub.Publish(ctx, events(st, msgs...)) }()
	select {
	case <-next.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the events were never handed on")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Publish returned %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Publish did not return after its context ended")
	}
}
