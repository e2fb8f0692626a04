package estest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/engine/enginetest"
	"github.com/flickerlog/flicker/sinks/elasticsearch/estest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// bulkBody is a _bulk body indexing a document with message m-<id> under _id id, for each id.
func bulkBody(ids ...string) []byte {
	var b bytes.Buffer
	for _, id := range ids {
		fmt.Fprintf(&b, "{\"index\":{\"_index\":\"logs\",\"_id\":%q}}\n{\"message\":\"m-%s\",\"id\":%q}\n", id, id, id)
	}
	return b.Bytes()
}

func ids(first, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("id-%03d", first+i)
	}
	return out
}

type bulkItem struct {
	Status int `json:"status"`
	Error  struct {
		Type string `json:"type"`
	} `json:"error"`
}

// bulk posts body and returns the status and the items of the answer (none for a whole-request error). It
// reports failures as errors: requests run in goroutines that may outlive their test.
func bulk(ctx context.Context, url string, body []byte) (int, []bulkItem, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/_bulk", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	var parsed struct {
		Items []map[string]bulkItem `json:"items"`
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &parsed); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("answer %s: %w", raw, err)
		}
	}
	var items []bulkItem
	for _, it := range parsed.Items {
		items = append(items, it["index"])
	}
	return resp.StatusCode, items, nil
}

// wait is how long the tests wait for a request or a server state.
const wait = 10 * time.Second

// TestFailItemFraction: a seeded fraction of the items is answered 429 es_rejected_execution_exception and not
// indexed, the others are; the same seed fails the same items; OnIndexed and Deliveries see exactly the indexed
// ones, a replay of the same _id included.
func TestFailItemFraction(t *testing.T) {
	run := func(seed uint64) (failed []string) {
		var mu sync.Mutex
		var seen []string
		es := estest.Start(t, estest.Options{OnIndexed: func(sources [][]byte) {
			mu.Lock()
			defer mu.Unlock()
			for _, src := range sources {
				var doc struct{ Message string }
				if err := json.Unmarshal(src, &doc); err != nil {
					t.Errorf("OnIndexed source %s: %v", src, err)
				}
				seen = append(seen, doc.Message)
			}
		}})
		es.FailItemFraction(0.3, seed)
		all := ids(0, 200)
		status, items, err := bulk(t.Context(), es.URL(), bulkBody(all...))
		if err != nil || status != http.StatusOK || len(items) != len(all) {
			t.Fatalf("answer %d with %d items (%v)", status, len(items), err)
		}
		var indexed []string
		for i, it := range items {
			switch {
			case it.Status == http.StatusCreated:
				indexed = append(indexed, "m-"+all[i])
			case it.Status == http.StatusTooManyRequests && it.Error.Type == "es_rejected_execution_exception":
				failed = append(failed, all[i])
				if _, ok := es.Doc("logs", all[i]); ok {
					t.Fatalf("%s answered 429 and indexed", all[i])
				}
			default:
				t.Fatalf("item %d: %+v", i, it)
			}
		}
		if len(failed) < 30 || len(failed) > 100 {
			t.Fatalf("%d of 200 items failed with p 0.3", len(failed))
		}
		// Off again: a replay of everything indexes the failed ones and overwrites the others (a second
		// delivery of each).
		es.FailItemFraction(0, 0)
		if status, items, err := bulk(t.Context(), es.URL(), bulkBody(all...)); err != nil || status != 200 ||
			slices.ContainsFunc(items, func(it bulkItem) bool { return it.Status >= 300 }) {
			t.Fatalf("replay with the fraction off: %d %+v (%v)", status, items, err)
		}
		for _, id := range all {
			indexed = append(indexed, "m-"+id)
		}
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(seen, indexed) {
			t.Fatalf("OnIndexed saw %d messages, want the %d indexed ones in order", len(seen), len(indexed))
		}
		d := es.Deliveries()
		for _, id := range all {
			want := 2
			if slices.Contains(failed, id) {
				want = 1
			}
			if d["m-"+id] != want {
				t.Fatalf("deliveries of m-%s: %d, want %d", id, d["m-"+id], want)
			}
		}
		return failed
	}
	a, b, c := run(9), run(9), run(10)
	if !slices.Equal(a, b) {
		t.Fatal("seed 9 failed different items in two runs")
	}
	if slices.Equal(a, c) {
		t.Fatal("seeds 9 and 10 failed the same items")
	}
}

// TestFailAll: every request fails with the status until Healthy; answers queued by FailRequests come first.
func TestFailAll(t *testing.T) {
	es := estest.Start(t, estest.Options{})
	es.FailRequests(http.StatusBadGateway)
	es.FailAll(http.StatusServiceUnavailable)
	for i, want := range []int{http.StatusBadGateway, 503, 503, 503} {
		if status, _, err := bulk(t.Context(), es.URL(), bulkBody(ids(i, 1)...)); err != nil || status != want {
			t.Fatalf("request %d: answer %d (%v), want %d", i, status, err, want)
		}
	}
	// A large body too: the answer arrives, not a connection reset while the client still sends.
	if status, _, err := bulk(t.Context(), es.URL(), bulkBody(ids(0, 40000)...)); err != nil || status != 503 {
		t.Fatalf("a large request: answer %d (%v), want 503", status, err)
	}
	es.Healthy()
	if status, items, err := bulk(t.Context(), es.URL(), bulkBody("ok")); err != nil || status != 200 ||
		items[0].Status != http.StatusCreated {
		t.Fatalf("after Healthy: %d %+v (%v)", status, items, err)
	}
	if es.DocCount() != 1 || len(es.Deliveries()) != 1 {
		t.Fatalf("%d documents, deliveries %v, want only the one sent after Healthy", es.DocCount(), es.Deliveries())
	}
}

