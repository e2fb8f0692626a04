package eventjson_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventjson"
)

// line150 is a typical 150-byte access log line.
var line150 = []byte(`10.1.2.3 - - [21/Nov/2026:10:00:00 +0000] "GET /api/v1/items?page=2 HTTP/1.1" 200 5123 ` +
	`"-" "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Fx/1"`)

func BenchmarkAppend(b *testing.B) {
	cases := []struct {
		name string
		msg  []byte
	}{
		{"ascii150", line150},
		{"escapes150", bytes.ReplaceAll(line150, []byte(`"`), []byte("\t"))},
		{"utf8_150", bytes.Repeat([]byte("журнал событий "), 6)},
		{"ascii1k", bytes.Repeat(line150, 7)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ev := engine.Event{Time: time.Now(), Message: c.msg, Stream: fileStream(), Offset: 123456}
			var enc eventjson.Encoder
			buf := make([]byte, 0, 4096)
			b.SetBytes(int64(len(c.msg)))
			b.ReportAllocs()
			for b.Loop() {
				buf = enc.Append(buf[:0], &ev)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
