package httpout_test

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
	httpout "github.com/flickerlog/flicker/sinks/http"
)

func TestFormatsAndCompression(t *testing.T) {
	tests := []struct {
		format, compression string
		contentType         string
		gzip                bool
	}{
		{"", "", "application/x-ndjson", true}, // the defaults
		{httpout.FormatNDJSON, httpout.CompressionNone, "application/x-ndjson", false},
		{httpout.FormatJSONArray, httpout.CompressionGzip, "application/json", true},
		{httpout.FormatJSONArray, httpout.CompressionNone, "application/json", false},
	}
	for _, tt := range tests {
		t.Run(tt.format+"_"+tt.compression, func(t *testing.T) {
			c := newCollector(t, nil)
			s := newSink(t, c.url(), httpout.Config{Format: tt.format, Compression: tt.compression}, zerolog.Nop())
			evs := events(testStream("/var/log/a.log"), 0, 100)
			evs[3].Message = []byte("quote \" backslash \\ newline \n tab \t é \xff")
			b := engine.NewBatch(evs)
			if err := s.Write(t.Context(), b); err != nil {
				t.Fatal(err)
			}
			reqs := c.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if got := r.header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if got := r.header.Get("Content-Encoding") == "gzip"; got != tt.gzip {
				t.Errorf("gzip encoded: %t, want %t", got, tt.gzip)
			}
			if len(r.messages) != len(evs) {
				t.Fatalf("%d events decoded, want %d", len(r.messages), len(evs))
			}
			for i, m := range r.messages {
				want := string(evs[i].Message)
				if i == 3 {
					want = strings.ToValidUTF8(want, "\uFFFD")
				}
				if m != want {
					t.Errorf("event %d: message %q, want %q", i, m, want)
				}
				if id := string(evs[i].AppendID(nil)); r.ids[i] != id {
					t.Errorf("event %d: id %q, want %q", i, r.ids[i], id)
				}
				if st, err := b.Status(i); st != engine.Accepted {
					t.Errorf("event %d: status %v (%v), want accepted", i, st, err)
				}
			}
			if s.InvalidUTF8() != 1 {
				t.Errorf("InvalidUTF8 %d, want 1", s.InvalidUTF8())
			}
		})
	}
}

func TestGzipShrinksTheBody(t *testing.T) {
	sizes := map[string]int{}
	for _, comp := range []string{httpout.CompressionGzip, httpout.CompressionNone} {
		c := newCollector(t, nil)
		s := newSink(t, c.url(), httpout.Config{Compression: comp}, zerolog.Nop())
		if err := s.Write(t.Context(), engine.NewBatch(events(testStream("/a"), 0, 500))); err != nil {
			t.Fatal(err)
		}
		sizes[comp] = c.requests()[0].wire
	}
	if sizes[httpout.CompressionGzip]*3 > sizes[httpout.CompressionNone] {
		t.Errorf("gzip body %d bytes, plain %d: repetitive events should compress at least 3x", sizes["gzip"],
			sizes["none"])
	}
}

func TestHeadersAndAuth(t *testing.T) {
	tests := []struct {
		name    string
		auth    httpout.Auth
		headers map[string]string
		want    map[string]string // header -> value the collector must see
		host    string
	}{
		{name: "bearer", auth: httpout.Auth{BearerToken: "tok-123"},
			want: map[string]string{"Authorization": "Bearer tok-123"}},
		{name: "basic", auth: httpout.Auth{Username: "ship", Password: "pa:ss"},
			want: map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("ship:pa:ss"))}},
		{name: "headers", headers: map[string]string{"X-Tenant": "blue", "x-api-key": "k1",
			"Content-Type": "application/vnd.custom+ndjson", "Host": "logs.example.com"},
			want: map[string]string{"X-Tenant": "blue", "X-Api-Key": "k1",
				"Content-Type": "application/vnd.custom+ndjson", "Authorization": ""},
			host: "logs.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCollector(t, nil)
			s := newSink(t, c.url(), httpout.Config{Auth: tt.auth, Headers: tt.headers}, zerolog.Nop())
			if err := s.Write(t.Context(), engine.NewBatch(events(testStream("/a"), 0, 3))); err != nil {
				t.Fatal(err)
			}
			r := c.requests()[0]
			h := r.header
			for k, v := range tt.want {
				if got := h.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if tt.host != "" && r.host != tt.host {
				t.Errorf("Host %q, want %q", r.host, tt.host)
			}
			if len(h.Get("Idempotency-Key")) != 32 {
				t.Errorf("Idempotency-Key %q: want 32 hex digits", h.Get("Idempotency-Key"))
			}
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	c := newCollector(t, nil)
	st := testStream("/var/log/a.log")
	write := func(cfg httpout.Config, evs []engine.Event) string {
		t.Helper()
		s := newSink(t, c.url(), cfg, zerolog.Nop())
		if err := s.Write(t.Context(), engine.NewBatch(evs)); err != nil {
			t.Fatal(err)
		}
		reqs := c.requests()
		return reqs[len(reqs)-1].header.Get("Idempotency-Key")
	}
	first := write(httpout.Config{}, events(st, 0, 10))
	// The same events again, from another sink (a replay after a restart), with another encoding and time.
	replay := events(testStream("/var/log/a.log"), 0, 10)
	for i := range replay {
		replay[i].Time = replay[i].Time.Add(time.Hour)
	}
	if got := write(httpout.Config{Compression: httpout.CompressionNone}, replay); got != first {
		t.Errorf("same events: key %s, then %s", first, got)
	}
	different := map[string][]engine.Event{
		"one event fewer":  events(st, 0, 9),
		"one event more":   events(st, 0, 11),
		"shifted by one":   events(st, 1, 10),
		"other stream":     events(testStream("/var/log/b.log"), 0, 10),
		"own ids":          withIDs(events(st, 0, 10), "a"),
		"own ids, shifted": withIDs(events(st, 0, 10), "b"),
	}
	seen := map[string]string{first: "the first write"}
	for name, evs := range different {
		key := write(httpout.Config{}, evs)
		if prev, ok := seen[key]; ok {
			t.Errorf("%s: key %s equals the key of %s", name, key, prev)
		}
		seen[key] = name
	}
	if key := write(httpout.Config{Format: httpout.FormatJSONArray}, events(st, 0, 10)); key == first {
		t.Errorf("a json_array body has the key of the ndjson body of the same events")
	}
}

// withIDs gives each event its own id, prefix + index.
func withIDs(evs []engine.Event, prefix string) []engine.Event {
	for i := range evs {
		evs[i].ID = []byte(prefix + strconv.Itoa(i))
	}
	return evs
}

func TestKeyIsStableAcrossRetries(t *testing.T) {
	c := newCollector(t, func(n int, _ *received) reply {
		if n < 2 {
			return reply{status: http.StatusServiceUnavailable}
		}
		return reply{}
	})
	runPipeline(t, newSink(t, c.url(), httpout.Config{}, zerolog.Nop()),
		map[string][][]byte{"s0": {[]byte("a s0 0"), []byte("b s0 1")}})
	reqs := c.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		if r.header.Get("Idempotency-Key") != reqs[0].header.Get("Idempotency-Key") {
			t.Errorf("request %d: key %s, want the first request's %s", i, r.header.Get("Idempotency-Key"),
				reqs[0].header.Get("Idempotency-Key"))
		}
	}
}