// TestStall: a stalled request indexes nothing until the mode changes, then runs under the new mode; one whose
// client gives up ends without an answer or a document, and so does one still stalled at cleanup, with no
// goroutine left (TestMain's goleak).
func TestStall(t *testing.T) {
	t.Run("released by Healthy", func(t *testing.T) {
		es := estest.Start(t, estest.Options{})
		es.Stall()
		done := make(chan int, 2)
		for _, id := range []string{"a", "b"} {
			go func() {
				status, _, _ := bulk(context.Background(), es.URL(), bulkBody(id)) // an error: status 0
				done <- status
			}()
		}
		enginetest.Eventually(t, wait, func() bool { return es.Stalled() == 2 }, "two stalled requests")
		if es.DocCount() != 0 {
			t.Fatalf("%d documents indexed while stalled", es.DocCount())
		}
		es.FailAll(http.StatusTooManyRequests) // a mode change releases them: the next mode answers 429
		if a, b := enginetest.Receive(t, wait, done), enginetest.Receive(t, wait, done); a != 429 || b != 429 {
			t.Fatalf("answers %d and %d after FailAll(429), want 429", a, b)
		}
		es.Stall()
		go func() {
			status, _, _ := bulk(context.Background(), es.URL(), bulkBody("c"))
			done <- status
		}()
		enginetest.Eventually(t, wait, func() bool { return es.Stalled() == 1 }, "the stalled request")
		es.Healthy()
		if st := enginetest.Receive(t, wait, done); st != http.StatusOK || es.DocCount() != 1 || es.Stalled() != 0 {
			t.Fatalf("answer %d after Healthy, %d documents, %d stalled", st, es.DocCount(), es.Stalled())
		}
	})
	t.Run("client gone", func(t *testing.T) {
		es := estest.Start(t, estest.Options{})
		es.Stall()
		ctx, cancel := context.WithCancel(t.Context())
		answers := make(chan int, 1)
		go func() {
			status, _, _ := bulk(ctx, es.URL(), bulkBody("gone")) // no answer: status 0
			answers <- status
		}()
		enginetest.Eventually(t, wait, func() bool { return es.Stalled() == 1 }, "the stalled request")
		cancel()
		if status := enginetest.Receive(t, wait, answers); status != 0 {
			t.Fatalf("a stalled request whose client went away was answered %d", status)
		}
		enginetest.Eventually(t, wait, func() bool { return es.Stalled() == 0 }, "the handler to end")
		es.Healthy()
		if es.DocCount() != 0 {
			t.Fatalf("%d documents from a request whose client went away", es.DocCount())
		}
	})
	answers := make(chan int, 1)
	t.Run("at cleanup", func(t *testing.T) {
		es := estest.Start(t, estest.Options{})
		es.Stall()
		go func() {
			status, _, _ := bulk(context.Background(), es.URL(), bulkBody("left")) // no answer: status 0
			answers <- status
		}()
		enginetest.Eventually(t, wait, func() bool { return es.Stalled() == 1 }, "the stalled request")
	})
	if status := enginetest.Receive(t, wait, answers); status != 0 {
		t.Fatalf("a request stalled at cleanup was answered %d", status)
	}
}

// TestModeSwitchesUnderRace: modes switched from another goroutine while requests run; run with -race.
func TestModeSwitchesUnderRace(t *testing.T) {
	es := estest.Start(t, estest.Options{OnIndexed: func([][]byte) {}})
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		switches := []func(){func() { es.FailAll(503) }, es.Stall, func() { es.FailItemFraction(0.5, 3) }, es.Healthy}
		for i := 0; ctx.Err() == nil; i++ {
			switches[i%len(switches)]()
			_ = es.Deliveries()
			time.Sleep(time.Millisecond)
		}
		es.Healthy()
	}()
	for i := range 50 {
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		_, _, _ = bulk(rctx, es.URL(), bulkBody(ids(i, 3)...))
		rcancel()
	}
	cancel()
	wg.Wait()
	if es.Requests() != 50 {
		t.Fatalf("%d requests, want 50", es.Requests())
	}
}

// TestReplyLost: a request whose client gives up before the answer (a timeout) after its documents were indexed
// is reported to OnReplyLost, with those documents; one answered in time is not.
func TestReplyLost(t *testing.T) {
	var mu sync.Mutex
	var lost []string
	es := estest.Start(t, estest.Options{
		OnIndexed: func(sources [][]byte) {
			if bytes.Contains(sources[0], []byte("slow")) {
				time.Sleep(300 * time.Millisecond) // past the client's timeout
			}
		},
		OnReplyLost: func(sources [][]byte) {
			mu.Lock()
			defer mu.Unlock()
			for _, s := range sources {
				lost = append(lost, string(s))
			}
		},
	})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := bulk(ctx, es.URL(), bulkBody("slow-1", "slow-2")); err == nil {
		t.Fatal("the slow request was answered within the client's timeout")
	}
	enginetest.Eventually(t, wait, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(lost) == 2
	}, "the lost reply reported")
	if status, _, err := bulk(t.Context(), es.URL(), bulkBody("fast-1")); err != nil || status != http.StatusOK {
		t.Fatalf("fast request: %d, %v", status, err)
	}
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	want := []string{`{"message":"m-slow-1","id":"slow-1"}`, `{"message":"m-slow-2","id":"slow-2"}`}
	if !slices.Equal(lost, want) {
		t.Fatalf("reported lost %q, want %q", lost, want)
	}
}
