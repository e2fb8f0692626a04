package container_test

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/flickerlog/flicker/sources/container"
)

// FuzzDocker: any bytes decode or fail without panicking, the content is never longer than the line, and a line
// that encoding/json also reads (valid UTF-8, valid JSON) decodes to the same message.
func FuzzDocker(f *testing.F) {
	for _, s := range []string{
		`{"log":"GET / 200\n","stream":"stdout","time":"2024-05-01T10:00:01.123456789Z"}`,
		`{"log":"part","stream":"stderr","attrs":{"tag":"web"},"time":"2024-05-01T10:00:01Z"}`,
		`{"time":"2024-05-01T10:00:01.5+02:00","log":"\ud83d\ude00 \u00e9\n","stream":"stdout"}`,
		`{"log":"\ud800","stream":"stdout","time":"2024-05-01T10:00:01Z"}`,
		`{"log":`, `[]`, `{}`, `not json`,
	} {
		f.Add([]byte(s))
	}
	var d container.Docker
	f.Fuzz(func(t *testing.T, line []byte) {
		var r container.Record
		err := d.Decode(line, &r)
		if err != nil {
			return
		}
		if len(r.Content) > len(line) {
			t.Fatalf("content of %d bytes from a line of %d", len(r.Content), len(line))
		}
		if r.Stream > container.StreamStderr {
			t.Fatalf("stream %d", r.Stream)
		}
		var members map[string]json.RawMessage // exact key matches, the last duplicate wins: as Decode reads
		if !utf8.Valid(line) || json.Unmarshal(line, &members) != nil {
			return
		}
		want := ""
		if raw, ok := members["log"]; ok && json.Unmarshal(raw, &want) != nil {
			return // not a string: Decode ignores it
		}
		got := string(r.Content)
		if !r.Partial {
			got += "\n"
		}
		if got != want {
			t.Fatalf("log %q, encoding/json reads %q", got, want)
		}
	})
}
