package collecttest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
	httpout "github.com/flickerlog/flicker/sinks/http"
	"github.com/flickerlog/flicker/sinks/http/collecttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ndjson is an uncompressed NDJSON body of events with the given messages.
func ndjson(msgs ...string) []byte {
	var b bytes.Buffer
	for _, m := range msgs {
		fmt.Fprintf(&b, "{\"message\":%q,\"id\":\"x\"}\n", m)
	}
	return b.Bytes()
}

// post sends body with the headers (name, value pairs) and returns the response's status and Retry-After. It
// reports failures as errors: requests run in goroutines that may outlive their test.
func post(ctx context.Context, url string, body []byte, headers ...string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}

// wait is how long the tests wait for a request or a server state.
const wait = 10 * time.Second

// TestModes: a request in each mode gets that mode's answer, and only accepted requests are counted and seen by
// OnAccept.
func TestModes(t *testing.T) {
	var mu sync.Mutex
	var seen [][]string
	s := collecttest.Start(t, collecttest.OnAccept(func(msgs []string) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, msgs)
	}))
	tests := []struct {
		name       string
		set        func()
		status     int
		retryAfter string
	}{
		{"healthy", s.Healthy, http.StatusOK, ""},
		{"fail 500", func() { s.Fail(500) }, 500, ""},
		{"fail 503", func() { s.Fail(503) }, 503, ""},
		{"429 whole seconds", func() { s.TooMany(2 * time.Second) }, 429, "2"},
		{"429 rounded up", func() { s.TooMany(1500 * time.Millisecond) }, 429, "2"},
		{"fraction 1", func() { s.FailFraction(1, 502, 7) }, 502, ""},
		{"fraction 0", func() { s.FailFraction(0, 502, 7) }, http.StatusOK, ""},
		{"healthy again", s.Healthy, http.StatusOK, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.set()
			msg := fmt.Sprintf("m%d", i)
			status, retryAfter, err := post(t.Context(), s.URL(), ndjson(msg, msg+"b"))
			if err != nil || status != tt.status || retryAfter != tt.retryAfter {
				t.Fatalf("answer %d Retry-After %q (%v), want %d %q", status, retryAfter, err, tt.status, tt.retryAfter)
			}
			want := 0
			if tt.status == http.StatusOK {
				want = 1
			}
			if s.Count(msg) != want || s.Count(msg+"b") != want {
				t.Fatalf("%s counted %d times, %sb %d, want %d", msg, s.Count(msg), msg, s.Count(msg+"b"), want)
			}
		})
	}
	want := [][]string{{"m0", "m0b"}, {"m6", "m6b"}, {"m7", "m7b"}}
	mu.Lock()
	defer mu.Unlock()
	if !slices.EqualFunc(seen, want, slices.Equal) {
		t.Fatalf("OnAccept saw %v, want %v", seen, want)
	}
	if s.Total() != 6 || len(s.Messages()) != 6 || s.Requests() != len(tests) {
		t.Fatalf("total %d, messages %v, requests %d", s.Total(), s.Messages(), s.Requests())
	}
	answers := map[int]int{200: 3, 500: 1, 503: 1, 429: 2, 502: 1}
	if got := s.Answers(); !equalMaps(got, answers) {
		t.Fatalf("answers %v, want %v", got, answers)
	}
	if m := s.Mode(); m.Kind != collecttest.KindHealthy {
		t.Fatalf("mode %s, want healthy", m)
	}
}

