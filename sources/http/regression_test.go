package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	httpsrc "github.com/flickerlog/flicker/sources/http"
)

// custom is a source on a loopback listener in a pipeline of the caller's options, beside other sources; wrap,
// when set, stands between the pipeline and the source (a Publisher decorator).
type custom struct {
	url    string
	src    *httpsrc.Source
	pipe   *engine.Pipeline
	cancel func()
	ran    chan struct{} // closed when the pipeline's Run returned
}

func startCustom(t *testing.T, cfg httpsrc.Config, opts httpsrc.Options, eo engine.Options,
	wrap func(engine.Source) engine.Source, others ...engine.Source) *custom {
	t.Helper()
	cfg.Name, cfg.Address = "ingest", "127.0.0.1:0"
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
	if eo.Batch.MaxWait == 0 {
		eo.Batch.MaxWait = 5 * time.Millisecond
	}
	eo.Logger = zerolog.Nop()
	pipe, err := engine.New(eo)
	if err != nil {
		t.Fatal(err)
	}
	var s engine.Source = src
	if wrap != nil {
		s = wrap(src)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &custom{url: "http://" + ln.Addr().String(), src: src, pipe: pipe, cancel: cancel, ran: make(chan struct{})}
	go func() {
		_ = pipe.Run(ctx, append([]engine.Source{s}, others...))
		close(c.ran)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-c.ran:
		case <-time.After(time.Minute):
			t.Error("the pipeline did not stop within a minute")
		}
	})
	return c
}

// rejectSink rejects the events whose message is "bad", without a dead letter, and takes the others.
type rejectSink struct {
	mu sync.Mutex
	n  int
}

func (s *rejectSink) Write(_ context.Context, b *engine.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range b.Events {
		if string(b.Events[i].Message) == "bad" {
			b.Reject(i, errors.New(`mapper_parsing_exception: "bad"`))
		} else {
			s.n++
		}
	}
	return nil
}
func (s *rejectSink) Close(context.Context) error { return nil }

// Events an output rejects without a dead letter are lost: the sender is told, not answered 200.
// Regression: every endpoint answered 200 (the bulk items 201).
func TestEventsRejectedWithoutDeadLetterAreReported(t *testing.T) {
	t.Parallel()
	sink := &rejectSink{}
	c := startCustom(t, httpsrc.Config{}, httpsrc.Options{}, engine.Options{Outputs: []engine.Output{{Name: "es", Sink: sink}}}, nil)
	r := send(t, "POST", c.url+"/", []byte(`"ok"`+"\n"+`"bad"`+"\n"))
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "1 of the request's 2 events were rejected") ||
		!strings.Contains(string(r.body), "mapper_parsing_exception") {
		t.Errorf("POST / with a rejected event: %d %s, want 400 naming the rejection", r.status, r.body)
	}
	r = send(t, "POST", c.url+"/services/collector/event", []byte(`{"event":"bad"}{"event":"ok"}`))
	if r.status != http.StatusBadRequest {
		t.Errorf("HEC with a rejected event: %d %s, want 400", r.status, r.body)
	}
	r = send(t, "POST", c.url+"/_bulk", []byte("{\"index\":{\"_index\":\"x\"}}\n{\"message\":\"ok\"}\n{\"index\":{\"_index\":\"x\"}}\n{\"message\":\"bad\"}\n"))
	var ans struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Status int `json:"status"`
			Error  struct {
				Reason string `json:"reason"`
			} `json:"error"`
		} `json:"items"`
	}
	if err := json.Unmarshal(r.body, &ans); err != nil || r.status != 200 || !ans.Errors || len(ans.Items) != 2 {
		t.Fatalf("_bulk with a rejected event: %d %s (%v), want 200 with errors", r.status, r.body, err)
	}
	if ok, bad := ans.Items[0]["index"], ans.Items[1]["index"]; ok.Status != 201 || bad.Status != 400 ||
		!strings.Contains(bad.Error.Reason, `mapper_parsing_exception: "bad"`) {
		t.Errorf("_bulk items %+v, want 201 then 400 with the output's reason", ans.Items)
	}
	st, _ := c.src.Stats("ingest")
	if st.Rejected[httpsrc.RejectOutput] != 3 {
		t.Errorf("rejected{output} = %d, want 3", st.Rejected[httpsrc.RejectOutput])
	}
	if r := send(t, "POST", c.url+"/", []byte(`"ok"`+"\n")); r.status != 200 {
		t.Errorf("a request without rejections: %d %s", r.status, r.body)
	}
}

