package elasticsearch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sinks/elasticsearch"
	"github.com/flickerlog/flicker/sinks/elasticsearch/estest"
)

// TestItemStatuses: each event's result follows its item's status, for every response flavor, with and without
// filter_path.
func TestItemStatuses(t *testing.T) {
	for _, flavor := range []string{estest.FlavorES7, estest.FlavorES8, estest.FlavorOpenSearch} {
		for _, full := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/ignore_filter_path=%t", flavor, full), func(t *testing.T) {
				es := estest.Start(t, estest.Options{Flavor: flavor, IgnoreFilterPath: full})
				s := newSink(t, elasticsearch.Config{Hosts: []string{es.URL()}, Index: "logs", OpType: "create"})
				evs := events(testStream(), 0, 9)
				// Event 5 exists already: create answers 409.
				if err := s.Write(t.Context(), engine.NewBatch(evs[5:6])); err != nil {
					t.Fatal(err)
				}
				faults := map[int]int{1: 429, 2: 500, 3: 400, 4: 503, 6: 404, 7: 403, 8: 413}
				for i, st := range faults {
					es.FailItem(idOf(&evs[i]), st)
				}
				b := engine.NewBatch(evs[:9])
				if err := s.Write(t.Context(), b); err != nil {
					t.Fatalf("write: %v", err)
				}
				want := []engine.Status{engine.Accepted, engine.Retry, engine.Retry, engine.Rejected, engine.Retry,
					engine.Accepted, engine.Retry, engine.Retry, engine.Rejected}
				for i, w := range want {
					st, err := b.Status(i)
					if st != w {
						t.Errorf("event %d (item status %d): status %v (%v), want %v", i, faults[i], st, err, w)
					}
					if code, ok := faults[i]; ok {
						var ie *elasticsearch.ItemError
						if !errors.As(err, &ie) || ie.Status != code || ie.Type == "" || ie.Reason == "" {
							t.Errorf("event %d: error %#v, want an ItemError with status %d, type and reason", i, err,
								code)
						}
					}
				}
				_, err := b.Status(3)
				if msg := err.Error(); !strings.Contains(msg, "mapper_parsing_exception: failed to parse field [message]") ||
					!strings.Contains(msg, "caused by illegal_argument_exception") {
					t.Errorf("rejection reason %q lacks the type, reason and cause", msg)
				}
				if es.Conflicts() != 1 {
					t.Errorf("%d conflicts, want 1", es.Conflicts())
				}
				if got := es.DocCount(); got != 2 {
					t.Errorf("%d documents stored, want 2 (events 0 and 5)", got)
				}
			})
		}
	}
}