func equalMaps(a, b map[int]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestFailFractionSeeded: the same seed fails the same requests in the same order; another seed does not; the
// fraction is near p.
func TestFailFractionSeeded(t *testing.T) {
	run := func(seed uint64) []int {
		s := collecttest.Start(t)
		s.FailFraction(0.3, 503, seed)
		var statuses []int
		for i := range 200 {
			st, _, err := post(t.Context(), s.URL(), ndjson(fmt.Sprint(i)))
			if err != nil {
				t.Fatal(err)
			}
			statuses = append(statuses, st)
		}
		if s.Answered(503)+s.Answered(200) != 200 || s.Total() != s.Answered(200) {
			t.Fatalf("answers %v, %d events accepted", s.Answers(), s.Total())
		}
		return statuses
	}
	a, b, c := run(42), run(42), run(43)
	if !slices.Equal(a, b) {
		t.Fatal("seed 42 failed different requests in two runs")
	}
	if slices.Equal(a, c) {
		t.Fatal("seeds 42 and 43 failed the same requests")
	}
	if failed := 200 - countOf(a, 200); failed < 30 || failed > 90 {
		t.Fatalf("%d of 200 requests failed with p 0.3", failed)
	}
}

func countOf(s []int, v int) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// TestStallReleasedByModeChange: requests held by Stall are answered under the mode that follows (Healthy
// accepts them, Fail answers its status), each once.
func TestStallReleasedByModeChange(t *testing.T) {
	s := collecttest.Start(t)
	s.Stall()
	type result struct {
		status int
		err    error
	}
	results := make(chan result, 3)
	for i := range 3 {
		go func() {
			st, _, err := post(context.Background(), s.URL(), ndjson(fmt.Sprintf("held%d", i)))
			results <- result{st, err}
		}()
	}
	enginetest.Eventually(t, wait, func() bool { return s.Stalled() == 3 }, "three stalled requests")
	if s.Requests() != 3 || s.Total() != 0 || len(s.Answers()) != 0 {
		t.Fatalf("while stalled: %d requests, %d events accepted, answers %v", s.Requests(), s.Total(), s.Answers())
	}
	s.FailNext(1, http.StatusBadGateway)
	s.Healthy()
	got := map[int]int{}
	for range 3 {
		r := enginetest.Receive(t, wait, results)
		if r.err != nil {
			t.Fatal(r.err)
		}
		got[r.status]++
	}
	if got[200] != 2 || got[502] != 1 || s.Stalled() != 0 || s.Total() != 2 {
		t.Fatalf("after Healthy: answers %v, %d stalled, %d events accepted", got, s.Stalled(), s.Total())
	}
}

// TestStallEndsWithClient: a stalled request whose client gives up ends, answered nothing and counted nowhere,
// and leaves no goroutine behind (TestMain's goleak); so does one still stalled when the test ends.
func TestStallEndsWithClient(t *testing.T) {
	s := collecttest.Start(t)
	s.Stall()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, _, err := post(ctx, s.URL(), ndjson("gone"))
		done <- err
	}()
	enginetest.Eventually(t, wait, func() bool { return s.Stalled() == 1 }, "the stalled request")
	cancel()
	if err := enginetest.Receive(t, wait, done); err == nil {
		t.Fatal("a stalled request was answered")
	}
	enginetest.Eventually(t, wait, func() bool { return s.Stalled() == 0 }, "the handler to end")
	if s.Total() != 0 || len(s.Answers()) != 0 || s.Mode().Kind != collecttest.KindStall {
		t.Fatalf("%d events accepted, answers %v, mode %s", s.Total(), s.Answers(), s.Mode())
	}

	// A request still stalled at the end of its test: the cleanup releases it.
	t.Run("at cleanup", func(t *testing.T) {
		s := collecttest.Start(t)
		s.Stall()
		go func() {
			_, _, err := post(context.Background(), s.URL(), ndjson("left"))
			done <- err
		}()
		enginetest.Eventually(t, wait, func() bool { return s.Stalled() == 1 }, "the stalled request")
	})
	if err := enginetest.Receive(t, wait, done); err == nil {
		t.Fatal("a request stalled at cleanup was answered")
	}
}

