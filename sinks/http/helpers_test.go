package httpout_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
	"github.com/flickerlog/flicker/internal/syncbuf"
	httpout "github.com/flickerlog/flicker/sinks/http"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var testTime = time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC)

// testStream is a stream like the file source makes, with an id seed so that events have derived ids.
func testStream(path string) *engine.Stream {
	st := engine.NewStream(&engine.Input{Name: "app", Type: "file"}, func(int64) {})
	st.Path = path
	st.IDSeed = engine.SeedID([]byte("app"), []byte(path))
	return st
}

// events returns n events of st whose messages are "event-<k>" for k from first on.
func events(st *engine.Stream, first, n int) []engine.Event {
	evs := make([]engine.Event, n)
	for i := range evs {
		k := first + i
		evs[i] = engine.Event{Time: testTime, Message: fmt.Appendf(nil, "event-%06d", k), Stream: st,
			Offset: int64(k) * 100, Pos: int64(k+1) * 100}
	}
	return evs
}

// reply is what the collector answers to one request.
type reply struct {
	status     int    // 0: 200
	retryAfter string // Retry-After header
	location   string // Location header
	body       string
	stall      bool // wait until the client gives up (or the test ends), answer nothing
	reset      bool // hijack the connection and reset it, answer nothing
}

// received is one request as the collector saw it.
type received struct {
	at       time.Time // when the handler started
	host     string
	header   http.Header
	wire     int      // body bytes as sent (compressed or not)
	messages []string // decoded events' messages
	ids      []string // decoded events' ids
	reasons  []string // decoded dead_letter.reason, when present
	bad      []string // messages of the events with the marker field "bad":true
	status   int      // what the collector answered; 0 for stall and reset
}

// collector is an httptest server on 127.0.0.1 emulating a log collector's ingest endpoint: it reads and decodes
// every request body (gzip when Content-Encoding says so; a JSON array for Content-Type application/json, else
// NDJSON), records it, and answers what script says for the n-th request (from 0). Messages of requests answered
// 2xx are the delivered ones.
type collector struct {
	t      testing.TB
	srv    *httptest.Server
	script func(n int, r *received) reply
	quit   chan struct{} // closed when the test ends: stalled handlers return

	mu   sync.Mutex
	reqs []*received
}

func newCollector(t testing.TB, script func(n int, r *received) reply) *collector {
	t.Helper()
	c := &collector{t: t, script: script, quit: make(chan struct{})}
	if c.script == nil {
		c.script = func(int, *received) reply { return reply{} }
	}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(func() {
		close(c.quit)
		c.srv.Close()
	})
	return c
}

func (c *collector) url() string { return c.srv.URL + "/ingest" }

func (c *collector) serve(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client went away
	}
	rec := &received{at: at, host: r.Host, header: r.Header.Clone(), wire: len(body)}
	if err := decode(r.Header, body, rec); err != nil {
		c.t.Errorf("collector: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	n := len(c.reqs)
	c.reqs = append(c.reqs, rec)
	c.mu.Unlock()
	rep := c.script(n, rec)
	switch {
	case rep.stall:
		select {
		case <-r.Context().Done():
		case <-c.quit:
		}
		return
	case rep.reset:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			c.t.Errorf("hijack: %v", err)
			return
		}
		_ = conn.(*net.TCPConn).SetLinger(0) // close with RST
		_ = conn.Close()
		return
	}
	if rep.status == 0 {
		rep.status = http.StatusOK
	}
	if rep.retryAfter != "" {
		w.Header().Set("Retry-After", rep.retryAfter)
	}
	if rep.location != "" {
		w.Header().Set("Location", rep.location)
	}
	c.mu.Lock()
	rec.status = rep.status
	c.mu.Unlock()
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body)
}