// TestWholeRequestFailures: how a request that fails as a whole marks its events. Only a 400 rejects (an event
// refused alone: reject_test.go): every other 4xx is something an operator fixes (credentials, hosts, a proxy),
// so the events are kept and the status logged at error level.
func TestWholeRequestFailures(t *testing.T) {
	tests := []struct {
		name    string
		fault   func(es *estest.Server)
		want    engine.Status
		wantErr bool // Write returns an error
		loud    bool // logged at error level
		reason  string
	}{
		{"429 retries", func(es *estest.Server) { es.FailRequests(429) }, engine.Retry, true, false, "es_rejected_execution_exception"},
		{"503 retries", func(es *estest.Server) { es.FailRequests(503) }, engine.Retry, true, false, "unavailable_shards_exception"},
		{"500 retries", func(es *estest.Server) { es.FailRequests(500) }, engine.Retry, true, false, "status 500"},
		{"401 retries", func(es *estest.Server) { es.FailRequests(401) }, engine.Retry, true, true, "status 401"},
		{"403 retries", func(es *estest.Server) { es.FailRequests(403) }, engine.Retry, true, true, "security_exception"},
		{"404 retries", func(es *estest.Server) { es.AnswerNext(404, "<html>no route</html>") }, engine.Retry, true, true, "no route"},
		{"405 retries", func(es *estest.Server) { es.FailRequests(405) }, engine.Retry, true, true, "status 405"},
		{"408 retries", func(es *estest.Server) { es.FailRequests(408) }, engine.Retry, true, true, "status 408"},
		{"409 retries", func(es *estest.Server) { es.FailRequests(409) }, engine.Retry, true, true, "status 409"},
		{"415 retries", func(es *estest.Server) { es.FailRequests(415) }, engine.Retry, true, true, "status 415"},
		{"422 retries", func(es *estest.Server) { es.FailRequests(422) }, engine.Retry, true, true, "status 422"},
		// Every range of the split answered 400 too (2n-1 requests for 4 events): each event is refused alone.
		{"400 rejects", func(es *estest.Server) { es.FailRequests(400, 400, 400, 400, 400, 400, 400) }, engine.Rejected, false, false, "status 400: mapper_parsing_exception"},
		{"302 retries", func(es *estest.Server) { es.AnswerNext(302, "") }, engine.Retry, true, true, "status 302"},
		{"truncated response retries", func(es *estest.Server) { es.AnswerNext(200, `{"errors":true,"items":[{"index":{"sta`) },
			engine.Retry, true, false, "malformed _bulk response"},
		{"missing items retry", func(es *estest.Server) { es.AnswerNext(200, `{"errors":true,"items":[{"index":{"status":201}}]}`) },
			engine.Retry, true, false, "has 1 items for 4 actions"},
		{"not JSON retries", func(es *estest.Server) { es.AnswerNext(200, `<html>`) }, engine.Retry, true, false, "malformed"},
		// encoding/json would read the last flag; the sink cannot know which one the server meant.
		{"repeated errors flag retries", func(es *estest.Server) {
			es.AnswerNext(200, `{"errors":false,"errors":true,"items":[{"index":{"status":400}}]}`)
		}, engine.Retry, true, false, "errors member repeated"},
		{"errors false, truncated items retry", func(es *estest.Server) { es.AnswerNext(200, `{"errors":false,"items":[{"ind`) },
			engine.Retry, true, false, "malformed _bulk response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := estest.Start(t, estest.Options{})
			var logs logBuffer
			s := newLoggingSink(t, elasticsearch.Config{Hosts: []string{es.URL()}, Index: "logs"}, zerolog.New(&logs))
			tt.fault(es)
			b := engine.NewBatch(events(testStream(), 0, 4))
			err := s.Write(t.Context(), b)
			if (err != nil) != tt.wantErr {
				t.Fatalf("write error %v, want error: %t", err, tt.wantErr)
			}
			for i := range b.Len() {
				st, err := b.Status(i)
				if st != tt.want || err == nil || !strings.Contains(err.Error(), tt.reason) {
					t.Fatalf("event %d: %v %v, want %v with %q", i, st, err, tt.want, tt.reason)
				}
			}
			if got := len(logs.messages(t, "error")); (got == 1) != tt.loud || got > 1 {
				t.Errorf("%d error logs, want loud %t: %s", got, tt.loud, logs.String())
			}
			if es.DocCount() != 0 {
				t.Fatalf("%d documents stored", es.DocCount())
			}
			// The next write goes through: nothing stuck.
			b = engine.NewBatch(events(testStream(), 0, 4))
			if err := s.Write(t.Context(), b); err != nil || es.DocCount() != 4 {
				t.Fatalf("write after the failure: %v, %d documents", err, es.DocCount())
			}
		})
	}
}

