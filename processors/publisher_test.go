package processors_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
	"github.com/flickerlog/flicker/processors"
)

// A real chain in front of a real pipeline: the lines a processor drops reach no output and are acknowledged
// in order with the others, so a stream of dropped lines only still reaches its end; an input without
// processors passes untouched. No goroutine is left once the pipeline stopped.
func TestPublisherThroughThePipeline(t *testing.T) {
	defer goleak.VerifyNone(t)
	chain, err := processors.Build("web", []processors.Config{
		{ExcludeLines: []string{`^DEBUG`}},
		{Dissect: &processors.DissectConfig{Pattern: "%{level} %{msg}"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	web := &engine.Input{Name: "web", Type: "file"}
	plain := &engine.Input{Name: "plain", Type: "file"}
	content := map[string][]string{
		"mixed":   {"INFO a", "DEBUG b", "WARN c", "DEBUG d"},
		"dropped": {"DEBUG e", "DEBUG f", "DEBUG g"},
	}
	sink := enginetest.NewMemorySink()
	p, err := engine.New(engine.Options{Outputs: []engine.Output{{Name: "o", Sink: sink}},
		Batch: engine.BatchLimits{MaxWait: time.Millisecond}, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[string]int64{}
	src := sourceFunc(func(ctx context.Context, pub engine.Publisher) error {
		for _, name := range []string{"mixed", "dropped", "plain"} {
			in, lines := web, content[name]
			if name == "plain" {
				in, lines = plain, []string{"DEBUG h"}
			}
			st := engine.NewStream(in, func(pos int64) {
				mu.Lock()
				acked[name] = pos
				mu.Unlock()
			})
			st.Path = name
			var evs []engine.Event
			for i, l := range lines {
				evs = append(evs, engine.Event{Time: time.Unix(1, 0), Message: []byte(l), Stream: st,
					Offset: int64(i), Pos: int64(i + 1)})
			}
			if err := pub.Publish(ctx, evs); err != nil {
				return err
			}
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	wrapped := processors.WrapSources([]engine.Source{src}, map[string]*processors.Chain{"web": chain})
	if err := p.Run(ctx, wrapped); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range sink.Records() {
		got = append(got, r.Path+":"+string(r.Message))
	}
	if want := "[mixed:INFO a mixed:WARN c plain:DEBUG h]"; fmt.Sprint(got) != want {
		t.Errorf("output got %v, want %s", got, want)
	}
	for name, want := range map[string]int64{"mixed": 4, "dropped": 3, "plain": 1} {
		if acked[name] != want {
			t.Errorf("stream %s acknowledged up to %d, want %d (its end)", name, acked[name], want)
		}
	}
	if st := p.Stats(); st.FilteredByInput["web"] != 5 || st.Filtered != 5 {
		t.Errorf("filtered %v, want 5 of input web", st.FilteredByInput)
	}
}

type sourceFunc func(ctx context.Context, pub engine.Publisher) error

func (f sourceFunc) Run(ctx context.Context, pub engine.Publisher) error { return f(ctx, pub) }
