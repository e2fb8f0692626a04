package elasticsearch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/syncbuf"
	"github.com/flickerlog/flicker/sinks/elasticsearch"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var testTime = time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC)

// newSink returns a sink for cfg, closed at cleanup.
func newSink(t testing.TB, cfg elasticsearch.Config) *elasticsearch.Sink {
	t.Helper()
	return newLoggingSink(t, cfg, zerolog.Nop())
}

// newLoggingSink returns a sink for cfg logging to log, closed at cleanup.
func newLoggingSink(t testing.TB, cfg elasticsearch.Config, log zerolog.Logger) *elasticsearch.Sink {
	t.Helper()
	s, err := elasticsearch.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func testStream() *engine.Stream {
	in := &engine.Input{Name: "app", Type: "file", FieldsJSON: []byte(`,"fields":{"env":"test"}`)}
	st := engine.NewStream(in, func(int64) {})
	st.Path = "/var/log/app.log"
	st.IDSeed = engine.SeedID([]byte("app"), []byte("fingerprint"))
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

// idOf is the event's id: the _id it is indexed under.
func idOf(ev *engine.Event) string { return string(ev.AppendID(nil)) }

// statuses returns the result of every event of b.
func statuses(b *engine.Batch) []engine.Status {
	out := make([]engine.Status, b.Len())
	for i := range out {
		out[i], _ = b.Status(i)
	}
	return out
}

// logBuffer collects JSON log lines; safe for concurrent use.
type logBuffer struct{ syncbuf.Buffer }

// messages returns the messages of the log lines at level.
func (l *logBuffer) messages(t *testing.T, level string) []string {
	t.Helper()
	var out []string
	for line := range strings.Lines(l.String()) {
		var e struct{ Level, Message string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if e.Level == level {
			out = append(out, e.Message)
		}
	}
	return out
}
