package container_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/flickerlog/flicker/internal/rfc3339"
	"github.com/flickerlog/flicker/sources/container"
)

// FuzzDocker: any bytes decode or fail without panicking, the content is never longer than the line, and a line
// that encoding/json also reads (valid UTF-8, a valid JSON object) decodes to what encoding/json reads in it: the
// same log, stream and time (the time string read by internal/rfc3339), and it decodes at all when those are
// valid. A member of one of the three keys that is not a string counts as absent, and the last duplicate wins.
func FuzzDocker(f *testing.F) {
	for _, s := range []string{
		`{"log":"GET / 200\n","stream":"stdout","time":"2024-05-01T10:00:01.123456789Z"}`,
		`{"log":"part","stream":"stderr","attrs":{"tag":"web"},"time":"2024-05-01T10:00:01Z"}`,
		`{"time":"2024-05-01T10:00:01.5+02:00","log":"\ud83d\ude00 \u00e9\n","stream":"stdout"}`,
		`{"log":"\ud800","stream":"stdout","time":"2024-05-01T10:00:01Z"}`,
		`{"log":"say \"hi\"\tC:\\dir \u003cb\u003e \u0026 \u2028\u0000\r\n","stream":"stderr","time":"2024-05-01T10:00:01.000000001Z"}`,
		`{"l\u006fg":"a\n","str\u0065am":"std\u006fut","tim\u0065":"2024-05-01T10:00:01\u005a"}`,
		`{"log":"a\n","log":null,"stream":"stdout","stream":1,"time":"2024-05-01T10:00:01Z"}`,
		`{"log":"\\\"\\\\\"\n","stream":"stdout","time":"2024-05-01T10:00:01Z"}`,
		`{"log":"x\n" , "stream":"stdout","time":"2024-05-01T10:00:01Z"}`,
		`{"log":`, `[]`, `{}`, `not json`,
	} {
		f.Add([]byte(s))
	}
	var d container.Docker
	f.Fuzz(func(t *testing.T, line []byte) {
		var r container.Record
		err := d.Decode(line, &r)
		if err == nil {
			if len(r.Content) > len(line) {
				t.Fatalf("content of %d bytes from a line of %d", len(r.Content), len(line))
			}
			if r.Stream > container.StreamStderr {
				t.Fatalf("stream %d", r.Stream)
			}
		}
		var members map[string]json.RawMessage // exact key matches, the last duplicate wins: as Decode reads
		if !utf8.Valid(line) || json.Unmarshal(line, &members) != nil || members == nil {
			return
		}
		str := func(key string) (string, bool) {
			var s string
			if raw, ok := members[key]; ok && len(raw) > 0 && raw[0] == '"' {
				if err := json.Unmarshal(raw, &s); err != nil {
					t.Fatalf("encoding/json reads %s but not its %q", line, key)
				}
				return s, true
			}
			return "", false
		}
		log, _ := str("log")
		stream, _ := str("stream")
		tm, haveTime := str("time")
		want, timeOK := rfc3339.Parse([]byte(tm))
		wantStream, streamOK := map[string]container.Stream{
			"": container.StreamUnknown, "stdout": container.StreamStdout, "stderr": container.StreamStderr,
		}[stream]
		if err != nil {
			// Only nesting deeper than Decode follows may refuse a record encoding/json reads and whose
			// time and stream are valid.
			if haveTime && timeOK && streamOK && bytes.Count(line, []byte("["))+bytes.Count(line, []byte("{")) <= 32 {
				t.Fatalf("Decode: %v; encoding/json reads log %q, stream %q, time %q", err, log, stream, tm)
			}
			return
		}
		got := string(r.Content)
		if !r.Partial {
			got += "\n"
		}
		if got != log {
			t.Fatalf("log %q, encoding/json reads %q", got, log)
		}
		if !streamOK || r.Stream != wantStream {
			t.Fatalf("stream %v, encoding/json reads %q", r.Stream, stream)
		}
		if !haveTime || !timeOK || !r.Time.Equal(want) {
			t.Fatalf("time %v, encoding/json reads %q", r.Time, tm)
		}
	})
}
