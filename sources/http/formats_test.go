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
	// The same body again, without a request id, is another request: its events get other ids (identical lines
	// from two senders must not collapse into one document).
	send(t, "POST", s.url+"/", []byte(body))
	evs = s.sink.Events()
	if evs[5]["id"] == evs[0]["id"] {
		t.Errorf("the same body sent twice without a request id got the same ids: %v", evs[0]["id"])
	}
}

// A sender that names its request (Idempotency-Key, X-Request-Id) gets the same ids on its retry: the
// Elasticsearch output overwrites. Two requests with the same body but no name, or other names, do not collapse.
func TestEventIDsFollowTheRequestID(t *testing.T) {
	t.Parallel()
	s := startServer(t, httpsrc.Config{}, engine.QueueLimits{})
	body := []byte(`{"message":"user logged in"}` + "\n")
	for _, h := range [][]string{nil, nil, {"Idempotency-Key", "a"}, {"Idempotency-Key", "a"}, {"X-Request-Id", "b"}, {"X-Request-Id", "a"}} {
		if r := send(t, "POST", s.url+"/", body, h...); r.status != 200 {
			t.Fatalf("%v: %d %s", h, r.status, r.body)
		}
	}
	evs := s.sink.Events()
	if len(evs) != 6 {
		t.Fatalf("%d events, want 6", len(evs))
	}
	id := func(i int) any { return evs[i]["id"] }
	if id(0) == id(1) {
		t.Errorf("two requests of the same body without a request id share the id %v", id(0))
	}
	if id(2) != id(3) {
		t.Errorf("a retry with the same Idempotency-Key got another id: %v, then %v", id(2), id(3))
	}
	if id(4) == id(2) || id(4) == id(0) || id(5) != id(2) {
		t.Errorf("ids by request id: none %v, key a %v, X-Request-Id b %v, X-Request-Id a %v", id(0), id(2), id(4), id(5))
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
