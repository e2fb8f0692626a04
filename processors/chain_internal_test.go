package processors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventjson"
	"github.com/go-json-experiment/json/jsontext"
)

// splitParser is a dissect-like fake: its pattern is the field names, and a value is split at single spaces
// into as many parts.
type splitParser struct{ keys []string }

func (p *splitParser) Parse(val []byte, out Setter) error {
	for i, key := range p.keys {
		if i == len(p.keys)-1 {
			out.SetString(key, val)
			return nil
		}
		sp := bytes.IndexByte(val, ' ')
		if sp < 0 {
			return fmt.Errorf(`expected " " at byte %d`, len(val))
		}
		out.SetString(key, val[:sp])
		val = val[sp+1:]
	}
	return nil
}

// jsonParser is a parse_json fake over jsontext: strings through SetString, other values through SetRaw.
type jsonParser struct{}

func (jsonParser) Parse(val []byte, out Setter) error {
	dec := jsontext.NewDecoder(bytes.NewReader(val), jsontext.AllowInvalidUTF8(true))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return errors.New("not a JSON object")
	}
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		name := tok.String()
		v, err := dec.ReadValue()
		if err != nil {
			return err
		}
		if v.Kind() == '"' {
			s, _ := jsontext.AppendUnquote(nil, v)
			out.SetString(name, s)
		} else {
			out.SetRaw(name, v)
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	return nil
}

// fakeParsers builds dissect as splitParser (its pattern: field names separated by spaces) and parse_json as
// jsonParser.
func fakeParsers(kind string, c *Config) (Parser, error) {
	switch kind {
	case "dissect":
		if c.Dissect.Pattern == "" {
			return nil, errors.New("empty pattern")
		}
		return &splitParser{keys: strings.Fields(c.Dissect.Pattern)}, nil
	case "parse_json":
		return jsonParser{}, nil
	}
	return nil, fmt.Errorf("no fake %s", kind)
}

func mustBuild(t testing.TB, list []Config) *Chain {
	t.Helper()
	c, err := build("test", list, fakeParsers)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var readTime = time.Date(2026, 12, 7, 10, 0, 0, 5, time.UTC)

func fileStream(fieldsJSON string) *engine.Stream {
	in := &engine.Input{Name: "test", Type: "file", FieldsJSON: []byte(fieldsJSON)}
	st := engine.NewStream(in, func(int64) {})
	st.Path = "/var/log/app.log"
	return st
}

// encode runs ev through the chain and returns the encoded event, checked to be JSON without a name twice, as a
// map; nil when the event was dropped.
func encode(t testing.TB, c *Chain, ev engine.Event) map[string]any {
	t.Helper()
	if !c.Process(&ev) {
		if !ev.Filtered {
			t.Fatal("dropped event not marked Filtered")
		}
		return nil
	}
	var enc eventjson.Encoder
	checkNoDuplicates(t, enc.AppendDeadLetter(nil, &ev, errors.New("rejected")))
	b := enc.Append(nil, &ev)
	checkNoDuplicates(t, b)
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// at returns the value at a dotted path of doc.
func at(doc map[string]any, path string) any {
	var v any = doc
	for _, seg := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[seg]
	}
	return v
}

func str(p string) *string { return &p }

func TestChainAccessLog(t *testing.T) {
	c := mustBuild(t, []Config{
		{Dissect: &DissectConfig{Pattern: "client.ip ts http.request.method http.response.status_code url"}},
		{Timestamp: &TimestampConfig{Field: "ts", Layouts: []string{"02/Jan/2006:15:04:05-0700"}, Remove: true}},
		{Drop: &DropConfig{If: Condition{Field: "http.response.status_code", Equals: str("200")}}},
		{AddFields: &AddFieldsConfig{Target: "service", Fields: map[string]string{"name": "web", "env": "prod"}}},
	})
	st := fileStream(`,"fields":{"env":"prod"}`)
	doc := encode(t, c, engine.Event{Time: readTime, Stream: st, Offset: 10,
		Message: []byte("10.0.0.1 21/Nov/2026:10:00:00+0200 GET 404 /index.html")})
	want := map[string]any{
		"@timestamp":                     "2026-11-21T08:00:00.000000000Z",
		"message":                        "10.0.0.1 21/Nov/2026:10:00:00+0200 GET 404 /index.html",
		"client.ip":                      "10.0.0.1",
		"http.request.method":            "GET",
		"http.response.status_code":      "404",
		"url":                            "/index.html",
		"event.ingested":                 "2026-12-07T10:00:00.000000005Z",
		"service.name":                   "web",
		"service.env":                    "prod",
		"fields.env":                     "prod",
		"log.offset":                     float64(10),
		"log.file.path":                  "/var/log/app.log",
		"ts":                             nil,
		"error":                          nil,
		"http.response.status_code.more": nil,
	}
	for path, v := range want {
		if got := at(doc, path); got != v {
			t.Errorf("%s = %#v, want %#v", path, got, v)
		}
	}
	if doc := encode(t, c, engine.Event{Time: readTime, Stream: st, Offset: 20,
		Message: []byte("10.0.0.1 21/Nov/2026:10:00:00+0200 GET 200 /index.html")}); doc != nil {
		t.Errorf("event with status 200 kept: %v", doc)
	}
}

func TestChainParserFailure(t *testing.T) {
	c := mustBuild(t, []Config{
		{Dissect: &DissectConfig{Pattern: "a b c"}},
		{AddFields: &AddFieldsConfig{Fields: map[string]string{"after": "yes"}}},
		{Dissect: &DissectConfig{Pattern: "x y", ParserCommon: ParserCommon{Field: "nothere"}}},
	})
	st := fileStream("")
	for range 3 {
		doc := encode(t, c, engine.Event{Time: readTime, Stream: st, Offset: 0, Message: []byte("one two")})
		// Both parsers fail; the first failure, the cause, is the one told.
		if got, want := at(doc, "error.message"), `dissect[0]: expected " " at byte 3`; got != want {
			t.Errorf("error.message = %v, want %q", got, want)
		}
		if at(doc, "a") != nil || at(doc, "b") != nil {
			t.Errorf("fields of the failed parser kept: %v", doc)
		}
		if at(doc, "after") != "yes" {
			t.Errorf("processor after the failed parser did not run: %v", doc)
		}
		if at(doc, "message") != "one two" {
			t.Errorf("message = %v", at(doc, "message"))
		}
	}
	counts := map[string]uint64{}
	c.ErrorCounts(func(p string, n uint64) { counts[p] = n })
	want := map[string]uint64{"dissect[0]": 3, "add_fields": 0, "dissect[2]": 3}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("ErrorCounts = %v, want %v", counts, want)
	}
}

