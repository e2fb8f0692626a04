package httpout_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	httpout "github.com/flickerlog/flicker/sinks/http"
)

// line150 is a typical 150-byte access log line.
var line150 = []byte(`10.1.2.3 - - [21/Nov/2026:10:00:00 +0000] "GET /api/v1/items?page=2 HTTP/1.1" 200 5123 ` +
	`"-" "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Fx/1"`)

// BenchmarkHTTPSink measures encoding, compressing and posting batches of 2048 events of 150 bytes to an httptest
// server on 127.0.0.1 that reads and discards the bodies. One op is one batch; MB/s counts message bytes (the
// input), not the larger JSON sent.
func BenchmarkHTTPSink(b *testing.B) {
	const batch = 2048
	for _, c := range []struct {
		name string
		cfg  httpout.Config
	}{
		{"gzip", httpout.Config{Compression: httpout.CompressionGzip}},
		{"none", httpout.Config{Compression: httpout.CompressionNone}},
		{"json_array_gzip", httpout.Config{Format: httpout.FormatJSONArray}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var wire atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n, _ := io.Copy(io.Discard, r.Body)
				wire.Store(n)
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()
			s := newSink(b, srv.URL, c.cfg, zerolog.Nop())
			evs := events(testStream("/var/log/access.log"), 0, batch)
			for i := range evs {
				evs[i].Message = line150
			}
			bt := engine.NewBatch(evs)
			b.SetBytes(int64(len(line150) * batch))
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Write(context.Background(), bt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(wire.Load()), "body-bytes/op")
		})
	}
}
