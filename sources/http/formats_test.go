package http_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/engine"
	httpsrc "github.com/flickerlog/flicker/sources/http"
)

func TestNDJSONEventsKeepTheDocument(t *testing.T) {
	t.Parallel()
	s := startServer(t, httpsrc.Config{}, engine.QueueLimits{})
	body := `{"message":"hello \"you\"","level":"info","n":1}
{"log":"from fluent bit","kubernetes":{"pod":"a"}}

{"other":1,"@timestamp":"2026-11-21T10:00:00.5Z"}
"a plain string"
42
`
	r := send(t, "POST", s.url+"/", []byte(body), "Content-Type", "application/x-ndjson")
	if r.status != 200 || field(decode(t, r.body), "events") != 4.0+1 {
		t.Fatalf("answer %d %s, want 200 with 5 events", r.status, r.body)
	}
	evs := s.sink.Events()
	if len(evs) != 5 {
		t.Fatalf("the output has %d events, want 5", len(evs))
	}
	want := []struct{ msg, fieldPath, fieldValue string }{
		{`hello "you"`, "level", "info"},
		{"from fluent bit", "log", "from fluent bit"},
		{`{"other":1,"@timestamp":"2026-11-21T10:00:00.5Z"}`, "@timestamp", "2026-11-21T10:00:00.5Z"},
		{"a plain string", "", ""},
		{"42", "", ""},
	}
	for i, w := range want {
		ev := evs[i]
		if ev["message"] != w.msg {
			t.Errorf("event %d message %q, want %q", i, ev["message"], w.msg)
		}
		if w.fieldPath != "" && field(ev, "fields", w.fieldPath) != w.fieldValue {
			t.Errorf("event %d fields.%s = %v, want %q", i, w.fieldPath, field(ev, "fields", w.fieldPath), w.fieldValue)
		}
		if field(ev, "source", "address") != "127.0.0.1" || field(ev, "input", "type") != "http" {
			t.Errorf("event %d: source %v input %v", i, ev["source"], ev["input"])
		}
		if id, _ := ev["id"].(string); len(id) != engine.IDLen {
			t.Errorf("event %d id %q", i, id)
		}
	}
	if evs[2]["@timestamp"] != "2026-11-21T10:00:00.500000000Z" {
		t.Errorf("@timestamp of a document with one = %v", evs[2]["@timestamp"])
	}
	if evs[0]["id"] == evs[1]["id"] {
		t.Error("two events of one request share an id")
	}
	// The same body again gives the same ids: a retry after a 503 overwrites rather than duplicates.
	send(t, "POST", s.url+"/", []byte(body))
	evs = s.sink.Events()
	if evs[5]["id"] != evs[0]["id"] {
		t.Errorf("ids of a resent body %v, first time %v", evs[5]["id"], evs[0]["id"])
	}
}

func TestJSONArray(t *testing.T) {
	t.Parallel()
	s := startServer(t, httpsrc.Config{FieldsUnderRoot: true}, engine.QueueLimits{})
	r := send(t, "POST", s.url+"/", []byte(` [{"message":"a","app":"x","source":"dropped"}, {"event":"b"}, "c"] `))
	if r.status != 200 {
		t.Fatalf("answer %d %s", r.status, r.body)
	}
	evs := s.sink.Events()
	if len(evs) != 3 || evs[0]["message"] != "a" || evs[1]["message"] != "b" || evs[2]["message"] != "c" {
		t.Fatalf("events %v", evs)
	}
	if evs[0]["app"] != "x" || evs[0]["fields"] != nil || field(evs[0], "source", "address") != "127.0.0.1" {
		t.Errorf("fields_under_root: event %v, want app at the top and source from the request", evs[0])
	}
	if r := send(t, "POST", s.url+"/", []byte(`[]`)); r.status != 200 || field(decode(t, r.body), "events") != 0.0 {
		t.Errorf("empty array: %d %s", r.status, r.body)
	}
	if r := send(t, "POST", s.url+"/services/collector/raw?host=h1&source=s&index=i", []byte("raw")); r.status != 200 {
		t.Fatalf("raw: %d %s", r.status, r.body)
	}
	raw := s.sink.Events()[3]
	if raw["host"] != "h1" || raw["index"] != "i" || field(raw, "source", "address") != "127.0.0.1" {
		t.Errorf("fields_under_root: raw event %v, want host and index at the top and source from the request", raw)
	}
}

func TestMalformedBodiesShipNothing(t *testing.T) {
	t.Parallel()
	s := startServer(t, httpsrc.Config{}, engine.QueueLimits{})
	for _, c := range []struct{ name, path, body, reason string }{
		{"ndjson second line", "/", "{\"message\":\"ok\"}\n{\"message\":\n", "line 2"},
		{"ndjson plain text", "/", "{\"message\":\"ok\"}\nplain text\n", "line 2"},
		{"ndjson bad escape", "/", `{"message":"\x"}`, "escape"},
		{"array cut", "/", `[{"message":"ok"},`, "JSON"},
		{"empty", "/", "", "empty body"},
		{"not utf-8", "/", "{\"message\":\"\xff\"}", "UTF-8"},
		{"bulk without document", "/_bulk", "{\"index\":{\"_index\":\"x\"}}\n", "no document"},
		{"bulk bad action", "/_bulk", "{\"index\":{\"_index\":\"x\"}}\n{\"a\":1}\n{\"nonsense\":{}}\n{}\n", "unknown action"},
		{"bulk document not an object", "/_bulk", "{\"index\":{\"_index\":\"x\"}}\n[1]\n", "object"},
	} {
		r := send(t, "POST", s.url+c.path, []byte(c.body))
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), c.reason) {
			t.Errorf("%s: answer %d %s, want 400 naming %q", c.name, r.status, r.body, c.reason)
		}
	}
	if st := s.pipe.Stats(); st.EventsIn != 0 {
		t.Fatalf("%d events of malformed bodies were queued", st.EventsIn)
	}
	st, _ := s.src.Stats("ingest")
	if st.Rejected[httpsrc.RejectMalformed] != 9 {
		t.Errorf("rejected as malformed: %d, want 9", st.Rejected[httpsrc.RejectMalformed])
	}
}