// TestTooLargeSplitsInHalves: a 413 halves the request until the halves fit; an event too large alone is rejected.
func TestTooLargeSplitsInHalves(t *testing.T) {
	es := estest.Start(t, estest.Options{MaxBody: 2000})
	s := newSink(t, elasticsearch.Config{Hosts: []string{es.URL()}, Index: "logs"})
	evs := events(testStream(), 0, 12)
	evs[9].Message = bytes.Repeat([]byte("x"), 3000)
	b := engine.NewBatch(evs)
	if err := s.Write(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	for i := range b.Len() {
		st, err := b.Status(i)
		switch {
		case i == 9 && (st != engine.Rejected || !strings.Contains(err.Error(), "status 413")):
			t.Errorf("the oversized event: %v %v, want rejected with the 413", st, err)
		case i != 9 && st != engine.Accepted:
			t.Errorf("event %d: %v %v", i, st, err)
		}
	}
	if es.DocCount() != 11 {
		t.Errorf("%d documents, want 11", es.DocCount())
	}
	for _, n := range es.BodySizes() {
		if n > 2000 {
			t.Errorf("a body of %d bytes was parsed although over the limit", n)
		}
	}
}

// TestBulkMaxBytesSplits: a batch larger than bulk_max_bytes goes as several requests, each within the limit.
func TestBulkMaxBytesSplits(t *testing.T) {
	es := estest.Start(t, estest.Options{})
	const limit = 4096
	s := newSink(t, elasticsearch.Config{Hosts: []string{es.URL()}, Index: "logs", BulkMaxBytes: limit})
	evs := events(testStream(), 0, 100)
	for i := range evs {
		evs[i].Message = fmt.Appendf(nil, "%06d %s", i, bytes.Repeat([]byte("m"), 150+i%50))
	}
	b := engine.NewBatch(evs)
	if err := s.Write(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	sizes := es.BodySizes()
	total := 0
	for _, n := range sizes {
		if n > limit {
			t.Errorf("a request of %d bytes, over bulk_max_bytes %d", n, limit)
		}
		total += n
	}
	if min := (total + limit - 1) / limit; len(sizes) < min || len(sizes) > 2*min {
		t.Errorf("%d requests for %d bytes, want between %d and %d", len(sizes), total, min, 2*min)
	}
	if es.DocCount() != 100 {
		t.Errorf("%d documents, want 100", es.DocCount())
	}
	for i := range b.Len() {
		if st, err := b.Status(i); st != engine.Accepted {
			t.Fatalf("event %d: %v %v", i, st, err)
		}
	}
}

// TestLaterRequestsRetryAfterAWholeFailure: once a request of a batch fails as a whole, the rest of the batch is
// not sent and is marked Retry; the requests before it stay accepted.
func TestLaterRequestsRetryAfterAWholeFailure(t *testing.T) {
	es := estest.Start(t, estest.Options{})
	s := newSink(t, elasticsearch.Config{Hosts: []string{es.URL()}, Index: "logs", BulkMaxBytes: 1000})
	es.AnswerNext(200, `{"errors":false}`) // the first request: accepted without items
	es.FailRequests(429)
	b := engine.NewBatch(events(testStream(), 0, 20))
	err := s.Write(t.Context(), b)
	var serr *elasticsearch.StatusError
	if !errors.As(err, &serr) || serr.Status != 429 {
		t.Fatalf("write error %v, want the 429", err)
	}
	if es.Requests() != 2 {
		t.Fatalf("%d requests, want 2", es.Requests())
	}
	got := statuses(b)
	first := 0
	for first < len(got) && got[first] == engine.Accepted {
		first++
	}
	if first == 0 || first == len(got) {
		t.Fatalf("statuses %v: want the first request accepted and the rest retried", got)
	}
	for i := first; i < len(got); i++ {
		if got[i] != engine.Retry {
			t.Fatalf("statuses %v: want the first request accepted and the rest retried", got)
		}
	}
}

// TestDateIndexFromTimestampInUTC: a date pattern takes the index from each event's @timestamp in UTC.
func TestDateIndexFromTimestampInUTC(t *testing.T) {
	east, west := time.FixedZone("UTC+2", 2*3600), time.FixedZone("UTC-2", -2*3600)
	tests := []struct {
		pattern string
		times   []time.Time
		want    []string
	}{
		{"logs-%{+yyyy.MM.dd}", []time.Time{
			time.Date(2026, 1, 1, 23, 30, 0, 0, west), // 2026-01-02T01:30Z
			time.Date(2026, 1, 2, 0, 30, 0, 0, east),  // 2026-01-01T22:30Z
			time.Date(2026, 1, 1, 23, 31, 0, 0, west), // back to the first index
			time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.UTC),
			time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		}, []string{"logs-2026.01.02", "logs-2026.01.01", "logs-2026.01.02", "logs-2026.12.31", "logs-2027.01.01"}},
		{"app-%{+yyyy.MM.dd.HH}-x", []time.Time{
			time.Date(2026, 3, 5, 9, 59, 59, 0, east),
			time.Date(2026, 3, 5, 10, 0, 0, 0, east),
		}, []string{"app-2026.03.05.07-x", "app-2026.03.05.08-x"}},
		{"fixed", []time.Time{time.Date(2026, 3, 5, 9, 0, 0, 0, east)}, []string{"fixed"}},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			es := estest.Start(t, estest.Options{})
			s := newSink(t, elasticsearch.Config{Hosts: []string{es.URL()}, Index: tt.pattern})
			evs := events(testStream(), 0, len(tt.times))
			for i := range evs {
				evs[i].Time = tt.times[i]
			}
			if err := s.Write(t.Context(), engine.NewBatch(evs)); err != nil {
				t.Fatal(err)
			}
			for i := range evs {
				doc, ok := es.Doc(tt.want[i], idOf(&evs[i]))
				if !ok {
					t.Errorf("event %d (%s) not in index %s", i, tt.times[i], tt.want[i])
					continue
				}
				ts, _ := doc.Source["@timestamp"].(string)
				if want := tt.times[i].UTC().Format("2006-01-02T15"); !strings.HasPrefix(ts, want) {
					t.Errorf("event %d: @timestamp %s, want it to start with %s", i, ts, want)
				}
			}
		})
	}
}

