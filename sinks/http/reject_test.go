package httpout_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/rejectsplit"
	httpout "github.com/flickerlog/flicker/sinks/http"
)

// refuseMarked is a collector script for an ingest endpoint that validates each event: the collector (an
// httptest server on 127.0.0.1 that decodes every request body, NDJSON or JSON array, gzip or not) answers 400
// to a request holding an event with the marker field "bad":true, naming the first such event, like a server
// that refuses the whole request for one invalid event.
func refuseMarked(_ int, r *received) reply {
	if len(r.bad) > 0 {
		return reply{status: http.StatusBadRequest, body: fmt.Sprintf(`{"error":"invalid event %s"}`, r.bad[0])}
	}
	return reply{}
}

// markBad gives the events at idx the marker field.
func markBad(evs []engine.Event, idx ...int) {
	for _, i := range idx {
		evs[i].Extra = []byte(`,"bad":true`)
	}
}

func TestBadRequestIsolatesTheBadEvents(t *testing.T) {
	for name, cfg := range map[string]httpout.Config{
		"ndjson gzip":     {},
		"ndjson":          {Compression: httpout.CompressionNone},
		"json_array gzip": {Format: httpout.FormatJSONArray},
		"json_array":      {Format: httpout.FormatJSONArray, Compression: httpout.CompressionNone},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := newCollector(t, refuseMarked)
			s := newSink(t, c.url(), cfg, zerolog.Nop())
			const n = 2048
			bad := []int{0, 777, 778, n - 1}
			evs := events(testStream("/a"), 0, n)
			markBad(evs, bad...)
			b := engine.NewBatch(evs)
			if err := s.Write(t.Context(), b); err != nil {
				t.Fatalf("write: %v, want nil (rejections are not retried)", err)
			}
			var want []string
			for i := range b.Len() {
				st, reason := b.Status(i)
				if !slices.Contains(bad, i) {
					want = append(want, string(evs[i].Message))
					if st != engine.Accepted {
						t.Errorf("event %d: %v %v, want accepted", i, st, reason)
					}
					continue
				}
				// The reason is the server's answer to the event alone: it names this event.
				var se *httpout.StatusError
				if st != engine.Rejected || !errors.As(reason, &se) || se.Code != http.StatusBadRequest ||
					se.Body != fmt.Sprintf(`{"error":"invalid event %s"}`, evs[i].Message) {
					t.Errorf("bad event %d: %v %v, want rejected with the server's answer to it alone", i, st, reason)
				}
			}
			var got []string
			for _, m := range c.delivered() {
				got = append(got, string(m))
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("the server accepted %d events, want exactly the %d good ones once each", len(got), len(want))
			}
			reqs := len(c.requests())
			if reqs > 1+rejectsplit.BatchRequests {
				t.Errorf("%d requests, want at most %d", reqs, 1+rejectsplit.BatchRequests)
			}
			t.Logf("%d requests to isolate %d bad events among %d", reqs, len(bad), n)
		})
	}
}

