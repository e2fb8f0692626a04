package file_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/engine"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var testTime = time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC)

func testStream() *engine.Stream {
	st := engine.NewStream(&engine.Input{Name: "app", Type: "file"}, func(int64) {})
	st.Path = "/var/log/app.log"
	return st
}

// events returns n events whose messages are "event-<k>" for k from first on.
func events(st *engine.Stream, first, n int) []engine.Event {
	evs := make([]engine.Event, n)
	for i := range evs {
		k := first + i
		evs[i] = engine.Event{Time: testTime, Message: fmt.Appendf(nil, "event-%06d", k), Stream: st,
			Offset: int64(k) * 100, Pos: int64(k+1) * 100}
	}
	return evs
}

// releases records the order in which held batches are released.
type releases struct {
	mu    sync.Mutex
	order []int
}

func (r *releases) batch(id int, evs []engine.Event) *engine.Batch {
	return engine.NewBatchWithRelease(evs, func() {
		r.mu.Lock()
		r.order = append(r.order, id)
		r.mu.Unlock()
	})
}

func (r *releases) released() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.order...)
}

// line is the part of an encoded event the tests look at.
type line struct {
	Message string `json:"message"`
	Log     struct {
		Offset int64 `json:"offset"`
	} `json:"log"`
}

// readLines decodes every line of the file, failing on any line that is not a complete JSON object.
func readLines(t *testing.T, path string) []line {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("%s does not end with a newline", path)
	}
	var lines []line
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s line %d: %v: %q", path, len(lines)+1, err, sc.Bytes())
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func messages(lines []line) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.Message
	}
	return out
}

func wantMessages(first, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("event-%06d", first+i)
	}
	return out
}

// requireStatus checks that every event of b has the given status.
func requireStatus(t *testing.T, b *engine.Batch, want engine.Status) {
	t.Helper()
	for i := range b.Events {
		if got, err := b.Status(i); got != want {
			t.Fatalf("event %d: status %v (%v), want %v", i, got, err, want)
		}
	}
}
