package eventjson_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventjson"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var goldenTime = time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC)

// fileStream is a stream like the file source makes.
func fileStream() *engine.Stream {
	in := &engine.Input{Name: "app", Type: "file", FieldsJSON: []byte(`,"fields":{"env":"prod"}`)}
	st := engine.NewStream(in, func(int64) {})
	st.Path = "/var/log/app/app.log"
	st.IDSeed = engine.SeedID([]byte("app"), []byte("fingerprint"), []byte{0})
	return st
}

func TestAppendGolden(t *testing.T) {
	plain := &engine.Input{Name: "app", Type: "file"}
	api := &engine.Input{Name: "okta", Type: "api", FieldsJSON: []byte(`,"env":"prod"`)}
	apiStream := engine.NewStream(api, func(int64) {})
	apiStream.Extra = []byte(`,"api":{"endpoint":"https://example.okta.com/api/v1/logs"}`)
	container := &engine.Input{Name: "k8s", Type: "container"}
	containerStream := engine.NewStream(container, func(int64) {})
	containerStream.Path = "/var/log/containers/web.log"
	containerStream.Extra = []byte(`,"container":{"id":"abc123"}`)
	noOffsets := engine.NewStream(plain, func(int64) {})
	quoted := engine.NewStream(&engine.Input{Name: "we\"ird\n", Type: "file"}, func(int64) {})
	quoted.Path = `C:\logs\"x".log`
	zone := time.FixedZone("CEST", 2*3600)

	tests := []struct {
		name       string
		ev         engine.Event
		deadLetter error // written with AppendDeadLetter when set
	}{
		{name: "file", ev: engine.Event{Time: goldenTime, Message: []byte("GET /index.html 200"),
			Stream: fileStream(), Offset: 1234}},
		{name: "file_no_offset", ev: engine.Event{Time: goldenTime, Message: []byte("x"), Stream: fileStream(),
			Offset: -1}},
		{name: "offset_no_path", ev: engine.Event{Time: goldenTime, Message: []byte("x"), Stream: noOffsets,
			Offset: 0}},
		{name: "no_log", ev: engine.Event{Time: goldenTime, Message: []byte(`{"uuid":"u-1","published":"x"}`),
			Stream: apiStream, Offset: -1, ID: []byte("u-1")}},
		{name: "extras", ev: engine.Event{Time: goldenTime, Message: []byte("started"), Stream: containerStream,
			Offset: 7, Extra: []byte(`,"stream":"stderr"`)}},
		{name: "escaping", ev: engine.Event{Time: goldenTime, Message: []byte("a\"b\\c\nd\re\tf\x01g\x7f é\xff"),
			Stream: quoted, Offset: 3, ID: []byte("id\"1")}},
		{name: "non_utc_time", ev: engine.Event{Time: time.Date(2026, 1, 1, 1, 30, 0, 5, zone),
			Message: []byte("x"), Stream: fileStream(), Offset: 1}},
		{name: "dead_letter", ev: engine.Event{Time: goldenTime, Message: []byte("GET /index.html 200"),
			Stream: fileStream(), Offset: 1234}, deadLetter: errors.New(`mapper_parsing_exception: "message"`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var enc eventjson.Encoder
			var got []byte
			if tt.deadLetter != nil {
				got = enc.AppendDeadLetter(nil, &tt.ev, tt.deadLetter)
			} else {
				got = enc.Append(nil, &tt.ev)
			}
			if !json.Valid(got) {
				t.Fatalf("invalid JSON: %s", got)
			}
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestAppendDocExample checks the exact shape given in DESIGN.md section 5 without depending on a golden file.
func TestAppendDocExample(t *testing.T) {
	ev := engine.Event{Time: goldenTime, Message: []byte("GET /index.html 200"), Stream: fileStream(), Offset: 1234}
	var enc eventjson.Encoder
	got := string(enc.Append(nil, &ev))
	id := string(ev.AppendID(nil))
	want := `{"@timestamp":"2026-11-21T10:00:00.123456789Z","message":"GET /index.html 200","id":"` + id +
		`","input":{"name":"app","type":"file"},"log":{"file":{"path":"/var/log/app/app.log"},"offset":1234},` +
		`"fields":{"env":"prod"}}`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if len(id) != engine.IDLen {
		t.Errorf("id %q has %d characters, want %d", id, len(id), engine.IDLen)
	}
}

func TestAppendAppendsToDst(t *testing.T) {
	ev := engine.Event{Time: goldenTime, Message: []byte("m"), Stream: fileStream(), Offset: 1}
	var enc eventjson.Encoder
	one := enc.Append(nil, &ev)
	two := enc.Append([]byte("prefix"), &ev)
	if string(two) != "prefix"+string(one) {
		t.Errorf("got %s, want prefix%s", two, one)
	}
}

func TestDeadLetterNilReason(t *testing.T) {
	ev := engine.Event{Time: goldenTime, Message: []byte("m"), Stream: fileStream(), Offset: 1}
	var enc eventjson.Encoder
	var doc struct {
		DeadLetter struct {
			Reason string `json:"reason"`
		} `json:"dead_letter"`
	}
	if err := json.Unmarshal(enc.AppendDeadLetter(nil, &ev, nil), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.DeadLetter.Reason != "unknown" {
		t.Errorf("reason %q, want unknown", doc.DeadLetter.Reason)
	}
}

func TestAppendDoesNotAllocate(t *testing.T) {
	ev := engine.Event{Time: goldenTime, Message: bytes.Repeat([]byte("GET /index.html 200 é\t"), 8),
		Stream: fileStream(), Offset: 1234, Extra: []byte(`,"stream":"stdout"`)}
	var enc eventjson.Encoder
	buf := make([]byte, 0, 4096)
	reason := errors.New("rejected")
	allocs := testing.AllocsPerRun(100, func() {
		buf = enc.Append(buf[:0], &ev)
		buf = enc.AppendDeadLetter(buf, &ev, reason)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per event, want 0", allocs)
	}
}

// TestEncoderReuse: an encoder that remembers what consecutive events share renders each event exactly as a fresh
// encoder does, whatever the order of streams and inputs (including look-alike inputs with different values).
func TestEncoderReuse(t *testing.T) {
	a := fileStream()
	b := engine.NewStream(&engine.Input{Name: "app", Type: "container"}, func(int64) {})
	b.Path = "/var/log/app/app.log"
	c := engine.NewStream(&engine.Input{Name: "other", Type: "file"}, func(int64) {})
	c.Path = "/var/log/other.log"
	d := engine.NewStream(&engine.Input{Name: "bad\xff", Type: "file"}, func(int64) {})
	d.Path = "/var/log/\xfe"
	var shared eventjson.Encoder
	for i, st := range []*engine.Stream{a, a, b, c, a, d, d, c, b} {
		ev := engine.Event{Time: goldenTime.Add(time.Duration(i) * time.Second), Message: []byte("m"), Stream: st,
			Offset: int64(i)}
		var fresh eventjson.Encoder
		if got, want := shared.Append(nil, &ev), fresh.Append(nil, &ev); !bytes.Equal(got, want) {
			t.Fatalf("event %d: reused encoder wrote\n%s\nfresh encoder wrote\n%s", i, got, want)
		}
	}
	if got := shared.InvalidUTF8.Load(); got != 2 {
		t.Errorf("InvalidUTF8 = %d, want 2 (both events of the stream with invalid name and path)", got)
	}
}
