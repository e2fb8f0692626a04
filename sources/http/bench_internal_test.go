package http

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
)

// benchBody builds a body of about 1 MiB: NDJSON documents as Filebeat and Fluent Bit send them, or the same
// documents as a _bulk request (each after a create action).
func benchBody(bulk bool) (body []byte, events int) {
	var buf bytes.Buffer
	for buf.Len() < 1<<20 {
		if bulk {
			buf.WriteString(`{"create":{"_index":"logs-app","_id":"` + fmt.Sprintf("id-%08d", events) + `"}}` + "\n")
		}
		fmt.Fprintf(&buf, `{"@timestamp":"2026-11-21T10:00:%02d.123Z","message":"10.1.2.3 - - [21/Nov/2026:10:00:00 +0000] \"GET /api/v1/items?page=%d HTTP/1.1\" 200 5123 \"-\" \"Mozilla/5.0\"",`+
			`"log":{"file":{"path":"/var/log/nginx/access.log"},"offset":%d},"host":{"name":"web-1"},"agent":{"type":"filebeat","version":"8.15.0"},"tags":["nginx","prod"]}`+"\n",
			events%60, events, events*200)
		events++
	}
	return buf.Bytes(), events
}

// BenchmarkParseBody parses a 1 MiB request body as the handler does (NDJSON, _bulk) into a pooled batch: the
// per-event path of the HTTP source.
func BenchmarkParseBody(b *testing.B) {
	for _, c := range []struct {
		name  string
		bulk  bool
		parse func(*batch) error
	}{
		{"ndjson", false, (*batch).parseNDJSON},
		{"bulk", true, func(b *batch) error { return b.parseBulk(noRef) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			body, events := benchBody(c.bulk)
			bt := &batch{}
			st := engine.NewStream(fuzzInput, func(int64) {})
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				bt.reset(body, false, time.Unix(0, 0))
				if err := c.parse(bt); err != nil || len(bt.events) != events {
					b.Fatalf("%v, %d events", err, len(bt.events))
				}
				bt.finish(st)
			}
			b.ReportMetric(float64(events*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
