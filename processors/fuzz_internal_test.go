package processors

import (
	"encoding/json"
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

// FuzzProcessEncodeRealParsers is FuzzProcessEncode with the real parse_json and parse_logfmt (whichever reads
// the line), a rename and add_fields, over a container stream whose source, stream and input write members of
// their own: the encoded event is valid JSON with no name twice in an object, whatever the line holds.
func FuzzProcessEncodeRealParsers(f *testing.F) {
	for _, s := range []string{
		`{"message":"m","@timestamp":"2026-11-21T10:00:00Z","id":1,"input":{"a":1},"log":{"offset":1,"file":{"x":1}}}`,
		`{"container":{"id":"x","image":{"tag":"1"}},"fields":{"env":"dev"},"stream":"x","env":"y","a":{"b":1}}`,
		`{"log":"text","container":3,"kubernetes.namespace":"n","a.b":1,"a":{"c":2},"error":"e"}`,
		`{"kubernetes":{"namespace":"x","pod":{"name":"p"}},"kubernetes.pod.uid":"u","fields.team":1}`,
		`level=info msg="a \"b\"" a=1 a.b=2 fields.env=dev kubernetes.namespace=x stream=out log=1 error=x`,
		`container=1 container.id=2 env=1 env.x=2 message.a=1 @timestamp=x id.x=1 input=2 dead_letter=1`,
		"a.b\xff=1 \xc3=2 a..b=3 .=4",
	} {
		f.Add(s)
	}
	c, err := Build("k8s", []Config{
		{ParseJSON: &ParseJSONConfig{}},
		{ParseLogfmt: &ParseLogfmtConfig{ParserCommon: ParserCommon{IgnoreMissing: true}}},
		{Rename: &RenameConfig{Fields: []RenamePair{{From: "a", To: "container.a"}}, IgnoreMissing: true}},
		{AddFields: &AddFieldsConfig{Target: "fields", Fields: map[string]string{"team": "a"}}},
	})
	if err != nil {
		f.Fatal(err)
	}
	in := &engine.Input{Name: "k8s", Type: "container", FieldsJSON: []byte(`,"fields":{"env":"prod"},"env":"x"`)}
	st := engine.NewStream(in, func(int64) {})
	st.Path = "/var/log/containers/web.log"
	st.Extra = []byte(`,"container":{"id":"abc","image":{"name":"nginx"}},"api":{"endpoint":"/e"}`)
	var enc eventjson.Encoder
	f.Fuzz(func(t *testing.T, line string) {
		ev := engine.Event{Time: readTime, Stream: st, Offset: 3, Message: []byte(line),
			Extra: []byte(`,"stream":"stderr","kubernetes":{"namespace":"web","pod":{"name":"p"}},"log":{"flags":["truncated"]}`)}
		if !c.Process(&ev) {
			t.Fatal("dropped")
		}
		for _, doc := range [][]byte{enc.Append(nil, &ev), enc.AppendDeadLetter(nil, &ev, nil)} {
			if !json.Valid(doc) {
				t.Fatalf("not valid JSON: %s", doc)
			}
			checkNoDuplicates(t, doc)
		}
	})
}