// peakHeap samples the heap in use until stop is closed and returns the largest value seen.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-stop:
				out <- peak
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return out
}

// A small body of tiny events cannot take gigabytes: the events' cost is reserved as they are parsed, and a
// request whose events alone pass the budget gets 413. Regression: 2 MiB of "1\n" (1M events) was accepted with
// a heap peak of ~650 MiB.
func TestTinyEventsAreBoundedInMemory(t *testing.T) {
	c := startCustom(t, httpsrc.Config{MaxBodyBytes: 4 << 20}, httpsrc.Options{}, engine.Options{Queue: engine.QueueLimits{MaxEvents: 2 << 20},
		Outputs: []engine.Output{{Name: "o", Sink: &rejectSink{}}}}, nil)
	body := bytes.Repeat([]byte("1\n"), 1<<20)
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	stop := make(chan struct{})
	peak := peakHeap(stop)
	r := send(t, "POST", c.url+"/", body)
	close(stop)
	grew := int64(<-peak) - int64(base.HeapInuse)
	if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(string(r.body), "split the request") {
		t.Errorf("2 MiB of 1M events: %d %s, want 413 saying to split the request", r.status, r.body)
	}
	t.Logf("heap grew by %d MiB", grew>>20)
	if grew > 200<<20 {
		t.Errorf("the heap grew by %d MiB for a 2 MiB request, want well under 200", grew>>20)
	}
	if r := send(t, "POST", c.url+"/", bytes.Repeat([]byte("1\n"), 1000)); r.status != 200 {
		t.Errorf("1000 events: %d %s, want 200", r.status, r.body)
	}
}

// A request with more events than the whole queue holds is refused with 413, not admitted alone into an empty
// queue past its bounds.
func TestRequestLargerThanTheQueueIs413(t *testing.T) {
	t.Parallel()
	c := startCustom(t, httpsrc.Config{}, httpsrc.Options{}, engine.Options{Queue: engine.QueueLimits{MaxEvents: 10},
		Outputs: []engine.Output{{Name: "o", Sink: &rejectSink{}}}}, nil)
	r := send(t, "POST", c.url+"/", bytes.Repeat([]byte("\"e\"\n"), 11))
	if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(string(r.body), "queue.max_events") {
		t.Errorf("11 events into a queue of 10: %d %s, want 413 naming queue.max_events", r.status, r.body)
	}
	if q := c.pipe.Stats().QueueEvents; q != 0 {
		t.Errorf("the queue holds %d events", q)
	}
	if r := send(t, "POST", c.url+"/", bytes.Repeat([]byte("\"e\"\n"), 10)); r.status != 200 {
		t.Errorf("10 events: %d %s, want 200", r.status, r.body)
	}
}