func TestChainErrorMessageNamesProcessor(t *testing.T) {
	c := mustBuild(t, []Config{{Dissect: &DissectConfig{Pattern: "a b c"}},
		{Timestamp: &TimestampConfig{Field: "c", Layouts: []string{"UNIX"}}}})
	// A malformed line as a source ships it: its error.message is replaced by the processor's.
	doc := encode(t, c, engine.Event{Time: readTime, Stream: fileStream(""), Offset: 0, Message: []byte("one"),
		Extra: []byte(`,"error":{"message":"malformed"}`)})
	if got, want := at(doc, "error.message"), `dissect: expected " " at byte 3`; got != want {
		t.Errorf("error.message = %v, want %q", got, want)
	}
}

// TestChainCollisions sets, through parse_json, a field at every name the encoder or the source writes, and
// checks what becomes of each, with the whole event free of duplicate names.
func TestChainCollisions(t *testing.T) {
	c := mustBuild(t, []Config{
		{ParseJSON: &ParseJSONConfig{}},
		{AddFields: &AddFieldsConfig{Target: "fields", Fields: map[string]string{"team": "a"}}},
	})
	in := &engine.Input{Name: "k8s", Type: "container", FieldsJSON: []byte(`,"fields":{"env":"prod"}`)}
	st := engine.NewStream(in, func(int64) {})
	st.Path = "/var/log/containers/web.log"
	st.Extra = []byte(`,"container":{"id":"abc","image":{"name":"nginx"}},"kubernetes":{"namespace":"web"}`)
	line := `{"message":"hello","@timestamp":"2026-11-21T10:00:00.5+01:00","id":"x1","input":"i","dead_letter":1,` +
		`"log":{"level":"warn","offset":3,"file":"f"},"container":{"name":"web","image":{"tag":"1"}},"stream":"x"}`
	doc := encode(t, c, engine.Event{Time: readTime, Stream: st, Offset: 42, Message: []byte(line),
		Extra: []byte(`,"stream":"stderr"`)})
	want := map[string]any{
		"message":              "hello",
		"@timestamp":           "2026-11-21T09:00:00.500000000Z",
		"id_":                  "x1",
		"input_":               "i",
		"input.name":           "k8s",
		"log.level":            "warn",
		"log.offset":           float64(42),
		"log.offset_":          float64(3),
		"log.file.path":        "/var/log/containers/web.log",
		"log.file_":            "f",
		"container.id":         "abc",
		"container.name":       "web",
		"container.image.name": "nginx",
		"container.image.tag":  "1",
		"kubernetes.namespace": "web",
		"fields.env":           "prod",
		"fields.team":          "a",
		"stream":               "stderr", // the source's member wins over the line's
	}
	for path, v := range want {
		if got := at(doc, path); got != v {
			t.Errorf("%s = %#v, want %#v", path, got, v)
		}
	}
	if _, ok := doc["id"].(string); !ok {
		t.Errorf("id is %#v, want the event's id", doc["id"])
	}
}

