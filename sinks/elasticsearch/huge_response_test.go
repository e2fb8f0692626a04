package elasticsearch_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sinks/elasticsearch"
)

// TestHugeResponseValueBoundedMemory: a host (or a proxy in front of it) answering a _bulk request 200
// with one huge JSON value makes the sink hold that whole value in memory: the response body is read without a
// bound and the parser reads each skipped member or item whole. Flicker must fit a 256 MiB pod limit; here 64
// MiB of padding is streamed and the sink's allocations are measured.
func TestHugeResponseValueBoundedMemory(t *testing.T) {
	const pad = 64 << 20
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"errors":false,"items":[{"index":{"status":201}}],"x":"`)
		chunk := bytes.Repeat([]byte("a"), 64<<10)
		for n := 0; n < pad; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		_, _ = io.WriteString(w, `"}`)
	}))
	defer srv.Close()
	s := newSink(t, elasticsearch.Config{Hosts: []string{srv.URL}, Index: "logs"})
	b := engine.NewBatch(events(testStream(), 0, 1))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := s.Write(t.Context(), b)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "longer than") || statuses(b)[0] != engine.Retry {
		t.Errorf("Write: %v, status %v: want the event retried, the answer longer than its bound", err, statuses(b))
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 32<<20 {
		t.Errorf("the sink allocated %d MiB to read a response with a %d MiB value", n>>20, pad>>20)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n := int64(after.HeapInuse) - int64(before.HeapInuse); n > 32<<20 {
		t.Errorf("after Write returned, the sink still holds %d MiB of heap", n>>20)
	}
	runtime.KeepAlive(s)
}