// TestRoundRobinOverTwoHosts: requests alternate between the hosts; every event lands once.
func TestRoundRobinOverTwoHosts(t *testing.T) {
	a, b := estest.Start(t, estest.Options{}), estest.Start(t, estest.Options{})
	s := newSink(t, elasticsearch.Config{Hosts: []string{a.URL(), b.URL()}, Index: "logs"})
	st := testStream()
	for k := range 10 {
		if err := s.Write(t.Context(), engine.NewBatch(events(st, k*5, 5))); err != nil {
			t.Fatal(err)
		}
	}
	if a.Requests() != 5 || b.Requests() != 5 {
		t.Fatalf("requests %d and %d, want 5 and 5", a.Requests(), b.Requests())
	}
	checkDisjoint(t, 50, a, b)
}

// TestFailover: a host that is down or answers 5xx passes its requests to the next; with every host down the
// events are retried.
func TestFailover(t *testing.T) {
	t.Run("host down", func(t *testing.T) {
		live := estest.Start(t, estest.Options{})
		s := newSink(t, elasticsearch.Config{Hosts: []string{deadURL(t), live.URL()}, Index: "logs"})
		writeAllAccepted(t, s, 10)
		checkDisjoint(t, 50, live)
	})
	t.Run("host answers 503", func(t *testing.T) {
		failing, live := estest.Start(t, estest.Options{}), estest.Start(t, estest.Options{})
		failing.FailRequests(503, 503, 503, 503, 503, 503, 503, 503, 503, 503)
		s := newSink(t, elasticsearch.Config{Hosts: []string{failing.URL(), live.URL()}, Index: "logs"})
		writeAllAccepted(t, s, 10)
		checkDisjoint(t, 50, failing, live)
		if failing.Requests() == 0 || failing.Requests() >= 10 {
			t.Errorf("the failing host got %d requests: want it tried, then rested", failing.Requests())
		}
	})
	t.Run("every host down", func(t *testing.T) {
		s := newSink(t, elasticsearch.Config{Hosts: []string{deadURL(t), deadURL(t)}, Index: "logs"})
		b := engine.NewBatch(events(testStream(), 0, 3))
		err := s.Write(t.Context(), b)
		if err == nil || !strings.Contains(err.Error(), "post to http://127.0.0.1") {
			t.Fatalf("write error %v, want the network error naming the host", err)
		}
		for i, st := range statuses(b) {
			if st != engine.Retry {
				t.Fatalf("event %d: %v, want retry", i, st)
			}
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		es := estest.Start(t, estest.Options{})
		es.HangAfter(1)
		s := newSink(t, elasticsearch.Config{Hosts: []string{es.URL()}, Index: "logs"})
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		b := engine.NewBatch(events(testStream(), 0, 3))
		if err := s.Write(ctx, b); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("write error %v, want the context's", err)
		}
		for i, st := range statuses(b) {
			if st != engine.Retry {
				t.Fatalf("event %d: %v, want retry", i, st)
			}
		}
	})
}

