package stdout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sinks/stdout"
)

// failOnceWriter writes n bytes of its first call and fails it (a full disk under a redirected stdout), then
// takes every write whole.
type failOnceWriter struct {
	bytes.Buffer
	n      int
	failed bool
}

func (w *failOnceWriter) Write(p []byte) (int, error) {
	if !w.failed {
		w.failed = true
		n := min(w.n, len(p))
		w.Buffer.Write(p[:n])
		return n, syscall.ENOSPC
	}
	return w.Buffer.Write(p)
}

// TestPartialWriteThenRetryKeepsLinesWhole: after a write that failed part way through a line, the retried
// batch must not be glued to the partial line: every line of the output must be a JSON object.
// A write that fails part-way (ENOSPC on a redirected stdout) leaves half a line, which cannot be taken back: the
// retry starts on a new line, so that the half line stands alone and every event after it is a whole JSON line
// (before, the retry's first event was glued onto the half line: both lost to a JSON reader).
func TestPartialWriteThenRetryKeepsLinesWhole(t *testing.T) {
	w := &failOnceWriter{n: 30}
	s := stdout.New(w, zerolog.Nop())
	b := engine.NewBatch(events(0, 3))
	if err := s.Write(context.Background(), b); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("first write: %v, want ENOSPC", err)
	}
	retry := engine.NewBatch(events(0, 3)) // what the engine sends again
	if err := s.Write(context.Background(), retry); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], lines[0]) {
		t.Fatalf("%d lines, want the half line alone then 3 events:\n%s", len(lines), w.String())
	}
	for i, l := range lines[1:] {
		var ev struct{ Message string }
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Message != fmt.Sprintf("event-%d", i) {
			t.Errorf("line %d: %v, message %q, want event-%d: %q", i+1, err, ev.Message, i, l)
		}
	}
}
