package main_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// TestHTTPSourceEveryFormat: every format through the built binary into the file output, with a token, gzip and
// zstd bodies, and the refusals (bad token, malformed body, too large) shipping nothing; flicker runs without
// --track and keeps no registry.
func TestHTTPSourceEveryFormat(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	addr := freeAddr(t)
	cfg := writeHTTPSourceConfig(t, dir, addr, "    auth_token: tok3n\n    max_body_bytes: 4096\n", fileOutput(out))
	metricsAddr := freeAddr(t)
	p := start(t, dir, "-c", cfg, "--http-addr", metricsAddr)
	waitListening(t, addr, p)
	url := "http://" + addr
	bearer := []string{"Authorization", "Bearer tok3n"}

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte("{\"message\":\"gzip 1\"}\n{\"message\":\"gzip 2\"}\n"))
	_ = zw.Close()
	enc, _ := zstd.NewWriter(nil)
	zst := enc.EncodeAll([]byte("{\"create\":{\"_index\":\"z\"}}\n{\"message\":\"zstd bulk\"}\n"), nil)

	for _, c := range []struct {
		name, method, path string
		body               []byte
		headers            []string
		status             int
		contains           string
	}{
		{"ndjson", "POST", "/", []byte("{\"message\":\"ndjson 1\",\"app\":\"web\"}\n{\"log\":\"ndjson 2\"}\n"), bearer, 200, `"events":2`},
		{"array", "POST", "/", []byte(`[{"message":"array 1"},"array 2"]`), bearer, 200, `"events":2`},
		{"bulk", "POST", "/logs/_bulk", []byte("{\"index\":{\"_id\":\"b1\"}}\n{\"message\":\"bulk 1\"}\n{\"create\":{\"_index\":\"other\"}}\n{\"message\":\"bulk 2\"}\n"),
			[]string{"Authorization", "ApiKey tok3n", "Content-Type", "application/x-ndjson"}, 200, `"errors":false`},
		{"hec event", "POST", "/services/collector/event", []byte(`{"event":"hec 1","time":1764237600,"host":"h"}{"event":"hec 2"}`),
			[]string{"Authorization", "Splunk tok3n"}, 200, `"text":"Success"`},
		{"hec raw", "POST", "/services/collector/raw", []byte("raw 1\nraw 2\n"), []string{"Authorization", "Splunk tok3n"}, 200, `"code":0`},
		{"gzip", "POST", "/", gz.Bytes(), append([]string{"Content-Encoding", "gzip"}, bearer...), 200, `"events":2`},
		{"zstd bulk", "POST", "/_bulk", zst, []string{"Content-Encoding", "zstd", "Authorization", "Bearer tok3n"}, 200, `"status":201`},
		{"es root", "GET", "/", nil, bearer, 200, `"number":"8.`},
		{"bad token", "POST", "/", []byte(`{"message":"never 1"}`), []string{"Authorization", "Bearer nope"}, 401, "token"},
		{"no token", "POST", "/_bulk", []byte("{\"index\":{\"_index\":\"x\"}}\n{\"message\":\"never 2\"}\n"), nil, 401, "security_exception"},
		{"malformed", "POST", "/", []byte("{\"message\":\"never 3\"}\n{\"message\":\"never 4\"\n"), bearer, 400, "line 2"},
		{"too large", "POST", "/", []byte(`{"message":"never 5 ` + strings.Repeat("x", 5000) + `"}`), bearer, 413, "max_body_bytes"},
	} {
		a := mustPost(t, c.method, url+c.path, c.body, c.headers...)
		if a.status != c.status || !strings.Contains(a.body, c.contains) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, a.status, a.body, c.status, c.contains)
		}
	}
	if a := mustPost(t, "GET", url+"/", nil, bearer...); a.header.Get("X-Elastic-Product") != "Elasticsearch" {
		t.Errorf("GET / without the X-Elastic-Product header: %v", a.header)
	}
	_, metrics, err := get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`flicker_input_requests_total{input="ingest",type="http"} 13`,
		`flicker_input_events_total{input="ingest",type="http"} 13`,
		`flicker_input_rejected_total{input="ingest",reason="auth",type="http"} 2`,
		`flicker_input_rejected_total{input="ingest",reason="malformed",type="http"} 1`,
		`flicker_input_rejected_total{input="ingest",reason="too_large",type="http"} 1`,
		`flicker_input_too_many_requests_total{input="ingest",type="http"} 0`,
		`flicker_input_connections_open{input="ingest",type="http"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The memory limit leaves room for the bodies behind queued events and those being read and their events
	// (400 bytes per event of 2 bytes at most), and the 16 MiB of request buffers kept for reuse, besides the queue.
	if got, ok := metricValue(metrics, "go_gc_gomemlimit_bytes"); !ok || got != 32<<20+8<<20+32<<20+16<<20+4*4096+4*4096/2*400 {
		t.Errorf("go_gc_gomemlimit_bytes = %.0f, want queue.max_bytes twice + 8 MiB + 16 MiB + 4 bodies of max_body_bytes and their events", got)
	}
	p.stop()

	evs := readEvents[httpEvent](t, out)
	got := map[string]httpEvent{}
	for _, ev := range evs {
		got[ev.Message] = ev
		if strings.HasPrefix(ev.Message, "never") {
			t.Errorf("a refused request shipped %q", ev.Message)
		}
		if ev.Input.Name != "ingest" || ev.Input.Type != "http" || ev.Source.Address != "127.0.0.1" {
			t.Errorf("event %+v: want input ingest/http and source.address 127.0.0.1", ev)
		}
	}
	for _, m := range []string{"ndjson 1", "ndjson 2", "array 1", "array 2", "bulk 1", "bulk 2", "hec 1", "hec 2",
		"raw 1", "raw 2", "gzip 1", "gzip 2", "zstd bulk"} {
		if _, ok := got[m]; !ok {
			t.Errorf("%q is not in the output", m)
		}
	}
	if len(evs) != 13 {
		t.Errorf("the output has %d events, want 13", len(evs))
	}
	if got["ndjson 1"].Fields["app"] != "web" || got["bulk 1"].ID != "b1" || got["hec 1"].Time != "2025-11-27T10:00:00.000000000Z" {
		t.Errorf("documents, ids or times lost: %+v %+v %+v", got["ndjson 1"], got["bulk 1"], got["hec 1"])
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("flicker without --track made a registry: %v", err)
	}
	if strings.Contains(p.logs(), "positions are kept in memory only") {
		t.Errorf("a pure aggregator warned about positions it does not have:\n%s", p.logs())
	}
}

// blockingReceiver is an HTTP endpoint for flicker's http output that holds every request until released.
type blockingReceiver struct {
	srv      *httptest.Server
	arrived  chan struct{} // a request arrived (buffered, never blocks the handler)
	release  chan struct{}
	mu       sync.Mutex
	messages map[string]int
}

func newBlockingReceiver(t *testing.T) *blockingReceiver {
	r := &blockingReceiver{arrived: make(chan struct{}, 1000), release: make(chan struct{}), messages: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case r.arrived <- struct{}{}:
		default:
		}
		select {
		case <-r.release:
		case <-req.Context().Done():
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			w.WriteHeader(500)
			return
		}
		r.mu.Lock()
		for _, l := range bytes.Split(body, []byte("\n")) {
			if i := bytes.Index(l, []byte(`"message":"`)); i >= 0 {
				m := l[i+len(`"message":"`):]
				r.messages[string(m[:bytes.IndexByte(m, '"')])]++
			}
		}
		r.mu.Unlock()
	}))
	t.Cleanup(func() {
		r.unblock()
		r.srv.Close()
	})
	return r
}