func TestChainTimestampFieldNotRFC3339(t *testing.T) {
	c := mustBuild(t, []Config{{ParseJSON: &ParseJSONConfig{}}})
	doc := encode(t, c, engine.Event{Time: readTime, Stream: fileStream(""), Offset: 0,
		Message: []byte(`{"@timestamp":"yesterday","log":"a string"}`)})
	for path, v := range map[string]any{"@timestamp": "2026-12-07T10:00:00.000000005Z", "@timestamp_": "yesterday",
		"log_": "a string", "log.offset": float64(0), "message": ""} {
		if got := at(doc, path); got != v {
			t.Errorf("%s = %#v, want %#v", path, got, v)
		}
	}
}

func TestChainKeepMessage(t *testing.T) {
	line := `{"a":1}`
	tests := []struct {
		name string
		cfg  ParseJSONConfig
		want map[string]any
	}{
		{"removed", ParseJSONConfig{}, map[string]any{"message": "", "a": float64(1)}},
		{"kept", ParseJSONConfig{KeepMessage: true}, map[string]any{"message": line, "a": float64(1)}},
		{"under a target", ParseJSONConfig{ParserCommon: ParserCommon{Target: "j"}},
			map[string]any{"message": "", "j.a": float64(1)}},
		{"other field", ParseJSONConfig{ParserCommon: ParserCommon{Field: "raw"}},
			map[string]any{"message": "m", "a": float64(1), "raw": line}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			c := mustBuild(t, []Config{
				{AddFields: &AddFieldsConfig{Fields: map[string]string{"raw": line}}},
				{ParseJSON: &cfg},
			})
			msg := line
			if cfg.Field == "raw" {
				msg = "m"
			}
			doc := encode(t, c, engine.Event{Time: readTime, Stream: fileStream(""), Offset: 0, Message: []byte(msg)})
			delete(tt.want, "raw")
			for path, v := range tt.want {
				if got := at(doc, path); got != v {
					t.Errorf("%s = %#v, want %#v", path, got, v)
				}
			}
		})
	}
}

// TestProcessReusedEvent processes an event slot a source refills in place: what the chain set on the last
// event held there must not carry over.
func TestProcessReusedEvent(t *testing.T) {
	c := mustBuild(t, []Config{{ParseJSON: &ParseJSONConfig{KeepMessage: true}},
		{Drop: &DropConfig{If: Condition{Field: "drop", Exists: yes()}}}})
	in := &engine.Input{Name: "k8s", Type: "container"}
	st := engine.NewStream(in, func(int64) {})
	st.Extra = []byte(`,"container":{"id":"abc"}`)
	ev := engine.Event{Time: readTime, Stream: st, Offset: 0, Message: []byte(`{"log":{"level":"x"},"container":{"n":1}}`)}
	if !c.Process(&ev) || len(ev.LogExtra) == 0 || !ev.ExtraReplacesStream {
		t.Fatalf("first event: %+v", ev)
	}
	ev.Time, ev.Message, ev.Offset, ev.Extra = readTime, []byte(`{"a":1,"drop":true}`), 1, nil // a source's refill
	if c.Process(&ev) || !ev.Filtered {
		t.Fatalf("second event not dropped")
	}
	ev.Time, ev.Message, ev.Offset, ev.Extra = readTime, []byte(`{"a":1}`), 2, nil
	if !c.Process(&ev) || ev.Filtered || len(ev.LogExtra) != 0 || ev.ExtraReplacesStream {
		t.Errorf("third event carries the earlier ones' marks: %+v", ev)
	}
}
