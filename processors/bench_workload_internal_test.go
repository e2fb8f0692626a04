package processors

import (
	"bufio"
	"os"
	"testing"

	"github.com/flickerlog/flicker/engine"
)

// The chains of flickerbench's processing workloads (benchmarks/workload.go), over lines of its generated logs:
// FLICKER_BENCH_NGINX / FLICKER_BENCH_JSON name a generated log; without them a few sample lines are used.

const benchNginxDissect = `%{source.address} - %{user.name} [%{nginx.time}] "%{http.request.method} %{url.original} ` +
	`%{http.version}" %{http.response.status_code} %{http.response.body.bytes} "%{http.request.referrer}" ` +
	`"%{user_agent.original}"`

func BenchmarkWorkloadNginxDissect(b *testing.B) {
	benchWorkload(b, "FLICKER_BENCH_NGINX", []string{
		`203.0.113.233 - - [21/Nov/2026:10:00:00 +0000] "GET /healthz?seq=0 HTTP/1.1" 204 1915 "https://shop.example.com/" "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"`,
		`2001:db8::9db0 - alice [21/Nov/2026:10:00:01 +0000] "POST /healthz?seq=1 HTTP/1.1" 404 3029 "https://shop.example.com/" "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"`,
		`203.0.113.18 - - [21/Nov/2026:10:00:01 +0000] "GET /static/app.js?seq=2 HTTP/1.1" 200 43489 "-" "kube-probe/1.29"`,
	}, []Config{
		{Dissect: &DissectConfig{Pattern: benchNginxDissect}},
		{Timestamp: &TimestampConfig{Field: "nginx.time", Layouts: []string{"02/Jan/2006:15:04:05 -0700"}, Remove: true}},
	})
}

func BenchmarkWorkloadJSON(b *testing.B) {
	benchWorkload(b, "FLICKER_BENCH_JSON", []string{
		`{"time":"2026-11-21T10:00:00.001763Z","level":"error","msg":"request done","http":{"method":"POST","path":"/api/search","status":304},"duration_ms":536.31,"seq":0,"trace_id":"4e775cc17d75c8b"}`,
		`{"time":"2026-11-21T10:00:00.002806Z","level":"error","msg":"request done for \"guest\"","http":{"method":"PUT","path":"/api/orders","status":204},"duration_ms":554.75,"seq":1,"trace_id":"bb4a33a7653b6d37"}`,
	}, []Config{
		{ParseJSON: &ParseJSONConfig{}},
		{Timestamp: &TimestampConfig{Field: "time", Layouts: []string{"RFC3339Nano"}, Remove: true}},
	})
}

func benchWorkload(b *testing.B, env string, sample []string, list []Config) {
	lines := make([][]byte, 0, 4096)
	if path := os.Getenv(env); path != "" {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for len(lines) < 4096 && sc.Scan() {
			lines = append(lines, append([]byte(nil), sc.Bytes()...))
		}
		f.Close()
	} else {
		for _, l := range sample {
			lines = append(lines, []byte(l))
		}
	}
	c, err := Build("bench", list) // the real parsers, not the chain tests' fakes
	if err != nil {
		b.Fatal(err)
	}
	st := fileStream("")
	b.ReportAllocs()
	ev := new(engine.Event)
	var n, size int
	for b.Loop() {
		line := lines[n%len(lines)]
		n++
		size += len(line)
		*ev = engine.Event{Time: readTime, Stream: st, Message: line}
		if !c.Process(ev) || len(ev.Extra) == 0 {
			b.Fatalf("not processed: %q", line)
		}
	}
	b.ReportMetric(float64(size)/float64(n), "B/line")
}
