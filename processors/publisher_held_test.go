package processors_test

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
	"github.com/flickerlog/flicker/processors"
)

// Behind an event a blocked output has not finished, dropped lines wait in the queue until the acknowledgement
// passes them, and the source keeps their bytes until then: the queue's byte count must cover them, so that
// queue.max_bytes stops the source instead of letting it pile up dropped lines up to queue.max_events.
func TestDroppedLinesCountAgainstTheQueueBytes(t *testing.T) {
	chain, err := processors.Build("web", []processors.Config{{ExcludeLines: []string{`^DEBUG`}}})
	if err != nil {
		t.Fatal(err)
	}
	web := &engine.Input{Name: "web", Type: "file"}
	sink := enginetest.NewMemorySink()
	sink.Block()
	const maxBytes = 1 << 20
	p, err := engine.New(engine.Options{Outputs: []engine.Output{{Name: "o", Sink: sink}},
		Queue: engine.QueueLimits{MaxBytes: maxBytes},
		Batch: engine.BatchLimits{MaxWait: time.Millisecond}, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	line := append([]byte("DEBUG "), bytes.Repeat([]byte("x"), 64<<10)...)
	var held atomic.Int64 // bytes of the published lines, which the source keeps until acknowledged
	done := make(chan struct{})
	src := sourceFunc(func(ctx context.Context, pub engine.Publisher) error {
		st := engine.NewStream(web, func(int64) {})
		st.Path = "f"
		if err := pub.Publish(ctx, []engine.Event{{Message: []byte("INFO kept"), Stream: st, Pos: 1}}); err != nil {
			return err
		}
		for i := range 100 {
			msg := bytes.Clone(line)
			if err := pub.Publish(ctx, []engine.Event{{Message: msg, Stream: st, Offset: int64(i + 1),
				Pos: int64(i + 2)}}); err != nil {
				return err
			}
			held.Add(int64(len(msg)))
		}
		close(done)
		<-ctx.Done()
		return nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		errc <- p.Run(ctx, processors.WrapSources([]engine.Source{src}, map[string]*processors.Chain{"web": chain}))
	}()
	defer func() {
		sink.Unblock()
		cancel()
		<-errc
	}()
	// Wait until the source published everything or the queue has no room for another line.
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-done:
		default:
			if p.Stats().QueueBytes+int64(len(line)) <= maxBytes {
				if time.Now().After(deadline) {
					t.Fatalf("the source neither finished nor filled the queue: %+v", p.Stats())
				}
				time.Sleep(time.Millisecond)
				continue
			}
		}
		break
	}
	st := p.Stats()
	if st.QueueBytes < held.Load() {
		t.Errorf("queue counts %d events, %d bytes; the source holds %d bytes of dropped lines it published",
			st.QueueEvents, st.QueueBytes, held.Load())
	}
	if held.Load() > maxBytes {
		t.Errorf("the source could publish %d bytes of dropped lines with queue.max_bytes %d", held.Load(), maxBytes)
	}
}

// recorder is the Publisher behind the processors' one: it keeps the events as handed on.
type recorder struct{ events []engine.Event }

func (r *recorder) Publish(_ context.Context, evs []engine.Event) error {
	r.events = append(r.events, evs...)
	return nil
}

// A kept event whose message the chain replaced (parse_json to the top level) still counts the line the
// source holds, on top of what the event now carries; an event the chain left alone counts nothing more.
func TestReplacedMessageCountsTheSourceBytes(t *testing.T) {
	chain, err := processors.Build("app", []processors.Config{{ParseJSON: &processors.ParseJSONConfig{}},
		{ExcludeLines: []string{`^DEBUG`}}})
	if err != nil {
		t.Fatal(err)
	}
	in := &engine.Input{Name: "app", Type: "file"}
	st := engine.NewStream(in, func(int64) {})
	line := []byte(`{"message":"hello","level":"info","user":{"id":7}}`)
	plain := []byte(`not json at all`)
	dropped := []byte(`DEBUG noise`)
	var next recorder
	pub := processors.NewPublisher(&next, map[string]*processors.Chain{"app": chain})
	evs := []engine.Event{{Message: line, Stream: st, Pos: 1}, {Message: dropped, Stream: st, Pos: 2},
		{Message: plain, Stream: st, Pos: 3}}
	if err := pub.Publish(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	if len(next.events) != 3 {
		t.Fatalf("handed on %d events, want 3", len(next.events))
	}
	parsed, filtered, failed := next.events[0], next.events[1], next.events[2]
	if string(parsed.Message) != "hello" || parsed.Held != int64(len(line)) {
		t.Errorf("parsed event: message %q, held %d, want \"hello\" and the line's %d bytes", parsed.Message,
			parsed.Held, len(line))
	}
	if !filtered.Filtered || filtered.Held != int64(len(dropped)) || filtered.Size() < int64(len(dropped)) {
		t.Errorf("dropped event: filtered %v, held %d, size %d, want it to count the line's %d bytes",
			filtered.Filtered, filtered.Held, filtered.Size(), len(dropped))
	}
	if !bytes.Equal(failed.Message, plain) || failed.Held != 0 {
		t.Errorf("unparsed event: message %q, held %d, want the line unchanged and nothing held besides it",
			failed.Message, failed.Held)
	}
}