func (r *blockingReceiver) unblock() {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.release:
	default:
		close(r.release)
	}
}

func (r *blockingReceiver) count(m string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.messages[m]
}

func httpOutput(url string) string {
	return fmt.Sprintf("  - type: http\n    name: downstream\n    url: %q\n    compression: none\n    timeout: 60s\n", url)
}

// TestHTTPSourceAnswersOnlyAfterTheOutput: with an output that blocks, the request stays open and gets 200 when
// the output accepts; with a short ack_timeout it gets 503 with Retry-After, the sender retries, and nothing is
// lost.
func TestHTTPSourceAnswersOnlyAfterTheOutput(t *testing.T) {
	t.Parallel()
	t.Run("released", func(t *testing.T) {
		t.Parallel()
		dir, addr := t.TempDir(), freeAddr(t)
		recv := newBlockingReceiver(t)
		p := start(t, dir, "-c", writeHTTPSourceConfig(t, dir, addr, "", httpOutput(recv.srv.URL)))
		waitListening(t, addr, p)
		answered := make(chan answer, 1)
		go func() {
			a, err := postTo(&http.Client{}, "POST", "http://"+addr+"/", []byte("\"held 1\"\n\"held 2\"\n"))
			if err != nil {
				a.body = err.Error()
			}
			answered <- a
		}()
		select {
		case <-recv.arrived:
		case <-time.After(30 * time.Second):
			t.Fatalf("the output never sent the events; logs:\n%s", p.logs())
		}
		select {
		case a := <-answered:
			t.Fatalf("answered %d %s while the output held the events", a.status, a.body)
		case <-time.After(300 * time.Millisecond): // an early 200 would have come by now
		}
		recv.unblock()
		if a := <-answered; a.status != 200 {
			t.Fatalf("after the output accepted: %d %s", a.status, a.body)
		}
		if recv.count("held 1") != 1 || recv.count("held 2") != 1 {
			t.Fatalf("the output has %v", recv.messages)
		}
		p.stop()
	})
	t.Run("timed out", func(t *testing.T) {
		t.Parallel()
		dir, addr := t.TempDir(), freeAddr(t)
		recv := newBlockingReceiver(t)
		p := start(t, dir, "-c", writeHTTPSourceConfig(t, dir, addr, "    ack_timeout: 300ms\n", httpOutput(recv.srv.URL)))
		waitListening(t, addr, p)
		body := []byte("\"late 1\"\n\"late 2\"\n")
		a := mustPost(t, "POST", "http://"+addr+"/", body)
		if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" {
			t.Fatalf("answer %d %v %s, want 503 with Retry-After", a.status, a.header, a.body)
		}
		recv.unblock()
		// The sender retries until 200, as senders do.
		waitFor(t, 30*time.Second, "a 200 for the retried request", func() bool {
			a, err := postTo(&http.Client{Timeout: 10 * time.Second}, "POST", "http://"+addr+"/", body)
			return err == nil && a.status == 200
		}, p)
		if recv.count("late 1") < 1 || recv.count("late 2") < 1 {
			t.Fatalf("events lost: the output has %v", recv.messages)
		}
		p.stop()
	})
}