// TestBodies: every body the http output sends (NDJSON or a JSON array, gzip or not) is accepted with its
// messages; a body that is not JSON is answered 400; Refuse answers 400 with its text.
func TestBodies(t *testing.T) {
	for _, format := range []string{httpout.FormatNDJSON, httpout.FormatJSONArray} {
		for _, compression := range []string{httpout.CompressionGzip, httpout.CompressionNone} {
			t.Run(format+"_"+compression, func(t *testing.T) {
				s := collecttest.Start(t)
				sink, err := httpout.New(httpout.Config{URL: s.URL(), Format: format, Compression: compression},
					zerolog.Nop())
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = sink.Close(context.Background()) }()
				st := engine.NewStream(&engine.Input{Name: "app", Type: "file"}, func(int64) {})
				evs := make([]engine.Event, 50)
				for i := range evs {
					evs[i] = engine.Event{Time: time.Now(), Message: fmt.Appendf(nil, "line \"%d\"\n", i), Stream: st,
						Offset: int64(i), Pos: int64(i + 1)}
				}
				b := engine.NewBatch(evs)
				if err := sink.Write(t.Context(), b); err != nil {
					t.Fatal(err)
				}
				for i := range evs {
					if status, err := b.Status(i); status != engine.Accepted || s.Count(string(evs[i].Message)) != 1 {
						t.Fatalf("event %d: status %v (%v), counted %d times", i, status, err, s.Count(string(evs[i].Message)))
					}
				}
			})
		}
	}
	t.Run("not json", func(t *testing.T) {
		s := collecttest.Start(t)
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, _ = zw.Write([]byte("{\"message\":\"ok\"}\nnot json\n"))
		_ = zw.Close()
		if st, _, err := post(t.Context(), s.URL(), gz.Bytes(), "Content-Encoding", "gzip"); err != nil || st != 400 {
			t.Fatalf("answer %d (%v), want 400", st, err)
		}
		if st, _, err := post(t.Context(), s.URL(), []byte("[{\"message\":\"a\"}"), "Content-Type", "application/json"); err != nil || st != 400 {
			t.Fatalf("answer %d (%v) to a truncated array, want 400", st, err)
		}
		if s.Total() != 0 || s.Answered(400) != 2 {
			t.Fatalf("%d events accepted, answers %v", s.Total(), s.Answers())
		}
	})
	t.Run("refuse", func(t *testing.T) {
		s := collecttest.Start(t, collecttest.Refuse(func(msgs []string) string {
			if slices.Contains(msgs, "bad") {
				return "field [x] refused"
			}
			return ""
		}))
		if st, _, err := post(t.Context(), s.URL(), ndjson("good", "bad")); err != nil || st != 400 {
			t.Fatalf("answer %d (%v), want 400", st, err)
		}
		if st, _, err := post(t.Context(), s.URL(), ndjson("good")); err != nil || st != 200 {
			t.Fatalf("answer %d (%v), want 200", st, err)
		}
		if s.Count("good") != 1 || s.Count("bad") != 0 {
			t.Fatalf("messages %v", s.Messages())
		}
	})
}

// TestModeSwitchesUnderRace: modes switched from another goroutine while requests run; run with -race.
func TestModeSwitchesUnderRace(t *testing.T) {
	s := collecttest.Start(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		switches := []func(){func() { s.Fail(503) }, func() { s.TooMany(time.Second) }, s.Stall,
			func() { s.FailFraction(0.5, 500, 1) }, s.Healthy}
		for i := 0; ctx.Err() == nil; i++ {
			switches[i%len(switches)]()
			_ = s.Mode().String()
			time.Sleep(time.Millisecond)
		}
		s.Healthy()
	}()
	for i := range 50 {
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		_, _, _ = post(rctx, s.URL(), ndjson(strings.Repeat("x", i)))
		rcancel()
	}
	cancel()
	wg.Wait()
	if s.Requests() != 50 {
		t.Fatalf("%d requests, want 50", s.Requests())
	}
}

// TestReplyLost: an accepted request whose client gives up before the answer (a timeout) is reported to
// OnReplyLost, with its messages; one answered in time is not.
func TestReplyLost(t *testing.T) {
	var mu sync.Mutex
	var lost [][]string
	s := collecttest.Start(t, collecttest.OnAccept(func(msgs []string) {
		if msgs[0] == "slow" {
			time.Sleep(300 * time.Millisecond) // past the client's timeout
		}
	}), collecttest.OnReplyLost(func(msgs []string) {
		mu.Lock()
		defer mu.Unlock()
		lost = append(lost, msgs)
	}))
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := post(ctx, s.URL(), ndjson("slow", "slow-b")); err == nil {
		t.Fatal("the slow request was answered within the client's timeout")
	}
	enginetest.Eventually(t, wait, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(lost) > 0
	}, "the lost reply reported")
	if status, _, err := post(t.Context(), s.URL(), ndjson("fast")); err != nil || status != http.StatusOK {
		t.Fatalf("fast request: %d, %v", status, err)
	}
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if want := [][]string{{"slow", "slow-b"}}; !slices.EqualFunc(lost, want, slices.Equal) {
		t.Fatalf("reported lost %q, want %q", lost, want)
	}
}
