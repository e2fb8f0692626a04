package processors_test

import (
	"testing"

	"github.com/flickerlog/flicker/processors"
)

// discardFields is a Setter that keeps nothing, so a benchmark measures the parser alone.
type discardFields struct{ n int }

func (d *discardFields) SetString(key string, val []byte) { d.n += len(val) }
func (d *discardFields) SetRaw(key string, raw []byte)    { d.n += len(raw) }

const (
	benchCombinedLine    = `203.0.113.9 - alice [07/Dec/2026:13:31:21 +0000] "GET /api/v1/items?id=7&page=2 HTTP/1.1" 200 6123 "https://example.com/start" "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"`
	benchCombinedDissect = `%{source.address} %{?ident} %{user.name} [%{ts}] "%{http.request.method} %{url.original} HTTP/%{http.version}" %{http.response.status_code|integer} %{http.response.body.bytes|long} "%{http.request.referrer}" "%{user_agent.original}"`
)

func benchParser(b *testing.B, p processors.Parser, line string) {
	b.Helper()
	val := []byte(line)
	var out discardFields
	if err := p.Parse(val, &out); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(val)))
	b.ResetTimer()
	for b.Loop() {
		if err := p.Parse(val, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

func BenchmarkDissect(b *testing.B) {
	p, err := processors.NewDissect(benchCombinedDissect)
	if err != nil {
		b.Fatal(err)
	}
	benchParser(b, p, benchCombinedLine)
}

func BenchmarkDissectAppend(b *testing.B) {
	p, err := processors.NewDissect(`%{+ts} %{+ts} %{level} %{msg}`)
	if err != nil {
		b.Fatal(err)
	}
	benchParser(b, p, "2026-12-07 13:31:21.123 INFO request served in 12ms")
}

const benchLogfmtLine = `time=2026-12-07T13:31:21.123Z level=info msg="request \"served\"" path=/api/v1/items status=200 took=12.5ms cached`

func BenchmarkLogfmt(b *testing.B) {
	benchParser(b, processors.NewLogfmt(), benchLogfmtLine)
}

func BenchmarkPreset(b *testing.B) {
	for _, tc := range []struct{ name, line string }{
		{"nginx_combined", benchCombinedLine},
		{"apache_common", `127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326`},
		{"syslog", `<34>Dec  7 13:31:21 web-1 sshd[1234]: Accepted publickey for deploy from 10.0.0.5 port 50000 ssh2`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p, err := processors.NewPreset(tc.name)
			if err != nil {
				b.Fatal(err)
			}
			benchParser(b, p, tc.line)
		})
	}
}

// The hot-path parsers allocate nothing per line once warm (values alias the line; keys read from the line are
// made once per parser).
func TestParsersDoNotAllocate(t *testing.T) {
	dissect, err := processors.NewDissect(benchCombinedDissect)
	if err != nil {
		t.Fatal(err)
	}
	combined, err := processors.NewPreset("apache_combined")
	if err != nil {
		t.Fatal(err)
	}
	syslog, err := processors.NewPreset("syslog")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		p    processors.Parser
		line string
	}{
		{"parse_logfmt", processors.NewLogfmt(), benchLogfmtLine},
		{"parse_json", processors.NewJSON(0), benchJSONLine},
		{"dissect", dissect, benchCombinedLine},
		{"apache_combined", combined, benchCombinedLine},
		{"syslog", syslog, `<34>Dec  7 13:31:21 web-1 sshd[1234]: Accepted publickey for deploy`},
	} {
		val := []byte(tc.line)
		var out discardFields
		allocs := testing.AllocsPerRun(100, func() {
			if err := tc.p.Parse(val, &out); err != nil {
				t.Fatal(err)
			}
		})
		if raceEnabled && (tc.name == "parse_json" || tc.name == "parse_logfmt") {
			// Their decoder or joined-value buffer comes from a sync.Pool, which the race detector empties at
			// random (parse_logfmt allocated once per line in a CI run under -race).
			continue
		}
		if allocs != 0 {
			t.Errorf("%s: %v allocations per line, want 0", tc.name, allocs)
		}
	}
}

func BenchmarkRegex(b *testing.B) {
	p, err := processors.NewRegex(`^(?P<source__address>\S+) \S+ (?P<user__name>\S+) \[(?P<ts>[^\]]+)\] "(?P<http__request__method>[A-Z]+) (?P<url__original>\S+) HTTP/(?P<http__version>[0-9.]+)" (?P<http__response__status_code>\d{3}) (?P<http__response__body__bytes>\d+|-) "(?P<http__request__referrer>[^"]*)" "(?P<user_agent__original>[^"]*)"$`)
	if err != nil {
		b.Fatal(err)
	}
	benchParser(b, p, benchCombinedLine)
}

const benchJSONLine = `{"time":"2026-12-07T13:31:21.123Z","level":"info","msg":"request \"served\"","path":"/api/v1/items","status":200,"took_ms":12.5,"user":{"id":7,"roles":["admin","dev"]}}`

func BenchmarkParseJSON(b *testing.B) {
	benchParser(b, processors.NewJSON(0), benchJSONLine)
}
