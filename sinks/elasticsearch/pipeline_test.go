package elasticsearch_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
	"github.com/flickerlog/flicker/sinks/elasticsearch"
	"github.com/flickerlog/flicker/sinks/elasticsearch/estest"
)

// fastRetry keeps the engine's backoffs short.
var fastRetry = engine.RetryPolicy{Initial: time.Millisecond, Max: 4 * time.Millisecond}

func newPipeline(t *testing.T, drain time.Duration, outs ...engine.Output) *engine.Pipeline {
	t.Helper()
	for i := range outs {
		outs[i].Retry = fastRetry
	}
	p, err := engine.New(engine.Options{
		Batch:        engine.BatchLimits{MaxEvents: 32, MaxWait: 2 * time.Millisecond},
		Outputs:      outs,
		DrainTimeout: drain,
		Logger:       zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func runToEnd(t *testing.T, p *engine.Pipeline, src engine.Source) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := p.Run(ctx, []engine.Source{src}); err != nil {
		t.Fatalf("run: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the pipeline did not drain within a minute")
	}
}

// pullSourceID is the id of event offset of stream name of an enginetest.PullSource of input in.
func pullSourceID(in *engine.Input, name string, offset int) string {
	st := engine.NewStream(in, nil)
	st.IDSeed = engine.SeedID([]byte(in.Name), []byte(name))
	ev := engine.Event{Stream: st, Offset: int64(offset)}
	return idOf(&ev)
}

// TestEveryEventIndexedOnceAfterRetriesAndReplay runs the engine end to end: item failures (429, 500, 503),
// whole-request failures (429, 503), and a run stopped while a request was indexed but never answered, then
// resumed from the acknowledged positions. Every event ends up as one document under its _id; only the failed
// items were sent again, and only the events not acknowledged were replayed (op_type index: overwritten, version 2;
// op_type create: 409, accepted).
func TestEveryEventIndexedOnceAfterRetriesAndReplay(t *testing.T) {
	for _, op := range []string{"index", "create"} {
		t.Run(op, func(t *testing.T) {
			const perStream = 300
			content := enginetest.SuiteContent(3, perStream)
			in := &engine.Input{Name: "app", Type: "file"}
			es := estest.Start(t, estest.Options{})
			faults := map[string]int{} // _id -> failed attempts
			for name := range content {
				for off := range perStream {
					id := pullSourceID(in, name, off)
					switch off % 50 {
					case 7:
						es.FailItem(id, 429)
						faults[id] = 1
					case 13:
						es.FailItem(id, 500, 503)
						faults[id] = 2
					}
				}
			}
			es.FailRequests(429, 503)
			es.HangAfter(450) // a lost response: indexed, never answered
			cfg := elasticsearch.Config{Hosts: []string{es.URL()}, Index: "logs-%{+yyyy.MM.dd}", OpType: op}

			// Run 1, stopped while the hung request waits.
			src := enginetest.NewPullSource(in, content)
			p1 := newPipeline(t, 50*time.Millisecond, engine.Output{Name: "es", Sink: newSink(t, cfg)})
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- p1.Run(ctx, []engine.Source{src}) }()
			enginetest.Eventually(t, time.Minute, func() bool { return es.Hung() > 0 }, "no request hung")
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("run 1: %v", err)
				}
			case <-time.After(time.Minute):
				t.Fatal("run 1 did not stop")
			}
			acked := map[string]int{}
			ackedTotal := 0
			for name := range content {
				acked[name] = int(src.Acked(name))
				ackedTotal += acked[name]
			}
			storedRun1 := map[string]bool{}
			for _, d := range es.Docs() {
				storedRun1[d.ID] = true
			}
			if len(storedRun1) <= ackedTotal {
				t.Fatalf("%d documents stored and %d events acknowledged: no replay to test", len(storedRun1),
					ackedTotal)
			}

			// Run 2 resumes from the acknowledged positions.
			es.HangAfter(0)
			src2 := src.Resume()
			dl := enginetest.NewMemorySink()
			p2 := newPipeline(t, time.Second, engine.Output{Name: "es", Sink: newSink(t, cfg), DeadLetter: dl})
			runToEnd(t, p2, src2)
			if errs := src2.AckErrors(); len(errs) > 0 {
				t.Fatalf("acknowledgements: %v", errs)
			}

			if n := es.DocCount(); n != 3*perStream {
				t.Fatalf("%d documents, want %d", n, 3*perStream)
			}
			if m := es.IDMismatches(); len(m) > 0 {
				t.Fatalf("_id differs from the document id: %v", m[0])
			}
			replayed := 0
			for name, msgs := range content {
				if src2.Acked(name) != perStream {
					t.Fatalf("stream %s acknowledged to %d", name, src2.Acked(name))
				}
				for off, msg := range msgs {
					id := pullSourceID(in, name, off)
					doc, ok := es.Doc("logs-2026.01.02", id) // PullSource's time: 2026-01-02T03:04:05Z
					if !ok {
						t.Fatalf("stream %s event %d: no document %s", name, off, id)
					}
					if m, _ := doc.Source["message"].(string); m != string(msg) {
						t.Fatalf("document %s: message %q, want %q", id, m, msg)
					}
					replay := 0
					if storedRun1[id] && off >= acked[name] {
						replay = 1 // indexed in run 1 without being acknowledged
					}
					replayed += replay
					if got, want := es.Attempts(id), 1+faults[id]+replay; got != want {
						t.Fatalf("stream %s event %d: %d actions received, want %d (faults %d, replayed %d)", name,
							off, got, want, faults[id], replay)
					}
					wantVersion := 1 + replay
					if op == "create" {
						wantVersion = 1
					}
					if doc.Version != wantVersion {
						t.Fatalf("stream %s event %d: version %d, want %d", name, off, doc.Version, wantVersion)
					}
				}
			}
			if replayed == 0 {
				t.Fatal("no event was replayed")
			}
			if op == "create" && es.Conflicts() != replayed {
				t.Fatalf("%d conflicts, want one per replayed event (%d)", es.Conflicts(), replayed)
			}
			if len(dl.Records()) != 0 {
				t.Fatalf("%d events in the dead letter", len(dl.Records()))
			}
		})
	}
}

