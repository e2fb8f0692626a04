package processors

import (
	"testing"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventjson"
)

// FuzzProcessEncode parses any JSON object line at the top level of events whose stream and input write members
// of their own, edits the fields, and checks that the encoded event never has a name twice in an object:
// whatever the line holds (message, @timestamp, id, input, log, container, fields, dotted names), the chain
// renames or merges it.
func FuzzProcessEncode(f *testing.F) {
	for _, s := range []string{
		`{"message":"m","@timestamp":"2026-11-21T10:00:00Z","id":1,"input":{"a":1},"log":{"offset":1,"file":{"x":1}}}`,
		`{"container":{"id":"x","image":{"tag":"1"}},"fields":{"env":"dev"},"stream":"x","env":"y"}`,
		`{"log":"text","container":3,"kubernetes.namespace":"n","a.b":1,"a":{"c":2}}`,
		`{"@timestamp":{"x":1},"@timestamp.y":2,"message":{"a":[1,2]},"message.b":3}`,
		`{"":{"":1},"a..b":2,".":3,"log.":4,"dead_letter":{"reason":"x"}}`,
		"{\"a\":{\"b\xff\":[\"\xc3\"]},\"log\":{\"x\":\"\xff\"}}",
	} {
		f.Add(s)
	}
	c := mustBuild(f, []Config{
		{ParseJSON: &ParseJSONConfig{}},
		{Rename: &RenameConfig{Fields: []RenamePair{{From: "a", To: "container.a"}}, IgnoreMissing: true}},
		{AddFields: &AddFieldsConfig{Target: "fields", Fields: map[string]string{"team": "a"}}},
	})
	in := &engine.Input{Name: "k8s", Type: "container", FieldsJSON: []byte(`,"fields":{"env":"prod"},"env":"x"`)}
	st := engine.NewStream(in, func(int64) {})
	st.Path = "/var/log/containers/web.log"
	st.Extra = []byte(`,"container":{"id":"abc","image":{"name":"nginx"}},"kubernetes":{"namespace":"web"}`)
	var enc eventjson.Encoder
	f.Fuzz(func(t *testing.T, line string) {
		for _, offset := range []int64{3, -1} {
			ev := engine.Event{Time: readTime, Stream: st, Offset: offset, Message: []byte(line),
				Extra: []byte(`,"stream":"stderr","log":{"flags":["truncated"]}`)}
			if !c.Process(&ev) {
				t.Fatal("dropped")
			}
			checkNoDuplicates(t, enc.Append(nil, &ev))
			checkNoDuplicates(t, enc.AppendDeadLetter(nil, &ev, nil))
		}
	})
}