// decode fills rec's messages and ids from a request body.
func decode(h http.Header, body []byte, rec *received) error {
	if h.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
	}
	type doc struct {
		Message    string `json:"message"`
		ID         string `json:"id"`
		Bad        bool   `json:"bad"`
		DeadLetter *struct {
			Reason string `json:"reason"`
		} `json:"dead_letter"`
	}
	var docs []doc
	if h.Get("Content-Type") == "application/json" {
		if err := json.Unmarshal(body, &docs); err != nil {
			return fmt.Errorf("json array: %w: %.80q", err, body)
		}
	} else {
		if len(body) > 0 && body[len(body)-1] != '\n' {
			return fmt.Errorf("ndjson body does not end with a newline")
		}
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var d doc
			if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
				return fmt.Errorf("ndjson line: %w: %.80q", err, sc.Bytes())
			}
			docs = append(docs, d)
		}
	}
	for _, d := range docs {
		rec.messages = append(rec.messages, d.Message)
		rec.ids = append(rec.ids, d.ID)
		if d.Bad {
			rec.bad = append(rec.bad, d.Message)
		}
		if d.DeadLetter != nil {
			rec.reasons = append(rec.reasons, d.DeadLetter.Reason)
		}
	}
	return nil
}

// requests returns a copy of the requests received so far.
func (c *collector) requests() []received {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]received, len(c.reqs))
	for i, r := range c.reqs {
		out[i] = *r
	}
	return out
}

// delivered returns the messages of the requests answered 2xx, in arrival order.
func (c *collector) delivered() [][]byte {
	var msgs [][]byte
	for _, r := range c.requests() {
		if r.status >= 200 && r.status < 300 {
			for _, m := range r.messages {
				msgs = append(msgs, []byte(m))
			}
		}
	}
	return msgs
}

// newSink returns a sink posting to url with cfg's other settings, closed when the test ends.
func newSink(t testing.TB, url string, cfg httpout.Config, log zerolog.Logger) *httpout.Sink {
	t.Helper()
	cfg.URL = url
	s, err := httpout.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// fastRetry keeps the engine's backoff short but measurable: at least 10 ms between a failure and its retry.
var fastRetry = engine.RetryPolicy{Initial: 20 * time.Millisecond, Max: 80 * time.Millisecond}

// runPipeline ships content through the engine to sink until every event is done (a minute at most) and checks
// that every stream was acknowledged to its end.
func runPipeline(t *testing.T, sink engine.Sink, content map[string][][]byte) {
	t.Helper()
	src := enginetest.NewPullSource(&engine.Input{Name: "app", Type: "file"}, content)
	p, err := engine.New(engine.Options{
		Batch:   engine.BatchLimits{MaxEvents: 40, MaxWait: 5 * time.Millisecond},
		Outputs: []engine.Output{{Name: "http", Sink: sink, Retry: fastRetry}},
		Logger:  zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := p.Run(ctx, []engine.Source{src}); err != nil {
		t.Fatalf("run: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the pipeline did not drain within a minute")
	}
	if errs := src.AckErrors(); len(errs) > 0 {
		t.Fatalf("acknowledgements broke the contract: %v", errs)
	}
	for name, msgs := range content {
		if got := src.Acked(name); got != int64(len(msgs)) {
			t.Errorf("stream %s acknowledged up to %d of %d", name, got, len(msgs))
		}
	}
}

// checkSpaced checks that every request after one answered with a failure came at least gap after it: the
// output backs off instead of retrying in a hot loop.
func checkSpaced(t *testing.T, reqs []received, failed func(r received) bool, gap time.Duration) {
	t.Helper()
	for i := 1; i < len(reqs); i++ {
		if prev := reqs[i-1]; failed(prev) {
			if d := reqs[i].at.Sub(prev.at); d < gap {
				t.Errorf("request %d came %s after failed request %d, want at least %s", i, d, i-1, gap)
			}
		}
	}
}

// logBuffer collects JSON log lines; safe for concurrent use.
type logBuffer struct{ syncbuf.Buffer }

// entries returns the log lines at level.
func (l *logBuffer) entries(t *testing.T, level string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(l.String()) {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if e["level"] == level {
			out = append(out, e)
		}
	}
	return out
}