// TestMappingErrorsLandInTheDeadLetter: events whose items answer 400 are rejected with the item's error and
// recorded in the dead letter; the others are indexed and everything is acknowledged.
func TestMappingErrorsLandInTheDeadLetter(t *testing.T) {
	content := enginetest.SuiteContent(2, 100)
	in := &engine.Input{Name: "app", Type: "file"}
	es := estest.Start(t, estest.Options{Flavor: estest.FlavorOpenSearch})
	for name := range content {
		for off := 3; off < 100; off += 10 {
			es.AlwaysFail(pullSourceID(in, name, off), 400)
		}
	}
	src := enginetest.NewPullSource(in, content)
	dl := enginetest.NewMemorySink()
	sink := newSink(t, elasticsearch.Config{Hosts: []string{es.URL()}, Index: "logs"})
	p := newPipeline(t, time.Second, engine.Output{Name: "es", Sink: sink, DeadLetter: dl})
	runToEnd(t, p, src)

	recs := dl.Records()
	if len(recs) != 20 {
		t.Fatalf("dead letter holds %d events, want 20", len(recs))
	}
	for _, r := range recs {
		if r.Offset%10 != 3 || !strings.HasPrefix(r.Reason, "output es: elasticsearch item status 400: "+
			"mapper_parsing_exception: failed to parse field [message]") {
			t.Fatalf("dead letter record offset %d reason %q", r.Offset, r.Reason)
		}
	}
	if es.DocCount() != 180 {
		t.Fatalf("%d documents, want 180", es.DocCount())
	}
	for name := range content {
		if src.Acked(name) != 100 {
			t.Fatalf("stream %s acknowledged to %d", name, src.Acked(name))
		}
	}
	if st, _ := p.Stats().Output("es"); st.Rejected != 20 || st.DeadLettered != 20 {
		t.Fatalf("stats %+v", st)
	}
}

// TestServesAsADeadLetter: as another output's dead letter, the sink indexes the rejected events with the reason.
func TestServesAsADeadLetter(t *testing.T) {
	content := enginetest.SuiteContent(1, 50)
	es := estest.Start(t, estest.Options{})
	main := enginetest.NewMemorySink()
	main.RejectWhen(func(ev *engine.Event) bool { return ev.Offset%10 == 4 })
	dl := newSink(t, elasticsearch.Config{Hosts: []string{es.URL()}, Index: "dead-letters"})
	p := newPipeline(t, time.Second, engine.Output{Name: "main", Sink: main, DeadLetter: dl})
	runToEnd(t, p, enginetest.NewPullSource(&engine.Input{Name: "app", Type: "file"}, content))
	docs := es.Docs()
	if len(docs) != 5 {
		t.Fatalf("%d dead letters indexed, want 5", len(docs))
	}
	for _, d := range docs {
		dead, _ := d.Source["dead_letter"].(map[string]any)
		if dead["reason"] != "output main: memory sink: rejected" || d.Index != "dead-letters" {
			t.Fatalf("dead letter document %v in %s", d.Source, d.Index)
		}
	}
}
