package container_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sources/container"
)

func TestDockerDecode(t *testing.T) {
	ts := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UTC()
	}
	tests := []struct {
		name, line string
		want       container.Record
	}{
		{"dockerd order", `{"log":"GET / 200\n","stream":"stdout","time":"2024-05-01T10:00:01.123456789Z"}`,
			container.Record{Time: ts("2024-05-01T10:00:01.123456789Z"), Stream: container.StreamStdout, Content: []byte("GET / 200")}},
		{"no fraction", `{"log":"x\n","stream":"stderr","time":"2024-05-01T10:00:01Z"}`,
			container.Record{Time: ts("2024-05-01T10:00:01Z"), Stream: container.StreamStderr, Content: []byte("x")}},
		{"one fraction digit", `{"log":"x\n","stream":"stdout","time":"2024-05-01T10:00:01.5Z"}`,
			container.Record{Time: ts("2024-05-01T10:00:01.5Z"), Stream: container.StreamStdout, Content: []byte("x")}},
		{"partial", `{"log":"first half","stream":"stdout","time":"2024-05-01T10:00:01.5Z"}`,
			container.Record{Time: ts("2024-05-01T10:00:01.5Z"), Stream: container.StreamStdout, Partial: true, Content: []byte("first half")}},
		{"keys in any order, attrs skipped", ` { "time" : "2024-05-01T10:00:01.5Z", "attrs":{"tag":"web","n":[1,2.5e3,true,null,{"a":"}"}]}, "stream":"stderr" ,"log":"y\n" } `,
			container.Record{Time: ts("2024-05-01T10:00:01.5Z"), Stream: container.StreamStderr, Content: []byte("y")}},
		{"escapes", `{"log":"tab\there \"q\" back\\slash \u003chtml\u003e \u00e9 \ud83d\ude00 lone \ud800 nl\ninside\n","stream":"stdout","time":"2024-05-01T10:00:01Z"}`,
			container.Record{Time: ts("2024-05-01T10:00:01Z"), Stream: container.StreamStdout, Content: []byte("tab\there \"q\" back\\slash <html> é 😀 lone \uFFFD nl\ninside")}},
		{"escaped final newline is partial when absent", `{"log":"a\\n","stream":"stdout","time":"2024-05-01T10:00:01Z"}`,
			container.Record{Time: ts("2024-05-01T10:00:01Z"), Stream: container.StreamStdout, Partial: true, Content: []byte(`a\n`)}},
		{"empty log omitted", `{"stream":"stdout","time":"2024-05-01T10:00:01Z"}`,
			container.Record{Time: ts("2024-05-01T10:00:01Z"), Stream: container.StreamStdout, Partial: true, Content: []byte{}}},
		{"offset time", `{"log":"x\n","stream":"stdout","time":"2024-05-01T12:00:01.25+02:00"}`,
			container.Record{Time: ts("2024-05-01T10:00:01.25Z"), Stream: container.StreamStdout, Content: []byte("x")}},
	}
	var d container.Docker
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r container.Record
			if err := d.Decode([]byte(tt.line), &r); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !r.Time.Equal(tt.want.Time) || r.Stream != tt.want.Stream || r.Partial != tt.want.Partial ||
				string(r.Content) != string(tt.want.Content) {
				t.Errorf("got %+v (%q), want %+v (%q)", r, r.Content, tt.want, tt.want.Content)
			}
		})
	}
}

func TestDockerDecodeMalformed(t *testing.T) {
	tests := []struct {
		name, line string
		want       error
	}{
		{"empty", ``, container.ErrNotObject},
		{"plain text", `hello world`, container.ErrNotObject},
		{"cut", `{"log":"abc\n","stream":"stdout","ti`, container.ErrBadJSON},
		{"no time", `{"log":"abc\n","stream":"stdout"}`, container.ErrBadTime},
		{"bad time", `{"log":"abc\n","stream":"stdout","time":"yesterday"}`, container.ErrBadTime},
		{"impossible date", `{"log":"abc\n","stream":"stdout","time":"2024-02-30T00:00:00Z"}`, container.ErrBadTime},
		{"other stream", `{"log":"abc\n","stream":"stdin","time":"2024-05-01T10:00:01Z"}`, container.ErrBadStream},
		{"bad escape", `{"log":"a\qb\n","stream":"stdout","time":"2024-05-01T10:00:01Z"}`, container.ErrBadJSON},
		{"short unicode escape", `{"log":"a\u12","stream":"stdout","time":"2024-05-01T10:00:01Z"}`, container.ErrBadJSON},
		{"trailing data", `{"log":"a\n","stream":"stdout","time":"2024-05-01T10:00:01Z"} x`, container.ErrBadJSON},
		{"missing comma", `{"log":"a\n" "stream":"stdout","time":"2024-05-01T10:00:01Z"}`, container.ErrBadJSON},
		{"too deep", `{"attrs":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `,"time":"2024-05-01T10:00:01Z"}`, nil},
	}
	var d container.Docker
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r container.Record
			err := d.Decode([]byte(tt.line), &r)
			if err == nil {
				t.Fatalf("Decode(%q) succeeded: %+v", tt.line, r)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Decode(%q) = %v, want %v", tt.line, err, tt.want)
			}
		})
	}
}

// A record without escapes is decoded in place: no allocation per line.
func TestDockerDecodeDoesNotAllocate(t *testing.T) {
	line := []byte(`{"log":"GET /index.html 200 1234 \"curl\"\n","stream":"stdout","time":"2024-05-01T10:00:01.123456789Z"}`)
	var d container.Docker
	var r container.Record
	if err := d.Decode(line, &r); err != nil { // warms the scratch buffer
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = d.Decode(line, &r) }); n != 0 {
		t.Errorf("Decode allocates %v times per line", n)
	}
}
