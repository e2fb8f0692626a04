package processors

import (
	"fmt"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/engine"
)

// One event with many long fields does not leave its buffers' size in the scratch the next events reuse: every
// pooled slice and buffer of the field set and the renderer is let go past its bound.
func TestScratchLetsGoOfALargeEventsBuffers(t *testing.T) {
	c, err := Build("test", []Config{{ParseJSON: &ParseJSONConfig{ParserCommon: ParserCommon{Target: "t"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(`{`)
	name := strings.Repeat("k", 400)
	for i := range 900 {
		fmt.Fprintf(&b, `%q:{"%s.x":1},`, fmt.Sprint(name, i), name)
	}
	b.WriteString(`"last":1}`)
	s := c.pool.New().(*scratch)
	st := fileStream("")
	ev := engine.Event{Time: readTime, Stream: st, Message: []byte(b.String())}
	if !c.processWith(s, &ev, readTime) || len(ev.Extra) < 900*400 {
		t.Fatalf("large event not processed: error %q", ev.Extra[:min(len(ev.Extra), 200)])
	}
	small := engine.Event{Time: readTime, Stream: st, Message: []byte(`{"a":1}`)}
	if !c.processWith(s, &small, readTime) || string(small.Extra) != `,"t":{"a":1}` {
		t.Fatalf("small event: %s", small.Extra)
	}
	f, r := &s.fields, &s.render
	for name, n := range map[string]int{"entries": cap(f.entries), "journal": cap(f.journal),
		"members": cap(f.members), "trace": cap(f.trace), "rest": cap(r.rest), "done": cap(r.done),
		"stack": cap(r.stack), "top": cap(r.top), "ord": cap(r.ord), "spans": cap(r.spans),
		"shape.ends": cap(r.shape.ends), "shape.cuts": cap(r.shape.extra.cuts)} {
		if n > maxKeptSlots {
			t.Errorf("%s keeps room for %d elements, want at most %d", name, n, maxKeptSlots)
		}
	}
	for name, n := range map[string]int{"keys": cap(f.keys), "vals": cap(f.vals), "shape.keys": cap(r.shape.keys),
		"shape.lits": cap(r.shape.extra.lits)} {
		if n > maxKeptBuffer {
			t.Errorf("%s keeps %d bytes, want at most %d", name, n, maxKeptBuffer)
		}
	}
}