// TestHTTPSourceKill9Concurrent: 50 senders that retry until 200; flicker is killed with SIGKILL in the middle
// and restarted on the same address; every event acknowledged or not arrives at least once.
func TestHTTPSourceKill9Concurrent(t *testing.T) {
	t.Parallel()
	dir, addr := t.TempDir(), freeAddr(t)
	out := filepath.Join(dir, "out.ndjson")
	cfg := writeHTTPSourceConfig(t, dir, addr, "", fileOutput(out))
	p := start(t, dir, "-c", cfg)
	waitListening(t, addr, p)

	const senders, requests, perRequest = 50, 10, 20
	var acked atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	defer close(stop)
	for s := range senders {
		wg.Go(func() {
			client := &http.Client{Timeout: 30 * time.Second}
			for r := range requests {
				var body bytes.Buffer
				for e := range perRequest {
					fmt.Fprintf(&body, "{\"message\":\"s%d r%d e%d\"}\n", s, r, e)
				}
				for {
					a, err := postTo(client, "POST", "http://"+addr+"/", body.Bytes())
					if err == nil && a.status == 200 {
						acked.Add(1)
						break
					}
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond):
					}
				}
			}
		})
	}
	waitFor(t, 60*time.Second, "a quarter of the requests acknowledged", func() bool {
		return acked.Load() >= senders*requests/4
	}, p)
	p.kill()
	p = start(t, dir, "-c", cfg)
	waitListening(t, addr, p)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(120 * time.Second):
		t.Fatalf("senders not done after the restart (%d acknowledged); logs:\n%s", acked.Load(), p.logs())
	}
	p.stop()
	counts := map[string]int{}
	for _, ev := range readEvents[httpEvent](t, out) {
		counts[ev.Message]++
	}
	missing := 0
	for s := range senders {
		for r := range requests {
			for e := range perRequest {
				if counts[fmt.Sprintf("s%d r%d e%d", s, r, e)] == 0 {
					missing++
				}
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d events lost across the kill -9", missing, senders*requests*perRequest)
	}
}

// TestHTTPSourceRefusesOnce: --once would wait forever for a listening source to end; flicker says so instead.
func TestHTTPSourceRefusesOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := start(t, dir, "-c", writeHTTPSourceConfig(t, dir, freeAddr(t), "", fileOutput(filepath.Join(dir, "out"))), "--once")
	if code := p.wait(30 * time.Second); code != 2 || !strings.Contains(p.logs(), "run without --once") {
		t.Fatalf("exit %d, want 2 with a message; logs:\n%s", code, p.logs())
	}
}
