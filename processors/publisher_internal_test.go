package processors

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
)

// upperDropX is a fake chain: it drops messages starting with "x" and replaces the others with an upper-cased
// copy (new bytes, as the real chain does).
type upperDropX struct{}

func (upperDropX) Process(ev *engine.Event) bool {
	if bytes.HasPrefix(ev.Message, []byte("x")) {
		return false
	}
	ev.Message = bytes.ToUpper(ev.Message)
	ev.Extra = []byte(`,"parsed":true`)
	return true
}

// recorder is the wrapped Publisher: it copies what it is handed.
type recorder struct {
	mu    sync.Mutex
	calls [][]engine.Event
	first []*engine.Event // the address of each call's first event
}

func (r *recorder) Publish(_ context.Context, evs []engine.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, append([]engine.Event(nil), evs...))
	if len(evs) > 0 {
		r.first = append(r.first, &evs[0])
	}
	return nil
}

type tryRecorder struct{ recorder }

func (r *tryRecorder) TryPublish(evs []engine.Event) (bool, error) {
	return true, r.Publish(context.Background(), evs)
}

func (r *tryRecorder) TryPublishWait(ctx context.Context, evs []engine.Event, _ time.Duration) (bool, error) {
	return true, r.Publish(ctx, evs)
}

func events(st *engine.Stream, msgs ...string) []engine.Event {
	evs := make([]engine.Event, len(msgs))
	for i, m := range msgs {
		evs[i] = engine.Event{Stream: st, Message: []byte(m), Pos: int64(i + 1), Extra: []byte(`,"stream":"stdout"`)}
	}
	return evs
}

func TestPublisherRunsTheChainOfEachInput(t *testing.T) {
	parsed := engine.NewStream(&engine.Input{Name: "parsed"}, nil)
	plain := engine.NewStream(&engine.Input{Name: "plain"}, nil)
	rec := &recorder{}
	pub := newPublisher(rec, map[string]processor{"parsed": upperDropX{}})
	evs := append(events(parsed, "a", "x1", "b"), events(plain, "x2", "c")...)
	evs = append(evs, events(parsed, "x3")...)
	if err := pub.Publish(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	got := rec.calls[0]
	want := []struct {
		msg      string
		filtered bool
	}{{"A", false}, {"", true}, {"B", false}, {"x2", false}, {"c", false}, {"", true}}
	if len(got) != len(want) {
		t.Fatalf("handed on %d events, want %d", len(got), len(want))
	}
	for i, w := range want {
		ev := got[i]
		if string(ev.Message) != w.msg || ev.Filtered != w.filtered || ev.Pos != evs[i].Pos || ev.Stream != evs[i].Stream {
			t.Errorf("event %d: %q filtered %v pos %d, want %q filtered %v pos %d", i, ev.Message, ev.Filtered, ev.Pos,
				w.msg, w.filtered, evs[i].Pos)
		}
		if w.filtered && (ev.Extra != nil || ev.Message != nil) {
			t.Errorf("event %d: filtered, but keeps message %q and extra %q", i, ev.Message, ev.Extra)
		}
	}
	if string(got[3].Extra) != `,"stream":"stdout"` {
		t.Errorf("an event of an input without processors was changed: extra %q", got[3].Extra)
	}
	// The caller's events are untouched: a refused publish is retried with them.
	for i, m := range []string{"a", "x1", "b", "x2", "c", "x3"} {
		if string(evs[i].Message) != m || evs[i].Filtered {
			t.Errorf("caller's event %d changed to %q (filtered %v)", i, evs[i].Message, evs[i].Filtered)
		}
	}
}

func TestPublisherHandsOnEventsWithoutAChainAsTheyAre(t *testing.T) {
	plain := engine.NewStream(&engine.Input{Name: "plain"}, nil)
	rec := &recorder{}
	pub := newPublisher(rec, map[string]processor{"parsed": upperDropX{}})
	evs := events(plain, "x1", "y")
	if err := pub.Publish(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	if rec.first[0] != &evs[0] {
		t.Error("a call without events under a chain was copied instead of handed on as it is")
	}
}

func TestPublisherKeepsTryPublisher(t *testing.T) {
	st := engine.NewStream(&engine.Input{Name: "parsed"}, nil)
	if _, ok := newPublisher(&recorder{}, nil).(engine.TryPublisher); ok {
		t.Error("the decorator of a plain Publisher claims to be a TryPublisher")
	}
	rec := &tryRecorder{}
	try, ok := newPublisher(rec, map[string]processor{"parsed": upperDropX{}}).(engine.TryPublisher)
	if !ok {
		t.Fatal("the decorator of a TryPublisher is not one")
	}
	if ok, err := try.TryPublish(events(st, "x", "a")); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, err := try.TryPublishWait(t.Context(), events(st, "b", "x"), time.Second); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if c := rec.calls; !c[0][0].Filtered || string(c[0][1].Message) != "A" || string(c[1][0].Message) != "B" ||
		!c[1][1].Filtered {
		t.Errorf("TryPublish and TryPublishWait did not run the chain: %+v", c)
	}
}

// Many sources publish at once, each reusing its slice between calls as the real ones do: every call is
// processed on a copy of its own (run with -race).
func TestPublisherConcurrentCalls(t *testing.T) {
	rec := &recorder{}
	pub := newPublisher(rec, map[string]processor{"parsed": upperDropX{}})
	in := &engine.Input{Name: "parsed"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			st := engine.NewStream(in, nil)
			evs := make([]engine.Event, 0, 4)
			for i := range 50 {
				evs = append(evs[:0], events(st, fmt.Sprintf("m%d-%d", g, i), "x", "n")...)
				if err := pub.Publish(t.Context(), evs); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if len(rec.calls) != 400 {
		t.Fatalf("%d calls handed on, want 400", len(rec.calls))
	}
	for _, c := range rec.calls {
		if !bytes.HasPrefix(c[0].Message, []byte("M")) || !c[1].Filtered || string(c[2].Message) != "N" {
			t.Fatalf("call handed on %q %v %q", c[0].Message, c[1].Filtered, c[2].Message)
		}
	}
}
