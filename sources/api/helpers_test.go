package api_test

import (
	"context"
	"encoding/json"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
	"github.com/flickerlog/flicker/internal/syncbuf"
	"github.com/flickerlog/flicker/sources/api"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memRegistry is an in-memory api.Registry. Frozen, it drops saves: what a crash loses when the state was not
// persisted (or snapshotted) yet.
type memRegistry struct {
	mu      sync.Mutex
	cursors map[string]api.Cursor
	saves   int
	frozen  bool
}

func newRegistry() *memRegistry { return &memRegistry{cursors: make(map[string]api.Cursor)} }

func (r *memRegistry) Load(input string) (api.Cursor, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.cursors[input]
	return c, ok, nil
}

func (r *memRegistry) Save(input string, c api.Cursor) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.frozen {
		return
	}
	r.cursors[input] = c
	r.saves++
}

// ParamsSum stands in for the store's keyed hash: equal for equal params, different otherwise (it is no secret
// here).
func (r *memRegistry) ParamsSum(params map[string]string) string {
	if len(params) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(params) // sorted keys
	return string(b)
}

func (r *memRegistry) get(input string) (api.Cursor, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.cursors[input]
	return c, ok
}

func (r *memRegistry) freeze() {
	r.mu.Lock()
	r.frozen = true
	r.mu.Unlock()
}

// copyOf returns an unfrozen registry with r's cursors: the state a restarted process finds.
func (r *memRegistry) copyOf() *memRegistry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return &memRegistry{cursors: maps.Clone(r.cursors)}
}

func (r *memRegistry) saveCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.saves
}

// got is an event a recordSink accepted, with its bytes copied.
type got struct {
	ID, Message, Extra, Fields, Input, Type string
	Time                                    time.Time
	Offset                                  int64
}

// recordSink accepts every event and records it.
type recordSink struct {
	mu     sync.Mutex
	events []got
}

func (s *recordSink) Write(_ context.Context, b *engine.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range b.Events {
		ev := &b.Events[i]
		g := got{ID: string(ev.ID), Message: string(ev.Message), Time: ev.Time, Offset: ev.Offset,
			Extra: string(ev.Stream.Extra)}
		if in := ev.Stream.Input; in != nil {
			g.Input, g.Type, g.Fields = in.Name, in.Type, string(in.FieldsJSON)
		}
		s.events = append(s.events, g)
	}
	return nil
}

func (s *recordSink) Close(context.Context) error { return nil }

func (s *recordSink) all() []got {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]got(nil), s.events...)
}

func (s *recordSink) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}

func (s *recordSink) ids() []string {
	var out []string
	for _, g := range s.all() {
		out = append(out, g.ID)
	}
	return out
}

func newPipeline(t testing.TB, sink engine.Sink) *engine.Pipeline {
	t.Helper()
	p, err := engine.New(engine.Options{
		Outputs:      []engine.Output{{Name: "rec", Sink: sink, Retry: engine.RetryPolicy{Initial: time.Millisecond, Max: 4 * time.Millisecond}}},
		Batch:        engine.BatchLimits{MaxWait: 2 * time.Millisecond},
		DrainTimeout: 10 * time.Second,
		Logger:       zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// running is a pipeline running a source in the background.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

// start runs src through a new pipeline into sink until stop.
func start(t testing.TB, src *api.Source, sink engine.Sink) *running {
	t.Helper()
	p := newPipeline(t, sink)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Run(ctx, []engine.Source{src}) }()
	t.Cleanup(func() { _ = r.stop(t) })
	return r
}

// stop cancels the run and waits until the pipeline drained and returned.
func (r *running) stop(t testing.TB) error {
	t.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if !ok {
			return nil
		}
		close(r.done)
		return err
	case <-time.After(time.Minute):
		t.Fatal("the pipeline did not stop within a minute")
		return nil
	}
}

// runOnce runs a once-mode src through a new pipeline into sink until it returns.
func runOnce(t testing.TB, src *api.Source, sink engine.Sink) error {
	t.Helper()
	p := newPipeline(t, sink)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := p.Run(ctx, []engine.Source{src})
	if ctx.Err() != nil {
		t.Fatal("the once-mode run did not end within a minute")
	}
	return err
}

// oktaConfig is a defaulted, validated okta source of endpoint with a short polling interval.
func oktaConfig(t testing.TB, endpoint, token string) api.Config {
	t.Helper()
	return oktaConfigAuth(t, endpoint, api.Auth{OktaToken: token})
}

func oktaConfigAuth(t testing.TB, endpoint string, auth api.Auth) api.Config {
	t.Helper()
	c := api.Config{Name: "okta-audit", Type: "okta", Endpoint: endpoint, Auth: auth,
		PollingFrequency: 20 * time.Millisecond, Params: map[string]string{"limit": "1000"}}
	return valid(t, c)
}

func valid(t testing.TB, c api.Config) api.Config {
	t.Helper()
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	return c
}

// fastOptions retry quickly.
func fastOptions() api.Options {
	return api.Options{AuthRetry: 30 * time.Millisecond, BackoffInitial: time.Millisecond,
		BackoffMax: 10 * time.Millisecond}
}

func newSource(t testing.TB, reg api.Registry, opts api.Options, log zerolog.Logger, cfgs ...api.Config) *api.Source {
	t.Helper()
	src, err := api.New(cfgs, reg, opts, log)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func logger() (zerolog.Logger, *syncbuf.Buffer) {
	buf := &syncbuf.Buffer{}
	return zerolog.New(buf), buf
}

// checkOnce fails unless ids holds every id of want exactly once and nothing else.
func checkOnce(t testing.TB, want, ids []string) {
	t.Helper()
	count := make(map[string]int, len(ids))
	for _, id := range ids {
		count[id]++
	}
	for _, id := range want {
		if count[id] != 1 {
			t.Fatalf("id %s delivered %d times, want once (%d ids delivered, %d wanted)", id, count[id], len(ids),
				len(want))
		}
	}
	if len(ids) != len(want) {
		t.Fatalf("%d events delivered, want %d", len(ids), len(want))
	}
}

func waitLen(t testing.TB, sink *recordSink, n int) {
	t.Helper()
	enginetest.Eventually(t, time.Minute, func() bool { return sink.len() >= n },
		"the sink did not get the events in time")
}

// shipAll runs src into a new recording sink until it holds n events, stops the run and returns the sink.
func shipAll(t testing.TB, src *api.Source, n int) *recordSink {
	t.Helper()
	sink := &recordSink{}
	run := start(t, src, sink)
	waitLen(t, sink, n)
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
	return sink
}

// field returns a top-level string field of a JSON object.
func field(t testing.TB, msg, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(msg), &m); err != nil {
		t.Fatalf("message is not JSON: %v: %.80s", err, msg)
	}
	s, _ := m[name].(string)
	return s
}
