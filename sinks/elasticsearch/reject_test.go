package elasticsearch_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/rejectsplit"
	"github.com/flickerlog/flicker/sinks/elasticsearch"
	"github.com/flickerlog/flicker/sinks/elasticsearch/estest"
)

// These tests run against the strict _bulk emulator (estest) with RefuseField: a request holding a document with
// the field "bad" is refused whole with 400 before any action runs, without saying which document.

// markBad gives the events at idx the field the emulator refuses.
func markBad(evs []engine.Event, idx ...int) {
	for _, i := range idx {
		evs[i].Extra = []byte(`,"bad":true`)
	}
}

// storedMessages returns the messages of the documents stored, sorted.
func storedMessages(es *estest.Server) []string {
	var got []string
	for _, m := range es.Messages() {
		got = append(got, string(m))
	}
	slices.Sort(got)
	return got
}

func TestWholeRequestBadRequestIsolatesTheBadEvents(t *testing.T) {
	for name, maxBytes := range map[string]int64{"one request": 0, "several requests": 40_000} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			es := estest.Start(t, estest.Options{RefuseField: "bad"})
			s := newSink(t, elasticsearch.Config{Hosts: []string{es.URL()}, Index: "logs", BulkMaxBytes: maxBytes})
			const n = 1000
			bad := []int{0, 499, 500, n - 1}
			evs := events(testStream(), 0, n)
			markBad(evs, bad...)
			b := engine.NewBatch(evs)
			if err := s.Write(t.Context(), b); err != nil {
				t.Fatalf("write: %v, want nil (rejections are not retried)", err)
			}
			var want []string
			for i := range b.Len() {
				st, err := b.Status(i)
				if !slices.Contains(bad, i) {
					want = append(want, string(evs[i].Message))
					if st != engine.Accepted {
						t.Errorf("event %d: %v %v, want accepted", i, st, err)
					}
					continue
				}
				if st != engine.Rejected || !strings.Contains(err.Error(), "status 400: illegal_argument_exception") ||
					strings.Contains(err.Error(), "not split") {
					t.Errorf("bad event %d: %v %v, want rejected alone with elasticsearch's reason", i, st, err)
				}
			}
			if got := storedMessages(es); !slices.Equal(got, want) {
				t.Errorf("%d documents stored, want exactly the %d good events", len(got), len(want))
			}
			if r := es.Requests(); r > 1+rejectsplit.BatchRequests {
				t.Errorf("%d requests, want at most %d", r, 1+rejectsplit.BatchRequests)
			}
			t.Logf("%d requests to isolate %d bad events among %d", es.Requests(), len(bad), n)
		})
	}
}

// TestWholeRequestBadRequestEverythingRefused: a cluster that refuses every request whole costs a bounded number
// of requests for the first batch, then one request per batch, every event rejected; once a request succeeds, a
// 400 is split again.
func TestWholeRequestBadRequestEverythingRefused(t *testing.T) {
	es := estest.Start(t, estest.Options{RefuseField: "bad"})
	var logs logBuffer
	s := newLoggingSink(t, elasticsearch.Config{Hosts: []string{es.URL()}, Index: "logs"}, zerolog.New(&logs))
	const n = 512 // 2n-1 = 1023 requests if every range were split to single events
	sent := 0
	write := func(evs []engine.Event) (*engine.Batch, int) {
		t.Helper()
		b := engine.NewBatch(evs)
		if err := s.Write(t.Context(), b); err != nil {
			t.Fatalf("write: %v", err)
		}
		reqs := es.Requests() - sent
		sent += reqs
		return b, reqs
	}
	for batch := range 3 {
		evs := events(testStream(), batch*n, n)
		for i := range evs {
			markBad(evs, i)
		}
		b, reqs := write(evs)
		for i := range b.Len() {
			st, err := b.Status(i)
			if st != engine.Rejected || !strings.Contains(err.Error(), "refused field [bad]") {
				t.Fatalf("batch %d event %d: %v %v, want rejected with elasticsearch's reason", batch, i, st, err)
			}
			if batch > 0 && !strings.Contains(err.Error(), "not split: the server refused the last") {
				t.Fatalf("batch %d event %d: reason %q does not say why it was not split", batch, i, err)
			}
		}
		switch {
		case batch == 0 && reqs > 1+rejectsplit.BatchRequests:
			t.Errorf("first batch: %d requests, want at most %d", reqs, 1+rejectsplit.BatchRequests)
		case batch == 0 && reqs < 3:
			t.Errorf("first batch: %d requests: it was not split at all", reqs)
		case batch > 0 && reqs != 1:
			t.Errorf("batch %d: %d requests, want 1: the cluster refuses everything", batch, reqs)
		}
	}
	if es.DocCount() != 0 {
		t.Fatalf("%d documents stored", es.DocCount())
	}
	if w := logs.messages(t, "warn"); len(w) != 1 || !strings.Contains(w[0], "refused every request") {
		t.Errorf("warnings %q, want one saying the server refused every request", w)
	}

	if _, reqs := write(events(testStream(), 3*n, n)); reqs != 1 || es.DocCount() != n {
		t.Fatalf("a good batch: %d requests, %d documents", reqs, es.DocCount())
	}
	evs := events(testStream(), 4*n, n)
	markBad(evs, 100)
	b, reqs := write(evs)
	for i := range b.Len() {
		if st, _ := b.Status(i); (st == engine.Rejected) != (i == 100) {
			t.Fatalf("after a request succeeded, event %d: %v; want only event 100 rejected (%d requests)", i, st, reqs)
		}
	}
	if es.DocCount() != 2*n-1 {
		t.Errorf("%d documents, want %d", es.DocCount(), 2*n-1)
	}
}
