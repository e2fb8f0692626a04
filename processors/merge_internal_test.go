package processors

import (
	"testing"

	"github.com/flickerlog/flicker/engine"
)

// A line's content does not replace what the source, the stream and the input's configured fields say about the
// event: their members win, and the line's fields only fill their gaps (an application cannot spoof routing or
// tenancy metadata).
func TestSourceStreamAndInputMembersWinOverTheLine(t *testing.T) {
	c, err := Build("k8s", []Config{{ParseJSON: &ParseJSONConfig{}}})
	if err != nil {
		t.Fatal(err)
	}
	in := &engine.Input{Name: "k8s", Type: "container", FieldsJSON: []byte(`,"fields":{"env":"prod"},"tenant":"a"`)}
	st := engine.NewStream(in, func(int64) {})
	st.Path = "/var/log/containers/web.log"
	st.Extra = []byte(`,"api":{"endpoint":"/logs"}`)
	source := `,"stream":"stderr","kubernetes":{"namespace":"web","pod":{"name":"web-1"}},"container":{"id":"abc"}`
	for _, tc := range []struct {
		line string
		want map[string]any
	}{
		{`{"fields":{"env":"dev","team":"x"},"tenant":"b","msg":"m"}`,
			map[string]any{"fields.env": "prod", "fields.team": "x", "tenant": "a", "msg": "m"}},
		{`{"fields":"dev","tenant":{"x":1}}`, map[string]any{"fields.env": "prod", "tenant": "a"}},
		{`{"kubernetes.namespace":"spoof","kubernetes.pod.uid":"u","container":{"id":"x","name":"c"}}`,
			map[string]any{"kubernetes.namespace": "web", "kubernetes.pod.name": "web-1", "kubernetes.pod.uid": "u",
				"container.id": "abc", "container.name": "c"}},
		{`{"kubernetes":"spoof","stream":"stdout","api":{"endpoint":"/x","n":1}}`,
			map[string]any{"kubernetes.namespace": "web", "stream": "stderr", "api.endpoint": "/logs", "api.n": 1.0}},
		{`{"kubernetes":{"namespace":"spoof","pod":{"name":"p","ip":"1"}}}`,
			map[string]any{"kubernetes.namespace": "web", "kubernetes.pod.name": "web-1", "kubernetes.pod.ip": "1"}},
	} {
		doc := encode(t, c, engine.Event{Time: readTime, Stream: st, Message: []byte(tc.line), Extra: []byte(source)})
		if doc["error"] != nil {
			t.Errorf("line %s: error %v", tc.line, doc["error"])
		}
		for path, want := range tc.want {
			if got := at(doc, path); got != want {
				t.Errorf("line %s: %s = %#v, want %#v", tc.line, path, got, want)
			}
		}
	}
}

// Putting the source's members back after a parser touches only those it shadowed: a member an edit removed
// before, under another name, stays removed.
func TestSourceMembersAnEditRemovedStayRemoved(t *testing.T) {
	c, err := Build("k8s", []Config{{DropFields: &DropFieldsConfig{Fields: []string{"container"}}},
		{ParseJSON: &ParseJSONConfig{}}})
	if err != nil {
		t.Fatal(err)
	}
	doc := encode(t, c, engine.Event{Time: readTime, Stream: fileStream(""), Message: []byte(`{"stream":"x","a":1}`),
		Extra: []byte(`,"stream":"stderr","container":{"id":"abc"}`)})
	if doc["stream"] != "stderr" || doc["container"] != nil || doc["a"] != 1.0 {
		t.Errorf("stream %v, container %v, a %v: want stderr, none, 1", doc["stream"], doc["container"], doc["a"])
	}
}
