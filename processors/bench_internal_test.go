package processors

import (
	"testing"

	"github.com/flickerlog/flicker/engine"
)

// BenchmarkChain runs a dissect-like parser setting 8 string fields, then timestamp, over an access log line: the
// steady state must not allocate (the arena's chunks, which keep the rendered bytes, amortize to 0 allocs/op;
// their bytes are the B/op).
func BenchmarkChain(b *testing.B) {
	c := mustBuild(b, []Config{
		{Dissect: &DissectConfig{Pattern: "client.ip user.name ts http.request.method url.original " +
			"http.version http.response.status_code http.response.body.bytes"}},
		{Timestamp: &TimestampConfig{Field: "ts", Layouts: []string{"02/Jan/2006:15:04:05-0700"}, Remove: true}},
	})
	st := fileStream(`,"fields":{"env":"prod"}`)
	line := []byte("203.0.113.9 alice 21/Nov/2026:10:00:00+0200 GET /index.html?q=1 HTTP/1.1 200 5120")
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	ev := new(engine.Event) // as the publisher's: Process takes it by pointer, through interfaces
	for b.Loop() {
		*ev = engine.Event{Time: readTime, Stream: st, Offset: 0, Message: line}
		if !c.Process(ev) || len(ev.Extra) == 0 {
			b.Fatal("not processed")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkChainEventExtra is BenchmarkChain on a container log's events, which carry members of their own
// (stream) that the chain reads into the fields.
func BenchmarkChainEventExtra(b *testing.B) {
	c := mustBuild(b, []Config{
		{Dissect: &DissectConfig{Pattern: "client.ip user.name ts http.request.method url.original " +
			"http.version http.response.status_code http.response.body.bytes"}},
		{Timestamp: &TimestampConfig{Field: "ts", Layouts: []string{"02/Jan/2006:15:04:05-0700"}, Remove: true}},
	})
	st := fileStream("")
	st.Extra = []byte(`,"container":{"id":"0123456789abcdef","name":"web","image":{"name":"nginx:1.27"}}`)
	extra := []byte(`,"stream":"stdout"`)
	line := []byte("203.0.113.9 alice 21/Nov/2026:10:00:00+0200 GET /index.html?q=1 HTTP/1.1 200 5120")
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	ev := new(engine.Event)
	for b.Loop() {
		*ev = engine.Event{Time: readTime, Stream: st, Offset: 0, Message: line, Extra: extra}
		if !c.Process(ev) || len(ev.Extra) == 0 {
			b.Fatal("not processed")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