// zstd frames declaring a large window, held open by slow senders, cannot pile up decoder memory: each decoder's
// window is reserved in the budget first, the others get 429. Regression: 16 stalled 20-byte requests took
// ~149 MiB of heap.
func TestStalledZstdSendersAreBounded(t *testing.T) {
	c := startCustom(t, httpsrc.Config{}, httpsrc.Options{}, engine.Options{Outputs: []engine.Output{{Name: "o", Sink: &rejectSink{}}}}, nil)
	var frame bytes.Buffer
	enc, err := zstd.NewWriter(&frame, zstd.WithWindowSize(8<<20), zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = enc.Write([]byte(strings.Repeat(`"x"`+"\n", 10)))
	_ = enc.Flush()
	head := bytes.Clone(frame.Bytes())
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 16
	answers := make(chan int, n)
	var writers []*io.PipeWriter
	for range n {
		pr, pw := io.Pipe()
		writers = append(writers, pw)
		req, _ := http.NewRequest("POST", c.url+"/", pr)
		req.Header.Set("Content-Encoding", "zstd")
		go func() {
			resp, err := testClient.Do(req)
			if err != nil {
				answers <- -1
				return
			}
			resp.Body.Close()
			answers <- resp.StatusCode
		}()
		go func() { _, _ = pw.Write(head) }()
	}
	defer func() {
		for _, w := range writers {
			w.CloseWithError(io.ErrUnexpectedEOF)
		}
	}()
	refused := 0
	for refused < n-4 { // at most 4 decoders fit beside each other: 40 MiB of budget, 16 MiB each
		select {
		case s := <-answers:
			if s != http.StatusTooManyRequests {
				t.Fatalf("a stalled zstd request was answered %d, want 429 for those beyond the budget", s)
			}
			refused++
		case <-time.After(30 * time.Second):
			t.Fatalf("%d of %d stalled zstd requests refused, want at least %d: decoders are not bounded", refused, n, n-4)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 80<<20 {
		t.Errorf("%d stalled zstd requests: heap grew by %d MiB, want under 80", n, grew>>20)
	}
	if st, _ := c.src.Stats("ingest"); st.BodyBytesInFlight > 4*httpsrc.DefaultMaxBodyBytes {
		t.Errorf("%d bytes reserved, past the budget", st.BodyBytesInFlight)
	}
}

type slowSink struct{}

func (slowSink) Write(context.Context, *engine.Batch) error {
	time.Sleep(10 * time.Millisecond)
	return nil
}
func (slowSink) Close(context.Context) error { return nil }

// busySource keeps the queue full with a blocking Publish, like a file source with a backlog.
type busySource struct{}

func (busySource) Run(ctx context.Context, pub engine.Publisher) error {
	st := engine.NewStream(&engine.Input{Name: "files", Type: "file"}, func(int64) {})
	for pos := int64(1); ctx.Err() == nil; pos++ {
		if err := pub.Publish(ctx, []engine.Event{{Stream: st, Pos: pos, Offset: pos, Message: []byte("line")}}); err != nil {
			return nil
		}
	}
	return nil
}

// HTTP senders beside a source that blocks in Publish get their turn: a refused request waits in line for room
// instead of needing it all at one instant. Regression: 2 answers 200 to 256 answers 429 in 3 s.
func TestSendersBesideABlockingPublisherAreServed(t *testing.T) {
	t.Parallel()
	c := startCustom(t, httpsrc.Config{}, httpsrc.Options{}, engine.Options{Queue: engine.QueueLimits{MaxEvents: 200},
		Batch: engine.BatchLimits{MaxEvents: 50}, Outputs: []engine.Output{{Name: "o", Sink: slowSink{}}}}, nil, busySource{})
	eventually(t, func() bool { return c.pipe.Stats().QueueEvents > 150 }, "the blocking publisher does not fill the queue")
	codes := map[int]int{}
	for range 10 {
		r := sendAsync("POST", c.url+"/", bytes.Repeat([]byte("\"e\"\n"), 10))
		codes[r.status]++
	}
	if codes[200] < 8 {
		t.Fatalf("answers beside a blocking publisher: %v, want (nearly) all 200", codes)
	}
}

// pausedSource hands its source a Publisher that refuses like flicker's lease gate while the lease is unconfirmed.
type pausedSource struct{ engine.Source }

type pausedPublisher struct{ engine.Publisher }

func (pausedPublisher) TryPublish([]engine.Event) (bool, error) { return false, engine.ErrPaused }
func (pausedPublisher) TryPublishWait(context.Context, []engine.Event, time.Duration) (bool, error) {
	return false, engine.ErrPaused
}

func (s pausedSource) Run(ctx context.Context, pub engine.Publisher) error {
	return s.Source.Run(ctx, pausedPublisher{pub})
}

// A lease pause is not a full queue: 503 "lease unconfirmed", counted as paused. Regression: 429 queue full.
func TestLeasePauseAnswers503(t *testing.T) {
	t.Parallel()
	c := startCustom(t, httpsrc.Config{}, httpsrc.Options{}, engine.Options{Outputs: []engine.Output{{Name: "o", Sink: slowSink{}}}},
		func(s engine.Source) engine.Source { return pausedSource{s} })
	r := send(t, "POST", c.url+"/", []byte(`"e"`+"\n"))
	if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "lease unconfirmed") || r.header.Get("Retry-After") == "" {
		t.Fatalf("while paused: %d %s, want 503 lease unconfirmed with Retry-After", r.status, r.body)
	}
	if st, _ := c.src.Stats("ingest"); st.Rejected[httpsrc.RejectPaused] != 1 || st.TooManyRequests != 0 {
		t.Fatalf("rejected %v, 429s %d: want one paused, no 429", st.Rejected, st.TooManyRequests)
	}
}

// plainPublisher hides the pipeline's TryPublisher.
type plainPublisher struct{ pub engine.Publisher }

func (p plainPublisher) Publish(ctx context.Context, evs []engine.Event) error {
	return p.pub.Publish(ctx, evs)
}

// Without TryPublish a request cannot be queued whole: Run fails instead of queueing parts of requests.
func TestRunFailsWithoutTryPublish(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := httpsrc.Config{Name: "ingest", Address: "127.0.0.1:0"}
	cfg.SetDefaults()
	src, err := httpsrc.New([]httpsrc.Config{cfg}, httpsrc.Options{Listeners: []net.Listener{ln}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = src.Run(ctx, plainPublisher{})
	if err == nil || !strings.Contains(err.Error(), "TryPublisher") {
		t.Fatalf("Run with a publisher without TryPublish = %v, want an error naming TryPublisher", err)
	}
}

// brokenListener stops accepting after the first call.
type brokenListener struct{ net.Listener }

func (l brokenListener) Accept() (net.Conn, error) {
	return nil, errors.New("accept: the socket is gone")
}

// A listener that stops serving fails the run. Regression: it was logged and the source kept running, deaf.
func TestListenerFailureFailsRun(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := httpsrc.Config{Name: "ingest", Address: "127.0.0.1:0"}
	cfg.SetDefaults()
	src, err := httpsrc.New([]httpsrc.Config{cfg}, httpsrc.Options{Listeners: []net.Listener{brokenListener{ln}}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	pipe, err := engine.New(engine.Options{Outputs: []engine.Output{{Name: "o", Sink: slowSink{}}}, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := pipe.Run(ctx, []engine.Source{src}); err == nil || !strings.Contains(err.Error(), "socket is gone") {
		t.Fatalf("Run = %v, want the listener's error", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Run waited for the context instead of failing")
	}
}

// A stop is bounded by the stop budget: a request still waiting for a blocked output is answered 503 (stopping)
// when the budget is nearly spent, and Run returns after its handler. Regression: it waited ack_timeout + 5 s.
func TestStopIsBoundedByTheStopTimeout(t *testing.T) {
	t.Parallel()
	sink := &jsonSink{}
	sink.Block()
	c := startCustom(t, httpsrc.Config{AckTimeout: time.Hour}, httpsrc.Options{StopTimeout: 300 * time.Millisecond},
		engine.Options{Outputs: []engine.Output{{Name: "o", Sink: sink}}, DrainTimeout: 100 * time.Millisecond}, nil)
	answered := make(chan response, 1)
	go func() { answered <- sendAsync("POST", c.url+"/", []byte(`"a"`+"\n")) }()
	eventually(t, func() bool { return sink.Writes() > 0 }, "the output never got the batch")
	c.cancel()
	var r response
	select {
	case r = <-answered:
	case <-time.After(30 * time.Second):
		t.Fatal("no answer within 30 s of the stop, with a stop budget of 300 ms")
	}
	if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "stopping") {
		t.Fatalf("the request waiting at the stop: %d %s %v, want 503 stopping", r.status, r.body, r.err)
	}
	select {
	case <-c.ran:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	sink.Unblock()
	if st, _ := c.src.Stats("ingest"); st.Rejected[httpsrc.RejectStopping] != 1 {
		t.Fatalf("rejected %v, want one stopping", st.Rejected)
	}
}

// A corrupt compressed body is a read error, not a malformed body. Regression: counted as malformed.
func TestReadErrorsAreCountedApart(t *testing.T) {
	t.Parallel()
	s := startServer(t, httpsrc.Config{}, engine.QueueLimits{})
	if r := send(t, "POST", s.url+"/", []byte("not gzip"), "Content-Encoding", "gzip"); r.status != 400 {
		t.Fatalf("corrupt gzip: %d %s", r.status, r.body)
	}
	if r := send(t, "POST", s.url+"/", []byte("{")); r.status != 400 {
		t.Fatalf("malformed: %d %s", r.status, r.body)
	}
	st, _ := s.src.Stats("ingest")
	if st.Rejected[httpsrc.RejectReadError] != 1 || st.Rejected[httpsrc.RejectMalformed] != 1 {
		t.Fatalf("rejected %v, want one read_error and one malformed", st.Rejected)
	}
}

// SetStopTimeout refuses an ack_timeout a stop could not wait for, naming the field.
func TestAckTimeoutMustBeBelowTheStopBudget(t *testing.T) {
	cfg := httpsrc.Config{Name: "ingest", Address: "127.0.0.1:0"}
	cfg.SetDefaults()
	src, err := httpsrc.New([]httpsrc.Config{cfg}, httpsrc.Options{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	err = src.SetStopTimeout(httpsrc.DefaultAckTimeout)
	if err == nil || !strings.Contains(err.Error(), "http_sources[0].ack_timeout") || !strings.Contains(err.Error(), "--shutdown-timeout") {
		t.Fatalf("SetStopTimeout(ack_timeout) = %v, want an error naming http_sources[0].ack_timeout and --shutdown-timeout", err)
	}
	if err := src.SetStopTimeout(httpsrc.DefaultAckTimeout + time.Second); err != nil {
		t.Fatal(err)
	}
}

// Run returns only after every handler returned, even those the end of the stop cut (here, one reading a body
// that stalled). Regression: Run returned once the servers were closed, with handlers still running.
func TestRunWaitsForItsHandlers(t *testing.T) {
	t.Parallel()
	atReturn := make(chan httpsrc.Stats, 1)
	var src *httpsrc.Source
	c := startCustom(t, httpsrc.Config{}, httpsrc.Options{StopTimeout: 200 * time.Millisecond},
		engine.Options{Outputs: []engine.Output{{Name: "o", Sink: slowSink{}}}},
		func(s engine.Source) engine.Source {
			src = s.(*httpsrc.Source)
			return sourceRun(func(ctx context.Context, pub engine.Publisher) error {
				err := src.Run(ctx, pub)
				st, _ := src.Stats("ingest")
				atReturn <- st
				return err
			})
		})
	postStalling(t, c.url, 1000, c.src)
	c.cancel()
	var st httpsrc.Stats
	select {
	case st = <-atReturn:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	if st.BodyBytesInFlight != 0 || st.Rejected[httpsrc.RejectClientGone]+st.Rejected[httpsrc.RejectReadError] != 1 {
		t.Fatalf("when Run returned: %d bytes reserved, rejected %v: the handler was still running", st.BodyBytesInFlight, st.Rejected)
	}
}

type sourceRun func(context.Context, engine.Publisher) error

func (f sourceRun) Run(ctx context.Context, pub engine.Publisher) error { return f(ctx, pub) }

// A sender that stalls mid-body loses its place in the budget within the body's idle timeout (10 s), so a few
// stalled senders cannot keep everyone else at 429 for long. Regression: it held the place for the whole read
// timeout of 2 minutes.
func TestStalledBodyFreesTheBudget(t *testing.T) {
	t.Parallel()
	s := startServer(t, httpsrc.Config{MaxBodyBytes: 1000}, engine.QueueLimits{})
	postStalling(t, s.url, 1000, s.src)
	eventually(t, func() bool { st, _ := s.src.Stats("ingest"); return st.BodyBytesInFlight == 0 },
		"a stalled body kept its place in the budget for 30 s")
}

// The budget holds the room of the bytes that arrived, not the Content-Length a sender announces: one that
// announces max_body_bytes and stalls holds a buffer's worth. Regression: its Content-Length was reserved at once.
func TestAnnouncedLengthIsNotReservedUpFront(t *testing.T) {
	t.Parallel()
	s := startServer(t, httpsrc.Config{}, engine.QueueLimits{})
	postStalling(t, s.url, httpsrc.DefaultMaxBodyBytes, s.src)
	if st, _ := s.src.Stats("ingest"); st.BodyBytesInFlight > 1<<20 {
		t.Fatalf("%d bytes reserved for a body of 4 bytes so far, want a buffer's worth (at most 1 MiB)", st.BodyBytesInFlight)
	}
}