func writeAllAccepted(t *testing.T, s *elasticsearch.Sink, batches int) {
	t.Helper()
	st := testStream()
	for k := range batches {
		b := engine.NewBatch(events(st, k*5, 5))
		if err := s.Write(t.Context(), b); err != nil {
			t.Fatalf("batch %d: %v", k, err)
		}
		for i, s := range statuses(b) {
			if s != engine.Accepted {
				t.Fatalf("batch %d event %d: %v", k, i, s)
			}
		}
	}
}

// checkDisjoint checks that the emulators together hold n documents, each in exactly one of them.
func checkDisjoint(t *testing.T, n int, ems ...*estest.Server) {
	t.Helper()
	seen := map[string]int{}
	for _, e := range ems {
		for _, d := range e.Docs() {
			seen[d.ID]++
			if d.Version != 1 {
				t.Errorf("document %s has version %d", d.ID, d.Version)
			}
		}
	}
	if len(seen) != n {
		t.Errorf("%d documents, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("document %s stored %d times", id, c)
		}
	}
}

// deadURL is the URL of a port nothing listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr
}

// TestItemMissingIndexRetried: an item answered 404 (index_not_found_exception when indices are not created
// automatically) is kept and retried, and the operator told to create the index: rejecting would send every
// event to the dead letter, or drop it without one, until then.
func TestItemMissingIndexRetried(t *testing.T) {
	es := estest.Start(t, estest.Options{})
	var logs logBuffer
	s := newLoggingSink(t, elasticsearch.Config{Hosts: []string{es.URL()}, Index: "logs"}, zerolog.New(&logs))
	evs := events(testStream(), 0, 3)
	es.FailItem(idOf(&evs[1]), http.StatusNotFound)
	b := engine.NewBatch(evs)
	if err := s.Write(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	want := []engine.Status{engine.Accepted, engine.Retry, engine.Accepted}
	for i, w := range want {
		if st, err := b.Status(i); st != w {
			t.Errorf("event %d: %v %v, want %v", i, st, err, w)
		}
	}
	_, err := b.Status(1)
	if err == nil || !strings.Contains(err.Error(), "index_not_found_exception") {
		t.Errorf("retry reason %v, want the item's index_not_found_exception", err)
	}
	if msgs := logs.messages(t, "error"); len(msgs) != 1 || !strings.Contains(msgs[0], "create the index") {
		t.Errorf("error logs %q, want one telling to create the index", msgs)
	}
	// Once the index exists, the retry lands.
	if err := s.Write(t.Context(), engine.NewBatch(evs[1:2])); err != nil || es.DocCount() != 3 {
		t.Errorf("retry: %v, %d documents, want 3", err, es.DocCount())
	}
}
