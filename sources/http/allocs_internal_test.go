package http

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
)

// The NDJSON, array and bulk paths allocate nothing per event once a pooled batch has grown to its request's
// size: events slice the body and the batch's arena.
func TestParsingAllocatesNothingPerEvent(t *testing.T) {
	var ndjson, bulk bytes.Buffer
	for i := range 1000 {
		fmt.Fprintf(&ndjson, "{\"message\":\"line %d with a \\\"quote\\\"\",\"level\":\"info\",\"n\":%d}\n", i, i)
		fmt.Fprintf(&bulk, "{\"create\":{\"_index\":\"logs\"}}\n{\"@timestamp\":\"2026-11-21T10:00:00Z\",\"log\":\"line %d\"}\n", i)
	}
	array := append(append([]byte("["), bytes.ReplaceAll(bytes.TrimSpace(ndjson.Bytes()), []byte("\n"), []byte(","))...), ']')
	for _, c := range []struct {
		name      string
		body      []byte
		underRoot bool
		parse     func(*batch) error
	}{
		{"ndjson", ndjson.Bytes(), false, (*batch).parseNDJSON},
		{"ndjson under root", ndjson.Bytes(), true, (*batch).parseNDJSON},
		{"array", array, false, (*batch).parseArray},
		{"bulk", bulk.Bytes(), false, func(b *batch) error { return b.parseBulk(noRef) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := &batch{}
			st := engine.NewStream(fuzzInput, func(int64) {})
			run := func() {
				b.reset(c.body, c.underRoot, time.Unix(0, 0))
				if err := c.parse(b); err != nil {
					t.Fatal(err)
				}
				b.finish(st)
			}
			run() // grows the batch
			if len(b.events) != 1000 {
				t.Fatalf("%d events", len(b.events))
			}
			if allocs := testing.AllocsPerRun(5, run); allocs > 2 {
				t.Fatalf("%v allocations per request of 1000 events, want none per event", allocs)
			}
		})
	}
}
