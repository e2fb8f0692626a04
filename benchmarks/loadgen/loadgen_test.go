package loadgen_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flickerlog/flicker/benchmarks"
	"github.com/flickerlog/flicker/benchmarks/loadgen"
)

// received counts what a test server accepted.
type received struct {
	mu                      sync.Mutex
	requests, events, bytes int64
	messages                map[string]int // message -> times received
}

func (r *received) add(events int64, size int, messages ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	r.events += events
	r.bytes += int64(size)
	if r.messages == nil {
		r.messages = map[string]int{}
	}
	for _, m := range messages {
		r.messages[m]++
	}
}

// ndjsonServer accepts NDJSON bodies whose every line is {"message":"..."} and counts them; answer, when not
// nil, may answer a request itself instead (it gets the request's number, from 0).
func ndjsonServer(t *testing.T, got *received, answer func(n int64, w http.ResponseWriter) bool) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	var n int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		i := n
		n++
		mu.Unlock()
		if answer != nil && answer(i, w) {
			return
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-ndjson" {
			http.Error(w, "want a POST of application/x-ndjson", http.StatusBadRequest)
			return
		}
		var messages []string
		for line := range bytes.Lines(body) {
			var doc map[string]string
			if err := json.Unmarshal(line, &doc); err != nil || len(doc) != 1 || doc["message"] == "" {
				http.Error(w, "line "+strconv.Quote(string(line))+" is not {\"message\":\"...\"}", http.StatusBadRequest)
				return
			}
			messages = append(messages, doc["message"])
		}
		got.add(int64(len(messages)), len(body), messages...)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestPostHTTPCountsWhatTheServerAccepted(t *testing.T) {
	t.Parallel()
	lines := benchmarks.NewLines()
	payload := loadgen.NDJSON(lines.Next, 16<<10, 64<<10) // about 4 bodies, taken 2.5 times over
	var got received
	srv := ndjsonServer(t, &got, nil)
	budget := 2*payload.Bytes() + payload.Bytes()/2
	res, err := loadgen.PostHTTP(context.Background(), srv.URL, payload,
		loadgen.HTTPOptions{Options: loadgen.Options{Senders: 3, Bytes: budget}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != got.events || res.Bytes != got.bytes || res.Requests != got.requests || res.Retries != 0 {
		t.Fatalf("PostHTTP reports %d events, %d bytes, %d requests, %d retries; the server accepted %d, %d, %d",
			res.Events, res.Bytes, res.Requests, res.Retries, got.events, got.bytes, got.requests)
	}
	// The senders take chunks while fewer than budget bytes were taken: whole payloads, then chunks up to the
	// one that reaches the budget.
	wantBytes, wantEvents, wantRequests := int64(0), int64(0), int64(0)
	for i := 0; wantBytes < budget; i = (i + 1) % len(payload.Chunks) {
		wantBytes += int64(len(payload.Chunks[i]))
		wantEvents += payload.Events[i]
		wantRequests++
	}
	if res.Bytes != wantBytes || res.Events != wantEvents || res.Requests != wantRequests {
		t.Fatalf("sent %d bytes, %d events in %d requests for a budget of %d; want %d, %d, %d", res.Bytes,
			res.Events, res.Requests, budget, wantBytes, wantEvents, wantRequests)
	}
	// The events are the plain log's lines, each sent as often as the payload was taken.
	first := benchmarks.NewLines().Next()
	if got.messages[string(first)] < 2 {
		t.Fatalf("the plain log's first line %q arrived %d times, want at least 2", first, got.messages[string(first)])
	}
}

func TestPostHTTPRetriesTheBodyAfterRetryAfter(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status     int
		retryAfter string
		minWait    time.Duration
	}{
		{http.StatusTooManyRequests, "1", time.Second},
		{http.StatusServiceUnavailable, "", 100 * time.Millisecond}, // no Retry-After: a short default
	}
	for _, c := range cases {
		t.Run(strconv.Itoa(c.status), func(t *testing.T) {
			t.Parallel()
			payload := loadgen.NDJSON(benchmarks.NewLines().Next, 4<<10, 12<<10)
			var got received
			var refusedAt, retriedAt time.Time
			srv := ndjsonServer(t, &got, func(n int64, w http.ResponseWriter) bool {
				switch n {
				case 0:
					refusedAt = time.Now()
					if c.retryAfter != "" {
						w.Header().Set("Retry-After", c.retryAfter)
					}
					w.WriteHeader(c.status)
					return true
				case 1:
					retriedAt = time.Now()
				}
				return false
			})
			res, err := loadgen.PostHTTP(context.Background(), srv.URL, payload,
				loadgen.HTTPOptions{Options: loadgen.Options{Senders: 1, Bytes: payload.Bytes()}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Retries != 1 || got.requests != int64(len(payload.Chunks)) || res.Requests != got.requests {
				t.Fatalf("%d retries, %d requests counted, %d accepted by the server; want 1 retry and %d accepted",
					res.Retries, res.Requests, got.requests, len(payload.Chunks))
			}
			var want int64
			for _, e := range payload.Events {
				want += e
			}
			if res.Events != want || got.events != want {
				t.Fatalf("%d events counted, %d accepted, want %d: the refused body was not sent again", res.Events,
					got.events, want)
			}
			if wait := retriedAt.Sub(refusedAt); wait < c.minWait {
				t.Fatalf("retried %s after the %d, want at least %s", wait, c.status, c.minWait)
			}
		})
	}
}

func TestPostHTTPEndsOnAnAnswerItCannotRetry(t *testing.T) {
	t.Parallel()
	payload := loadgen.NDJSON(benchmarks.NewLines().Next, 4<<10, 12<<10)
	srv := ndjsonServer(t, &received{}, func(n int64, w http.ResponseWriter) bool {
		if n == 1 {
			http.Error(w, "malformed body", http.StatusBadRequest)
			return true
		}
		return false
	})
	res, err := loadgen.PostHTTP(context.Background(), srv.URL, payload,
		loadgen.HTTPOptions{Options: loadgen.Options{Senders: 1, Bytes: 10 * payload.Bytes()}})
	if err == nil || !strings.Contains(err.Error(), "400 Bad Request: malformed body") {
		t.Fatalf("PostHTTP: %v, want the 400 and its reason", err)
	}
	if res.Requests != 1 {
		t.Fatalf("%d requests counted, want the 1 accepted before the 400", res.Requests)
	}
}

func TestPostHTTPStopsAfterTheDuration(t *testing.T) {
	t.Parallel()
	payload := loadgen.NDJSON(benchmarks.NewLines().Next, 4<<10, 12<<10)
	var got received
	srv := ndjsonServer(t, &got, nil)
	res, err := loadgen.PostHTTP(context.Background(), srv.URL, payload,
		loadgen.HTTPOptions{Options: loadgen.Options{Senders: 2, Duration: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Requests != got.requests || res.Elapsed < 200*time.Millisecond {
		t.Fatalf("%d requests in %s, the server accepted %d; want some, all counted, over at least 200ms",
			res.Requests, res.Elapsed, got.requests)
	}
}

func TestRunNeedsABudgetOrADuration(t *testing.T) {
	t.Parallel()
	payload := loadgen.NDJSON(benchmarks.NewLines().Next, 4<<10, 4<<10)
	if _, err := loadgen.PostHTTP(context.Background(), "http://127.0.0.1:1/", payload,
		loadgen.HTTPOptions{Options: loadgen.Options{Senders: 1}}); err == nil {
		t.Fatal("PostHTTP without a budget or a duration: no error, want one (it would never stop)")
	}
}

// syslogListener accepts conns connections on 127.0.0.1 and reads framing's frames from each until it closes,
// checking each with parseRFC5424; wait returns once all of them are read.
func syslogListener(t *testing.T, framing loadgen.Framing, conns int, got *received) (addr string, wait func() error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	wg.Go(func() {
		for range conns {
			conn, err := l.Accept()
			if err != nil {
				errs <- err
				return
			}
			wg.Go(func() {
				defer conn.Close()
				if err := readFrames(bufio.NewReader(conn), framing, got); err != nil {
					errs <- err
				}
			})
		}
	})
	return l.Addr().String(), func() error {
		wg.Wait()
		close(errs)
		return errors.Join(func() (all []error) {
			for err := range errs {
				all = append(all, err)
			}
			return all
		}()...)
	}
}

func readFrames(r *bufio.Reader, framing loadgen.Framing, got *received) error {
	for {
		var frame []byte
		var size int
		if framing == loadgen.OctetCounted {
			length, err := r.ReadString(' ')
			if err == io.EOF && length == "" {
				return nil
			}
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(strings.TrimSuffix(length, " "))
			if err != nil || n < 1 || length[0] == '0' {
				return errors.New("octet count " + strconv.Quote(length))
			}
			frame = make([]byte, n)
			if _, err := io.ReadFull(r, frame); err != nil {
				return err
			}
			size = len(length) + n
		} else {
			line, err := r.ReadBytes('\n')
			if err == io.EOF && len(line) == 0 {
				return nil
			}
			if err != nil {
				return err
			}
			frame, size = line[:len(line)-1], len(line)
		}
		m, err := parseRFC5424(frame)
		if err != nil {
			return errors.New("frame " + strconv.Quote(string(frame)) + ": " + err.Error())
		}
		if m.Priority != 134 || m.Timestamp.IsZero() || !strings.HasPrefix(m.Hostname, "web-") ||
			!strings.HasPrefix(m.StructuredData, `[bench@32473 seq="`) || !bytes.Contains(m.Message, []byte(" host="+m.Hostname+" ")) {
			return errors.New("frame " + strconv.Quote(string(frame)) + ": not the plain log's line with its time and host")
		}
		got.add(1, size, string(m.Message))
	}
}

func TestSendTCPWritesRFC5424Frames(t *testing.T) {
	t.Parallel()
	for _, framing := range []loadgen.Framing{loadgen.OctetCounted, loadgen.NewlineFramed} {
		t.Run(framing.String(), func(t *testing.T) {
			t.Parallel()
			payload := loadgen.Syslog(benchmarks.NewLines().Next, framing, 8<<10, 40<<10)
			var got received
			addr, wait := syslogListener(t, framing, 3, &got)
			res, err := loadgen.SendTCP(context.Background(), addr, payload,
				loadgen.Options{Senders: 3, Bytes: 2 * payload.Bytes()})
			if err != nil {
				t.Fatal(err)
			}
			if err := wait(); err != nil {
				t.Fatal(err)
			}
			var events int64
			for _, e := range payload.Events {
				events += e
			}
			if res.Bytes != 2*payload.Bytes() || res.Events != 2*events {
				t.Fatalf("sent %d bytes, %d events; want the payload twice: %d, %d", res.Bytes, res.Events,
					2*payload.Bytes(), 2*events)
			}
			if got.events != res.Events || got.bytes != res.Bytes {
				t.Fatalf("the listener read %d frames, %d bytes; SendTCP reports %d, %d", got.events, got.bytes,
					res.Events, res.Bytes)
			}
			if first := benchmarks.NewLines().Next(); got.messages[string(first)] != 2 {
				t.Fatalf("the plain log's first line arrived %d times, want 2", got.messages[string(first)])
			}
		})
	}
}

func TestSendTCPFailsWithoutAListener(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	payload := loadgen.Syslog(benchmarks.NewLines().Next, loadgen.OctetCounted, 4<<10, 4<<10)
	if _, err := loadgen.SendTCP(context.Background(), addr, payload, loadgen.Options{Senders: 2, Bytes: 1}); err == nil {
		t.Fatal("SendTCP to a closed port: no error")
	}
}
