package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventjson"
	httpsrc "github.com/flickerlog/flicker/sources/http"
)

// jsonSink records every event it accepts as flicker's JSON event, decoded. Block makes Writes wait until
// Unblock.
type jsonSink struct {
	mu     sync.Mutex
	enc    eventjson.Encoder
	events []map[string]any
	gate   chan struct{}
	writes int
}

func (s *jsonSink) Block() {
	s.mu.Lock()
	s.gate = make(chan struct{})
	s.mu.Unlock()
}

func (s *jsonSink) Unblock() {
	s.mu.Lock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
	s.mu.Unlock()
}

func (s *jsonSink) Write(ctx context.Context, b *engine.Batch) error {
	s.mu.Lock()
	gate := s.gate
	s.writes++
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range b.Events {
		line := s.enc.Append(nil, &b.Events[i])
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			return err // the test fails on the count
		}
		s.events = append(s.events, m)
	}
	return nil
}

func (s *jsonSink) Close(context.Context) error { return nil }

func (s *jsonSink) Events() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.events...)
}

func (s *jsonSink) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// server is a source on a loopback listener feeding a pipeline into a jsonSink.
type server struct {
	url    string
	sink   *jsonSink
	pipe   *engine.Pipeline
	src    *httpsrc.Source
	stop   func() error // unblocks the sink, cancels the pipeline's context and returns Run's error
	cancel func()       // cancels the pipeline's context only
}

func startServer(t *testing.T, cfg httpsrc.Config, queue engine.QueueLimits) *server {
	t.Helper()
	return startServerWith(t, cfg, queue, httpsrc.Options{})
}

// startServerWith is startServer with opts (its Listeners are set here).
func startServerWith(t *testing.T, cfg httpsrc.Config, queue engine.QueueLimits, opts httpsrc.Options) *server {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "ingest"
	}
	cfg.Address = "127.0.0.1:0"
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts.Listeners = []net.Listener{ln}
	src, err := httpsrc.New([]httpsrc.Config{cfg}, opts, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	sink := &jsonSink{}
	pipe, err := engine.New(engine.Options{
		Queue:   queue,
		Batch:   engine.BatchLimits{MaxWait: 5 * time.Millisecond},
		Outputs: []engine.Output{{Name: "out", Sink: sink, Retry: engine.RetryPolicy{Initial: time.Millisecond, Max: 5 * time.Millisecond}}},
		Logger:  zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- pipe.Run(ctx, []engine.Source{src}) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			sink.Unblock()
			cancel()
			select {
			case runErr = <-ran:
			case <-time.After(time.Minute):
				t.Error("the pipeline did not stop within a minute")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	scheme := "http://"
	if cfg.TLS != nil {
		scheme = "https://"
	}
	return &server{url: scheme + ln.Addr().String(), sink: sink, pipe: pipe, src: src, stop: stop, cancel: cancel}
}

type response struct {
	status int
	header http.Header
	body   []byte
	err    error
}

// testClient opens a connection per request: a kept-alive one could outlive its server, and a later server on
// the same port would see it fail.
var testClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// send sends body to url with the headers (pairs of name, value) and returns the answer.
func send(t *testing.T, method, url string, body []byte, headers ...string) response {
	t.Helper()
	r := sendAsync(method, url, body, headers...)
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r
}

// sendAsync is send for another goroutine than the test's: a failure is in the answer's err.
func sendAsync(method, url string, body []byte, headers ...string) response {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return response{err: err}
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := testClient.Do(req)
	if err != nil {
		return response{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b, err: err}
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("answer %q is not a JSON object: %v", b, err)
	}
	return m
}

// field returns the value at a dotted path of m, nil when absent.
func field(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[p]
	}
	return v
}

func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// postStalling starts a POST to url whose body announces length bytes and sends only first (an NDJSON line),
// then waits, as a stalled sender does, until the test ends (the returned writer is closed then). It returns once
// the source is reading the body (stats of input "ingest" show bytes reserved).
func postStalling(t *testing.T, url string, length int64, src *httpsrc.Source) *io.PipeWriter {
	t.Helper()
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	req, _ := http.NewRequest("POST", url+"/", pr)
	req.ContentLength = length
	go func() {
		if resp, err := testClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	if _, err := pw.Write([]byte(`"a"` + "\n")); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { st, _ := src.Stats("ingest"); return st.BodyBytesInFlight > 0 }, "the body is not being read")
	return pw
}
