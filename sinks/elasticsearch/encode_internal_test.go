package elasticsearch

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventjson"
)

func testEvent(id []byte) engine.Event {
	st := engine.NewStream(&engine.Input{Name: "app", Type: "file"}, nil)
	st.Path = "/var/log/app.log"
	st.IDSeed = engine.SeedID([]byte("app"))
	return engine.Event{Time: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), Message: []byte("GET / 200"),
		Stream: st, Offset: 42, ID: id}
}

func TestActionLine(t *testing.T) {
	p, err := parseIndex("logs-%{+yyyy.MM.dd}")
	if err != nil {
		t.Fatal(err)
	}
	ev := testEvent(nil)
	id := string(ev.AppendID(nil))
	for op, want := range map[string]string{
		"index":  `{"index":{"_index":"logs-2026.11.21","_id":"` + id + `"}}` + "\n",
		"create": `{"create":{"_index":"logs-2026.11.21","_id":"` + id + `"}}` + "\n",
	} {
		if got := string(newActionWriter(op, p).appendAction(nil, &ev)); got != want {
			t.Errorf("%s: %q, want %q", op, got, want)
		}
	}
}

// TestEncodeDoesNotAllocate: the action and the document of an event are appended without allocating.
func TestEncodeDoesNotAllocate(t *testing.T) {
	p, err := parseIndex("logs-%{+yyyy.MM.dd}")
	if err != nil {
		t.Fatal(err)
	}
	a := newActionWriter("index", p)
	var enc eventjson.Encoder
	evs := []engine.Event{testEvent(nil), testEvent([]byte("own-id \"q\" é"))}
	evs[1].Time = evs[1].Time.Add(24 * time.Hour) // another index: the cached prefix is re-rendered
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		buf = buf[:0]
		for i := range evs {
			buf = a.appendAction(buf, &evs[i])
			buf = enc.Append(buf, &evs[i])
			buf = append(buf, '\n')
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations, want 0", allocs)
	}
}

// FuzzIDMatchesDocument: whatever an event's own id holds, the action line is valid JSON and its _id decodes to
// the document's "id".
func FuzzIDMatchesDocument(f *testing.F) {
	for _, s := range []string{"", "plain", `q"\`, "\x00\x1f\x7f", "bad\xff\xc3", "é\u2028😀", "\xed\xa0\x80"} {
		f.Add([]byte(s))
	}
	p, err := parseIndex("logs")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id []byte) {
		ev := testEvent(id)
		action := newActionWriter("index", p).appendAction(nil, &ev)
		var enc eventjson.Encoder
		doc := enc.Append(nil, &ev)
		var a struct {
			Index struct {
				ID string `json:"_id"`
			} `json:"index"`
		}
		var d struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(action, &a); err != nil {
			t.Fatalf("action %q: %v", action, err)
		}
		if err := json.Unmarshal(doc, &d); err != nil {
			t.Fatalf("document %q: %v", doc, err)
		}
		if a.Index.ID != d.ID {
			t.Fatalf("_id %q, document id %q", a.Index.ID, d.ID)
		}
	})
}