func TestTLS(t *testing.T) {
	c := newCollector(t, nil)
	// On 127.0.0.1, with a self-signed certificate; the handshakes refused on purpose are not logged.
	tlsSrv := httptest.NewUnstartedServer(c.srv.Config.Handler)
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw})
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	url := tlsSrv.URL + "/ingest"

	t.Run("untrusted certificate is retried", func(t *testing.T) {
		s := newSink(t, url, httpout.Config{}, zerolog.Nop())
		b := engine.NewBatch(events(testStream("/a"), 0, 2))
		err := s.Write(t.Context(), b)
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("write: %v, want a certificate error", err)
		}
		if st, _ := b.Status(0); st != engine.Retry {
			t.Errorf("status %v, want retry", st)
		}
	})
	t.Run("ca_file", func(t *testing.T) {
		s := newSink(t, url, httpout.Config{CAFile: caFile}, zerolog.Nop())
		if err := s.Write(t.Context(), engine.NewBatch(events(testStream("/a"), 0, 2))); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("insecure_skip_verify warns", func(t *testing.T) {
		var logs logBuffer
		s := newSink(t, url, httpout.Config{InsecureSkipVerify: true}, zerolog.New(&logs))
		if err := s.Write(t.Context(), engine.NewBatch(events(testStream("/a"), 0, 2))); err != nil {
			t.Fatal(err)
		}
		if w := logs.entries(t, "warn"); len(w) != 1 || !strings.Contains(w[0]["message"].(string), "insecure") {
			t.Errorf("warnings %v, want one about insecure_skip_verify", w)
		}
	})
	t.Run("ca_file without certificates", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.pem")
		if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := httpout.New(httpout.Config{URL: url, CAFile: bad}, zerolog.Nop()); err == nil ||
			!strings.Contains(err.Error(), "no PEM certificate") {
			t.Fatalf("New: %v, want an error about the ca_file", err)
		}
		if _, err := httpout.New(httpout.Config{URL: url, CAFile: bad + ".missing"}, zerolog.Nop()); !errors.Is(err,
			os.ErrNotExist) {
			t.Fatalf("New: %v, want not-exist", err)
		}
	})
	if n := len(c.requests()); n != 2 {
		t.Errorf("the TLS server received %d requests, want 2 (ca_file and insecure_skip_verify)", n)
	}
}

func TestDeadLetterBodyCarriesReasons(t *testing.T) {
	c := newCollector(t, nil)
	dl := newSink(t, c.url(), httpout.Config{}, zerolog.Nop())
	rejecting := enginetest.NewMemorySink()
	rejecting.RejectWhen(func(*engine.Event) bool { return true })
	src := enginetest.NewPullSource(&engine.Input{Name: "app", Type: "file"},
		map[string][][]byte{"s0": {[]byte("x s0 0"), []byte("y s0 1")}})
	p, err := engine.New(engine.Options{
		Batch:   engine.BatchLimits{MaxEvents: 10, MaxWait: 5 * time.Millisecond},
		Outputs: []engine.Output{{Name: "primary", Sink: rejecting, DeadLetter: dl, Retry: fastRetry}},
		Logger:  zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := p.Run(ctx, []engine.Source{src}); err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, r := range c.requests() {
		reasons = append(reasons, r.reasons...)
	}
	if len(reasons) != 2 || !slices.ContainsFunc(reasons, func(r string) bool { return strings.Contains(r, "primary") }) {
		t.Errorf("dead-letter reasons %q, want two naming the output primary", reasons)
	}
}
