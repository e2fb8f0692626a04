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
		{"escaped quote last is partial", `{"log":"12\"","stream":"stdout","time":"2024-05-01T10:00:01Z"}`,
			container.Record{Time: ts("2024-05-01T10:00:01Z"), Stream: container.StreamStdout, Partial: true, Content: []byte(`12"`)}},
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

// Decoding allocates nothing per line once the scratch buffer has grown: dockerd's records (in place or
// unescaped) and the same records with their keys in another order.
func TestDockerDecodeDoesNotAllocate(t *testing.T) {
	lines := dockerLines(64)
	for _, l := range dockerLines(64) {
		lines = append(lines, []byte(`{ `+string(l[1:])))
	}
	var d container.Docker
	var r container.Record
	decodeAll := func() {
		for _, l := range lines {
			if err := d.Decode(l, &r); err != nil {
				t.Fatalf("Decode(%s): %v", l, err)
			}
		}
	}
	decodeAll() // grows the scratch buffer
	if n := testing.AllocsPerRun(20, decodeAll); n != 0 {
		t.Errorf("Decode allocates %v times per %d lines", n, len(lines))
	}
}

// Keys and values may be escaped, and the last of duplicate keys wins even when it is not a string: Decode reads
// the object as encoding/json reads it into a map. dockerd writes none of this, but a line that is valid JSON must
// not decode to another message.
func TestDockerDecodeAsEncodingJSON(t *testing.T) {
	tests := []struct {
		name, line string
		stream     container.Stream
		partial    bool
		content    string
	}{
		{"escaped keys", `{"l\u006fg":"a\n","str\u0065am":"stderr","tim\u0065":"2024-05-01T10:00:01Z"}`,
			container.StreamStderr, false, "a"},
		{"escaped stream and time", `{"log":"a\n","stream":"std\u006fut","time":"2024-05-01T10:00:01\u005a"}`,
			container.StreamStdout, false, "a"},
		{"last duplicate wins", `{"log":"a\n","log":"b\n","stream":"stderr","stream":"stdout","time":"2024-05-01T10:00:01Z"}`,
			container.StreamStdout, false, "b"},
		{"a null log is absent", `{"log":"a\n","log":null,"stream":"stdout","time":"2024-05-01T10:00:01Z"}`,
			container.StreamStdout, true, ""},
		{"a number stream is absent", `{"log":"a\n","stream":"stdout","stream":1,"time":"2024-05-01T10:00:01Z"}`,
			container.StreamUnknown, false, "a"},
	}
	var d container.Docker
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r container.Record
			if err := d.Decode([]byte(tt.line), &r); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if r.Stream != tt.stream || r.Partial != tt.partial || string(r.Content) != tt.content ||
				!r.Time.Equal(time.Date(2024, 5, 1, 10, 0, 1, 0, time.UTC)) {
				t.Errorf("got %+v (%q), want stream %v, partial %v, %q", r, r.Content, tt.stream, tt.partial, tt.content)
			}
		})
	}
	var r container.Record
	if err := d.Decode([]byte(`{"log":"a\n","time":"2024-05-01T10:00:01Z","time":null}`), &r); !errors.Is(err, container.ErrBadTime) {
		t.Errorf("a null last time: %v, want %v", err, container.ErrBadTime)
	}
}

// Records as dockerd lays them out decode to what the same records decode to with a space that dockerd never
// writes (which takes the general scanner): the two ways through Decode agree, on every kind of escape.
func TestDockerDecodeLayoutsAgree(t *testing.T) {
	logs := []string{
		`GET / 200\n`, `partial`, ``, `\n`, `a\\n`, `a\\\n`, `\\`, `\"quoted\"\n`, `tab\there\u0009\n`,
		`\u003chtml\u003e \u0026\n`, `\u2028\u2029\n`, `\ud83d\ude00 \ud800 caf\u00e9\n`, `ends in a backslash\\`,
		`\r\n`, `\/\b\f\n`, `bad \q escape\n`, `short \u12\n`, `raw "`,
	}
	suffixes := []string{
		`,"stream":"stdout","time":"2024-05-01T10:00:01.123456789Z"}`,
		`,"stream":"stderr","time":"2024-05-01T10:00:01Z"}`,
		`,"stream":"stdout","attrs":{"tag":"web","n":[1,{"a":"}"}]},"time":"2024-05-01T10:00:01.5Z"}`,
		`,"stream":"stdout","time":"2024-05-01T10:00:01.5+02:00"}`,
		`,"stream":"stdin","time":"2024-05-01T10:00:01Z"}`,
		`,"stream":"stdout","time":"2024-05-01T10:00:01Z","x":1}`,
		`,"stream":"stdout","time":"2024-02-30T10:00:01Z"}`,
		`,"stream":"stdout","time":"2024-05-01T10:00:01Z"`,
		`,"stream":"stdout","time":"2024-05-01T10:00:01Z"}}`,
		`,"stream":"stdout","time":"2024-05-01T10:00:01Z}}`,
	}
	var d container.Docker
	for _, log := range logs {
		for _, suffix := range suffixes {
			line := `{"log":"` + log + `"` + suffix
			var fast, general container.Record
			errFast := d.Decode([]byte(line), &fast)
			fastContent := string(fast.Content)
			errGeneral := d.Decode([]byte(`{ "log":"`+log+`"`+suffix), &general)
			if errFast != errGeneral || fastContent != string(general.Content) || fast.Partial != general.Partial ||
				fast.Stream != general.Stream || !fast.Time.Equal(general.Time) {
				t.Errorf("%s: %v %+v (%q), with a space: %v %+v (%q)", line, errFast, fast, fastContent,
					errGeneral, general, general.Content)
			}
		}
	}
}

// A complete record whose only escape is its final newline, as most are, is decoded in place: its content is a
// part of the line, not a copy.
func TestDockerDecodeInPlace(t *testing.T) {
	line := []byte(`{"log":"GET /index.html 200 1234\n","stream":"stdout","time":"2024-05-01T10:00:01.123456789Z"}`)
	var d container.Docker
	var r container.Record
	if err := d.Decode(line, &r); err != nil {
		t.Fatal(err)
	}
	at := strings.Index(string(line), "GET")
	if string(r.Content) != "GET /index.html 200 1234" || r.Partial || &r.Content[0] != &line[at] {
		t.Errorf("content %q (partial %v) is not line[%d:]", r.Content, r.Partial, at)
	}
}
