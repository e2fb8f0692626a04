package s3out

import (
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
)

func TestPrefixRendering(t *testing.T) {
	st := engine.NewStream(&engine.Input{Name: "app", Type: "file"}, func(int64) {})
	noInput := engine.NewStream(nil, func(int64) {})
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := []struct {
		pattern string
		ev      engine.Event
		want    string
	}{
		{DefaultPrefix, engine.Event{Time: at, Stream: st}, "app/2026/03/04/05/"},
		{"logs/%{input}/%{+yyyy/MM/dd/HH}/", engine.Event{Time: at, Stream: st}, "logs/app/2026/03/04/05/"},
		{"%{+yyyy-MM-dd}T%{+HH:mm}/x-", engine.Event{Time: at, Stream: st}, "2026-03-04T05:06/x-"},
		{"%{+yyyyMMddHHmm}", engine.Event{Time: at, Stream: st}, "202603040506"},
		// The partition is the UTC hour whatever the time's zone.
		{"%{+dd/HH}/", engine.Event{Time: time.Date(2026, 3, 4, 1, 30, 0, 0, time.FixedZone("x", 3*3600)),
			Stream: st}, "03/22/"},
		{"%{input}/", engine.Event{Time: at, Stream: noInput}, "unknown/"},
		{"100%/%{input}%", engine.Event{Time: at, Stream: st}, "100%/app%"},
		{"%{+yyyy}/", engine.Event{Time: time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC), Stream: st}, "9999/"},
		{"%{+yyyy}/", engine.Event{Stream: st}, "0001/"},
		// Like @timestamp, the instant is clamped to years 0-9999, not just the year.
		{"%{+yyyy/MM/dd/HH}/%{input}/%{+mm}", engine.Event{Time: time.Date(12345, 6, 7, 8, 9, 0, 0, time.UTC),
			Stream: st}, "9999/12/31/23/app/59"},
		{"%{+yyyy/MM/dd/HH}/%{input}/%{+mm}", engine.Event{Time: time.Date(-5, 6, 7, 8, 9, 0, 0, time.UTC),
			Stream: st}, "0000/01/01/00/app/00"},
		{"static/", engine.Event{Time: at, Stream: st}, "static/"},
	}
	for _, tt := range tests {
		p, err := parsePrefix(tt.pattern)
		if err != nil {
			t.Fatalf("%q: %v", tt.pattern, err)
		}
		if got := string(p.appendTo(nil, &tt.ev)); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.pattern, got, tt.want)
		}
	}
}

func TestPrefixRenderingDoesNotAllocate(t *testing.T) {
	p, err := parsePrefix("logs/%{input}/%{+yyyy/MM/dd/HH}/")
	if err != nil {
		t.Fatal(err)
	}
	ev := engine.Event{Time: time.Now(), Stream: engine.NewStream(&engine.Input{Name: "app"}, func(int64) {})}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = p.appendTo(buf[:0], &ev) }); n != 0 {
		t.Errorf("%v allocations per render", n)
	}
}

func TestEscapedIDsStayDistinct(t *testing.T) {
	ids := []string{"a/b", "a%2Fb", "a_b", "a b", "a%20b", "ä", "%C3%A4"}
	seen := map[string]string{}
	for _, id := range ids {
		k := string(appendEscapedID(nil, []byte(id)))
		if prev, dup := seen[k]; dup {
			t.Errorf("%q and %q both escape to %q", prev, id, k)
		}
		seen[k] = id
	}
}

func TestPrefixRefuses(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{"/logs/", `"/logs/" starts with '/': S3 keys have no leading slash; write "logs/"`},
		{"%{+yyyy/DD}/", `"%{+yyyy/DD}/": %{+yyyy/DD}: unknown date token at "DD"; use yyyy, MM, dd, HH, mm`},
		{"%{+ss}/", `unknown date token at "ss"`},
		{"%{+}/", "empty date pattern"},
		{"a/%{input", `"a/%{input": placeholder "%{input" is not closed with '}'`},
		{"%{host}/", "unknown placeholder %{host}; use %{input}"},
	}
	for _, tt := range tests {
		_, err := parsePrefix(tt.pattern)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want one with %q", tt.pattern, err, tt.want)
		}
	}
}
