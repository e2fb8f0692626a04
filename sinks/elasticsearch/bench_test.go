package elasticsearch_test

import (
	"bytes"
	"testing"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sinks/elasticsearch"
	"github.com/flickerlog/flicker/sinks/elasticsearch/estest"
)

// BenchmarkElasticsearchSink measures Write against the emulator in accept-and-discard mode, over loopback: one
// op is one batch of 2048 events with 150-byte messages; MB/s counts message bytes (the input), not the larger
// NDJSON sent. The emulator's side (reading the body, answering 2048 items) runs in the same process.
func BenchmarkElasticsearchSink(b *testing.B) {
	const batch = 2048
	msg := bytes.Repeat([]byte("x"), 150)
	copy(msg, `10.1.2.3 - - [21/Nov/2026:10:00:00 +0000] "GET /api/v1/items?page=2 HTTP/1.1" 200 5123 "-" "Mozilla/5.0"`)
	for _, c := range []struct{ name, compression, index string }{
		{"gzip", "gzip", "logs-%{+yyyy.MM.dd}"},
		{"none", "none", "logs-%{+yyyy.MM.dd}"},
	} {
		b.Run(c.name, func(b *testing.B) {
			es := estest.Start(b, estest.Options{DiscardItems: batch})
			s := newSink(b, elasticsearch.Config{Hosts: []string{es.URL()}, Index: c.index, Compression: c.compression})
			evs := events(testStream(), 0, batch)
			for i := range evs {
				evs[i].Message = msg
			}
			b.SetBytes(int64(len(msg) * batch))
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Write(b.Context(), engine.NewBatch(evs)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