// TestBadRequestEverythingRefused: an endpoint that refuses every request (a misconfiguration) costs a bounded
// number of requests for the first batch, then one request per batch, every event rejected; once it accepts a
// request again, a 400 is split again.
func TestBadRequestEverythingRefused(t *testing.T) {
	var fixed atomic.Bool
	c := newCollector(t, func(k int, r *received) reply {
		if fixed.Load() {
			return refuseMarked(k, r)
		}
		return reply{status: http.StatusBadRequest, body: "unknown index"}
	})
	var logs logBuffer
	s := newSink(t, c.url(), httpout.Config{}, zerolog.New(&logs))
	const n = 512 // 2n-1 = 1023 requests if every range were split to single events
	sent := 0
	write := func(evs []engine.Event) (*engine.Batch, int) {
		t.Helper()
		b := engine.NewBatch(evs)
		if err := s.Write(t.Context(), b); err != nil {
			t.Fatalf("write: %v", err)
		}
		reqs := len(c.requests()) - sent
		sent += reqs
		return b, reqs
	}
	for batch := range 3 {
		b, reqs := write(events(testStream("/a"), batch*n, n))
		for i := range b.Len() {
			st, reason := b.Status(i)
			if st != engine.Rejected || !strings.Contains(reason.Error(), "unknown index") {
				t.Fatalf("batch %d event %d: %v %v, want rejected with the server's reason", batch, i, st, reason)
			}
			if batch > 0 && !strings.Contains(reason.Error(), "not split: the server refused the last") {
				t.Fatalf("batch %d event %d: reason %q does not say why it was not split", batch, i, reason)
			}
		}
		switch {
		case batch == 0 && reqs > 1+rejectsplit.BatchRequests:
			t.Errorf("first batch: %d requests, want at most %d", reqs, 1+rejectsplit.BatchRequests)
		case batch == 0 && reqs < 3:
			t.Errorf("first batch: %d requests: it was not split at all", reqs)
		case batch > 0 && reqs != 1:
			t.Errorf("batch %d: %d requests, want 1: the endpoint refuses everything", batch, reqs)
		}
	}
	if w := logs.entries(t, "warn"); len(w) != 1 || !strings.Contains(w[0]["message"].(string), "refused every request") {
		t.Errorf("warnings %v, want one saying the server refused every request", w)
	}

	fixed.Store(true)
	if b, reqs := write(events(testStream("/a"), 3*n, n)); reqs != 1 {
		t.Fatalf("a good batch after the fix: %d requests, want 1", reqs)
	} else if st, err := b.Status(0); st != engine.Accepted {
		t.Fatalf("a good batch after the fix: %v %v", st, err)
	}
	evs := events(testStream("/a"), 4*n, n)
	markBad(evs, 100)
	b, reqs := write(evs)
	for i := range b.Len() {
		if st, _ := b.Status(i); (st == engine.Rejected) != (i == 100) {
			t.Fatalf("after an accepted request, event %d: %v; want only event 100 rejected (%d requests)", i, st, reqs)
		}
	}
}

// TestBadRequestBatchBudget: a batch with more bad events than its split budget isolates what it can within
// 1+BatchRequests requests; the ranges still refused then are rejected whole, saying so, and every event accepted
// reached the server.
func TestBadRequestBatchBudget(t *testing.T) {
	c := newCollector(t, refuseMarked)
	s := newSink(t, c.url(), httpout.Config{}, zerolog.Nop())
	const n = 2048
	evs := events(testStream("/a"), 0, n)
	for i := 0; i < n; i += 32 {
		markBad(evs, i)
	}
	b := engine.NewBatch(evs)
	if err := s.Write(t.Context(), b); err != nil {
		t.Fatalf("write: %v", err)
	}
	var accepted []string
	wholesale := 0
	for i := range b.Len() {
		st, reason := b.Status(i)
		switch {
		case st == engine.Accepted && i%32 != 0:
			accepted = append(accepted, string(evs[i].Message))
		case st != engine.Rejected:
			t.Fatalf("event %d: %v %v", i, st, reason)
		case strings.Contains(reason.Error(), "not split further: the batch spent its 128 requests on halves"):
			wholesale++
		}
	}
	var got []string
	for _, m := range c.delivered() {
		got = append(got, string(m))
	}
	slices.Sort(got)
	if !slices.Equal(got, accepted) {
		t.Errorf("the server took %d events, the sink reports %d accepted", len(got), len(accepted))
	}
	if reqs := len(c.requests()); reqs > 1+rejectsplit.BatchRequests {
		t.Errorf("%d requests, want at most %d", reqs, 1+rejectsplit.BatchRequests)
	}
	if wholesale == 0 || len(accepted) == 0 {
		t.Errorf("%d events rejected for the budget, %d accepted: the test does not exercise the budget", wholesale,
			len(accepted))
	}
	t.Logf("%d requests: %d accepted, %d rejected whole for the budget", len(c.requests()), len(accepted), wholesale)
}
