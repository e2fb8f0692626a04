package http_test

import (
	"bytes"
	"testing"

	"github.com/flickerlog/flicker/engine"
	httpsrc "github.com/flickerlog/flicker/sources/http"
)

// The bytes of a body that no event references (white space between NDJSON values here; also _bulk action
// lines, the parts of documents left out) stay in memory while its events are queued: they count against the
// queue's byte bound. With the output blocked, a second padded request does not fit next to the first (429),
// and one longer than the whole queue is refused 413, though each holds a single 15-byte event.
func TestUnreferencedBodyBytesCountAgainstTheQueue(t *testing.T) {
	s := startServer(t, httpsrc.Config{MaxBodyBytes: 1 << 20}, engine.QueueLimits{MaxBytes: 300 << 10})
	s.sink.Block()
	padded := func(n int) []byte {
		return append(append([]byte(`{"message":"x"}`), bytes.Repeat([]byte(" "), n)...), '\n')
	}
	first := make(chan response, 1)
	go func() { first <- sendAsync("POST", s.url+"/", padded(200<<10)) }()
	eventually(t, func() bool { st, _ := s.src.Stats("ingest"); return st.Events == 1 }, "the first request queued")

	if r := send(t, "POST", s.url+"/", padded(200<<10)); r.status != 429 {
		t.Errorf("a second request of 200 KiB next to the first in a 300 KiB queue: %d %s, want 429", r.status, r.body)
	}
	if r := send(t, "POST", s.url+"/", padded(400<<10)); r.status != 413 {
		t.Errorf("a request of 400 KiB for a 300 KiB queue: %d %s, want 413", r.status, r.body)
	}
	s.sink.Unblock()
	if r := <-first; r.err != nil || r.status != 200 {
		t.Fatalf("the first request: %d %v", r.status, r.err)
	}
}
