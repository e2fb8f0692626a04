package processors

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventjson"
	"github.com/go-json-experiment/json/jsontext"
)

// The fast paths of the chain: each test shows one is taken where it may be, and not where it may not.

func TestValueInParsedInputKeptWithoutCopy(t *testing.T) {
	var f fieldSet
	msg := []byte("GET /a 200")
	f.input = msg
	f.SetString("method", msg[:3])
	own := []byte("/a") // the same bytes as in the input, in the parser's own buffer
	f.SetString("path", own)
	f.SetRaw("status", msg[7:])
	f.input = nil
	own[0] = 'X' // the parser reuses its buffer once it returned

	if i := f.find("method"); i < 0 || !within(f.entries[i].val, msg) {
		t.Errorf("method: the value lying in the parsed input was copied")
	}
	if i := f.find("path"); i < 0 || within(f.entries[i].val, own) {
		t.Errorf("path: the value in the parser's own buffer was not copied")
	}
	if got, want := renderAll(&f), `{"method":"GET","path":"/a","status":200}`; got != want {
		t.Errorf("rendered %s, want %s", got, want)
	}
	// Outside a parser's call nothing is taken as is: event.ingested is formatted in a reused buffer.
	buf := []byte("2026")
	f.SetString("later", buf[:2])
	if i := f.find("later"); within(f.entries[i].val, buf) {
		t.Errorf("a value set outside a parser's call was not copied")
	}
}

func TestWithin(t *testing.T) {
	b := []byte("0123456789")
	tests := []struct {
		name  string
		inner []byte
		want  bool
	}{
		{"whole", b, true},
		{"middle", b[3:5], true},
		{"empty", b[3:3], false},
		{"the end", b[5:], true},
		{"other bytes, same text", []byte("0123"), false},
	}
	for _, tt := range tests {
		if got := within(tt.inner, b); got != tt.want {
			t.Errorf("%s: within = %v, want %v", tt.name, got, tt.want)
		}
	}
	// A slice that starts inside and ends past: the bytes after b are not b's.
	big := []byte("0123456789abcdef")
	if within(big[4:12], big[:8]) {
		t.Error("a slice running past outer's end counted as within it")
	}
}

func TestParseJSONPlainStringsAsTheirText(t *testing.T) {
	p := NewJSON(0)
	var f fieldSet
	val := []byte(`{"a":"plain","b":"esc\"aped\u0041","c":"caf` + "\xe9" + `"}`)
	f.input = val
	if err := p.Parse(val, &f); err != nil {
		t.Fatal(err)
	}
	f.input = nil
	for _, tt := range []struct {
		key, text string
		inInput   bool
	}{{"a", "plain", true}, {"b", `esc"apedA`, false}, {"c", "caf\uFFFD", false}} {
		i := f.find(tt.key)
		if i < 0 {
			t.Fatalf("%s: missing", tt.key)
		}
		if got := f.entryText(i); !bytes.Equal(got, []byte(tt.text)) {
			t.Errorf("%s: %q, want %q", tt.key, got, tt.text)
		}
		if within(f.entries[i].val, val) != tt.inInput {
			t.Errorf("%s: value in the parsed input = %v, want %v", tt.key, !tt.inInput, tt.inInput)
		}
	}
}

// step is one change in a traced-set test: an op, or "mark" / "undo" (a parser that fails), or, with target set,
// a SetString through a targetSetter (its keys are stored in the set's buffer, which the next event reuses).
type traceStep struct {
	op     op
	mark   bool
	undo   bool
	target string
}

func applySteps(f *fieldSet, steps []traceStep) {
	var entries, journal int
	for _, s := range steps {
		switch {
		case s.mark:
			entries, journal = f.mark()
		case s.undo:
			f.undo(entries, journal)
		case s.target != "":
			ts := targetSetter{f: f, target: s.target}
			ts.SetString(s.op.key, []byte(s.op.val))
		default:
			apply(f, []op{s.op})
		}
	}
}

// TestPutFastPathAgreesWithSlowPath processes events one after the other on one field set, as a scratch does,
// and renders each like a set that never saw another event: put's fast path must never skip a key that a
// comparison would have found equal to, above or under another.
func TestPutFastPathAgreesWithSlowPath(t *testing.T) {
	s := func(key, val string) traceStep { return traceStep{op: op{"s", key, val}} }
	d := func(key string) traceStep { return traceStep{op: op{"d", key, ""}} }
	mark, undo := traceStep{mark: true}, traceStep{undo: true}
	under := func(target, key string) traceStep { return traceStep{op: op{"s", key, "v"}, target: target} }
	tests := []struct {
		name   string
		events [][]traceStep
	}{
		{"same keys, then a conflict on the second event",
			[][]traceStep{{s("a", "1"), s("b", "2")}, {s("a", "1"), s("a", "3"), s("b", "2")}, {s("a", "1"), s("b", "2")}}},
		{"a key above one of the last event's",
			[][]traceStep{{s("x", "1"), s("a.b", "2")}, {s("a", "1"), s("a.b", "2")}, {s("x", "1"), s("a.b", "2")}}},
		{"a key under one of the last event's",
			[][]traceStep{{s("a.b", "1"), s("c", "2")}, {s("a.b", "1"), s("a.b.c", "2")}, {s("a.b", "1"), s("c", "2")}}},
		{"a deleted key is still a key",
			[][]traceStep{{s("a", "1"), d("a"), s("a.b", "2")}, {s("a", "1"), s("a.b", "2")}}},
		{"undo of a failed parser",
			[][]traceStep{{s("a", "1"), s("b.c", "2")}, {mark, s("a", "1"), undo, s("b", "3"), s("b.c", "4")},
				{s("a", "1"), s("b.c", "2")}}},
		{"keys stored in the set's buffer",
			[][]traceStep{{under("t", "aa"), under("t", "bb")}, {under("t", "cc"), under("t", "cc")},
				{under("t", "aa"), under("t", "aa.x")}}},
		{"keys of other lengths at the same place in the set's buffer",
			[][]traceStep{{under("t", "aa")}, {under("t", "aaa")}, {under("t", "a")}, {under("t", "a")}}},
		{"a key string with the same bytes at another address",
			[][]traceStep{{s("a", "1"), s("b", "2")}, {s(strings.Clone("a"), "3"), s("a", "4"), s("b", "5")},
				{s("a", "1"), s(strings.Clone("b"), "2"), s("b", "6")}}},
		{"the message set by a parser",
			[][]traceStep{{s("x", "1")}, {s("message.a", "1"), s("x", "2")}, {s("x", "3")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var traced fieldSet
			for i, steps := range tt.events {
				ev := &engine.Event{Message: []byte("m")}
				traced.load(ev)
				applySteps(&traced, steps)
				var fresh fieldSet
				fresh.load(ev)
				applySteps(&fresh, steps)
				got, want := renderAll(&traced), renderAll(&fresh)
				if got != want {
					t.Errorf("event %d: got %s, want %s", i, got, want)
				}
				checkNoDuplicates(t, []byte(got))
				traced.reset()
			}
		})
	}
}

func TestPutFastPathTaken(t *testing.T) {
	var f fieldSet
	keys := []string{"source.address", "http.request.method", "url.original", "event.ingested"}
	for range 3 {
		f.load(&engine.Event{Message: []byte("m")})
		for _, k := range keys {
			f.SetString(k, []byte("v"))
		}
		f.delete("url.original")
	}
	if f.same != len(keys)+1 {
		t.Errorf("the third event's keys, the same strings as the last's, matched %d entries of %d", f.same, len(keys)+1)
	}
	if got, want := renderAll(&f), `{"source":{"address":"v"},"http":{"request":{"method":"v"}},"event":{"ingested":"v"}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// FuzzFieldSetTrace runs the fuzzer's changes as three events on one field set and checks each against a set
// that never saw another event.
func FuzzFieldSetTrace(f *testing.F) {
	f.Add([]byte{0, 1, 4, 2, 255, 0, 1, 4, 2, 255, 0, 1, 4, 2})
	f.Add([]byte{4, 0, 8, 0, 255, 0, 0, 4, 0, 255, 4, 0, 8, 0})
	f.Add([]byte{3, 0, 4, 1, 8, 2, 255, 3, 0, 2, 0, 8, 2, 255, 3, 0, 4, 1, 8, 2})
	keys := []string{"a", "a.b", "a.b.c", "a.c", "b", "b.a", "log", "log.level", "message", "message.x", "c"}
	f.Fuzz(func(t *testing.T, prog []byte) {
		events := bytes.SplitN(prog, []byte{255}, 3)
		var traced fieldSet
		for _, ev := range events {
			var steps []traceStep
			for i := 0; i+1 < len(ev); i += 2 {
				key := keys[int(ev[i]>>3)%len(keys)]
				switch ev[i] & 7 {
				case 0, 1:
					steps = append(steps, traceStep{op: op{"s", key, "v"}})
				case 2:
					steps = append(steps, traceStep{op: op{"r", key, `{"b":1,"c":{"d":2}}`}})
				case 3:
					steps = append(steps, traceStep{op: op{"d", key, ""}})
				case 4:
					steps = append(steps, traceStep{op: op{"m", key, keys[int(ev[i+1])%len(keys)]}})
				case 5:
					steps = append(steps, traceStep{mark: true})
				case 6:
					steps = append(steps, traceStep{undo: true})
				case 7:
					steps = append(steps, traceStep{op: op{"s", key, "v"}, target: keys[int(ev[i+1])%len(keys)]})
				}
			}
			e := &engine.Event{Message: []byte("m")}
			traced.load(e)
			applySteps(&traced, steps)
			var fresh fieldSet
			fresh.load(e)
			applySteps(&fresh, steps)
			got, want := renderAll(&traced), renderAll(&fresh)
			if got != want {
				t.Fatalf("got %s, want %s", got, want)
			}
			checkNoDuplicates(t, []byte(got))
			traced.reset()
		}
	})
}

// TestRenderedIntoTheArena keeps the rendered bytes of every event and checks them after the later ones: an
// event rendered longer than the room guessed for it (each control character is written as six bytes) moves
// to a larger chunk without touching what earlier events were handed.
func TestRenderedIntoTheArena(t *testing.T) {
	c := mustBuild(t, []Config{{Dissect: &DissectConfig{Pattern: "a log.b"}}})
	st := fileStream("")
	lines := []string{"x y", strings.Repeat("\x01", 3000) + " z", "x2 y2"}
	for range arenaChunk / 32 { // enough short ones to reach a chunk's end
		lines = append(lines, "s t")
	}
	lines = append(lines, strings.Repeat("\x02", 5000)+" w", "x3 y3")
	type kept struct{ extra, logExtra, copyExtra, copyLog []byte }
	var all []kept
	for _, line := range lines {
		ev := engine.Event{Time: readTime, Stream: st, Offset: 0, Message: []byte(line)}
		if !c.Process(&ev) {
			t.Fatalf("%q dropped", line)
		}
		if cap(ev.Extra) != len(ev.Extra) || cap(ev.LogExtra) != len(ev.LogExtra) {
			t.Fatalf("%q: Extra or LogExtra has room after it, which an append would write into", line)
		}
		all = append(all, kept{ev.Extra, ev.LogExtra, bytes.Clone(ev.Extra), bytes.Clone(ev.LogExtra)})
		a, b, _ := strings.Cut(line, " ")
		want := `,"a":` + string(eventjson.AppendString(nil, []byte(a)))
		if string(ev.Extra) != want || string(ev.LogExtra) != `,"b":"`+b+`"` {
			t.Fatalf("%.20q: rendered %.60s | %s", line, ev.Extra, ev.LogExtra)
		}
	}
	for i, k := range all {
		if !bytes.Equal(k.extra, k.copyExtra) || !bytes.Equal(k.logExtra, k.copyLog) {
			t.Errorf("event %d: its rendered bytes changed after later events", i)
		}
	}
}

func TestNamesUnique(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{
		{`{"method":"POST","path":"/a","status":304}`, true},
		{`{"a":1,"b":2,"a":3}`, false},
		{`{"a":{"x":1,"y":2},"b":{"x":1,"x":2}}`, false},
		{`{"a":{"x":1},"x":2}`, true},             // one name in two objects
		{`[{"a":1},{"a":2}]`, true},               // sibling objects
		{`{"a":["b",{"c":1}],"b":"c"}`, true},     // strings that are values
		{`{"a" : 1, "b"	:{"a":1}, "a":2}`, false}, // white space before the colon
		{`{"a":"x\":","a\"":1}`, true},            // an escaped quote in a value and a name
		{`{"\u0061":1,"a":2}`, false},             // equal once unescaped
		{`{"é":1,"\u00e9":2}`, false},             // non-ASCII, escaped
		{"{\"\xff\":1,\"\xfe\":2}", false},        // invalid UTF-8: both read as U+FFFD
		{`{"a":{"b":{"c":{"d":1,"d":2}}}}`, false},
		{`{"":1,"":2}`, false},
		{`[1,"a",{"":{}}]`, true},
	}
	for _, tt := range tests {
		if got := namesUnique([]byte(tt.v), utf8.Valid([]byte(tt.v))); got != tt.want {
			t.Errorf("namesUnique(%s) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

// FuzzNamesUnique checks namesUnique against jsontext on every valid JSON value.
func FuzzNamesUnique(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":{"a":2,"a":3}}`, `[{"x":"y\"","x\\":1}]`, `{"a":[{"b":1},{"b":2}],"a":0}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		if !jsontext.Value(v).IsValid(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)) {
			return
		}
		v = bytes.TrimSpace(v)
		if len(v) == 0 || (v[0] != '{' && v[0] != '[') {
			return
		}
		if got, want := namesUnique(v, utf8.Valid(v)), jsontext.Value(v).IsValid(allowInvalidUTF8); got != want {
			t.Fatalf("namesUnique(%q) = %v, jsontext says %v", v, got, want)
		}
	})
}

// TestParseJSONKeysByPosition parses objects whose members change names, order and number from line to line:
// the names remembered by position must be checked, not trusted.
func TestParseJSONKeysByPosition(t *testing.T) {
	p := NewJSON(0)
	lines := []string{
		`{"a":"1","bb":"2","c":"3"}`,
		`{"a":"1","bb":"2","c":"3"}`,
		`{"bb":"1","a":"2","c":"3"}`,
		`{"a":"1","cc":"2"}`, // same length as bb at the same place
		`{"a":"1","bb":"2","c":"3","d":"4"}`,
		`{"x\u0041":"1"}`, // an escaped name
	}
	for _, line := range lines {
		var f fieldSet
		if err := p.Parse([]byte(line), &f); err != nil {
			t.Fatal(err)
		}
		var want fieldSet
		if err := (jsonParser{}).Parse([]byte(line), &want); err != nil {
			t.Fatal(err)
		}
		if got, want := renderAll(&f), renderAll(&want); got != want {
			t.Errorf("%s: got %s, want %s", line, got, want)
		}
	}
}

// TestRenderShapeKeysByAddress renders events whose keys are stored in the set's buffer, which the next event
// reuses: the same address and length then hold other names, so only a stable key is matched by its address.
func TestRenderShapeKeysByAddress(t *testing.T) {
	events := [][]traceStep{
		{{op: op{"s", "aa", "1"}, target: "t"}, {op: op{"s", "x", "2"}}},
		{{op: op{"s", "bb", "1"}, target: "t"}, {op: op{"s", "x", "2"}}},
		{{op: op{"s", "bb", "3"}, target: "t"}, {op: op{"s", "x", "4"}}},
		{{op: op{"s", "x", "2"}}, {op: op{"s", "y", "2"}}},
		{{op: op{"s", "x", "2"}}, {op: op{"s", strings.Clone("y"), "2"}}},
		{{op: op{"s", "x", "2"}}, {op: op{"s", "z", "2"}}},
	}
	var shared renderer
	var f fieldSet
	for i, steps := range events {
		f.load(&engine.Event{Message: []byte("m")})
		applySteps(&f, steps)
		got, gotEnd := f.renderTop(&shared, nil)
		var fresh renderer
		want, wantEnd := f.renderTop(&fresh, nil)
		if string(got) != string(want) || gotEnd != wantEnd {
			t.Errorf("event %d: got %s, want %s", i, got, want)
		}
		f.reset()
	}
}

// TestTimestampRemoveFoundEntry removes the time field as the entry it was read from, unless setting
// event.ingested already replaced it (the field is event.ingested, or above it), or the field is an object.
func TestTimestampRemoveFoundEntry(t *testing.T) {
	const when = "21/Nov/2026:10:00:00+0000"
	tests := []struct {
		name, pattern, field, line string
		want                       []string // paths in the encoded event, "-path" for paths that must be missing
	}{
		{"a leaf", "ts a", "ts", when + " x", []string{"-ts", "a", "event.ingested"}},
		{"the field is event.ingested", "event.ingested a", "event.ingested", when + " x",
			[]string{"-event", "a"}},
		{"the field is above event.ingested", "event a", "event", when + " x", []string{"-event", "a"}},
		{"a field beside event.ingested", "event.created a", "event.created", when + " x",
			[]string{"-event.created", "event.ingested", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustBuild(t, []Config{
				{Dissect: &DissectConfig{Pattern: tt.pattern}},
				{Timestamp: &TimestampConfig{Field: tt.field, Layouts: []string{"02/Jan/2006:15:04:05-0700"}, Remove: true}},
			})
			for range 2 { // the second time through the fast paths
				doc := encode(t, c, engine.Event{Time: readTime, Stream: fileStream(""), Offset: 0, Message: []byte(tt.line)})
				if got := at(doc, "@timestamp"); got != "2026-11-21T10:00:00.000000000Z" {
					t.Errorf("@timestamp %v", got)
				}
				for _, p := range tt.want {
					if missing := strings.HasPrefix(p, "-"); missing != (at(doc, strings.TrimPrefix(p, "-")) == nil) {
						t.Errorf("%s: %v in %v", p, at(doc, strings.TrimPrefix(p, "-")), doc)
					}
				}
			}
		})
	}
}

// TestTimestampFieldInAnObject reads the time from a member of a raw object, which is exploded to be read and
// removed alone.
func TestTimestampFieldInAnObject(t *testing.T) {
	c := mustBuild(t, []Config{
		{ParseJSON: &ParseJSONConfig{}},
		{Timestamp: &TimestampConfig{Field: "j.t", Layouts: []string{"RFC3339"}, Remove: true}},
	})
	doc := encode(t, c, engine.Event{Time: readTime, Stream: fileStream(""), Offset: 0,
		Message: []byte(`{"j":{"t":"2026-11-21T10:00:00Z","u":1}}`)})
	if at(doc, "@timestamp") != "2026-11-21T10:00:00.000000000Z" || at(doc, "j.t") != nil || at(doc, "j.u") != float64(1) {
		t.Errorf("got %v", doc)
	}
}

// TestTimestampLastTextRemembered reads times one after the other through one step: the same text gives the
// last time again, with any layout, except a layout without a year, whose time depends on the read time.
func TestTimestampLastTextRemembered(t *testing.T) {
	tests := []struct {
		name    string
		layouts []string
		events  []struct {
			read time.Time
			text string
			want time.Time
		}
	}{
		{"named layouts", []string{"RFC3339", "UNIX"}, []struct {
			read time.Time
			text string
			want time.Time
		}{
			{readTime, "2026-11-21T10:00:00Z", time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)},
			{readTime, "2026-11-21T10:00:00Z", time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)},
			{readTime, "1700000000", time.Unix(1700000000, 0).UTC()},
			{readTime, "1700000000", time.Unix(1700000000, 0).UTC()},
			{readTime, "2026-11-21T10:00:01Z", time.Date(2026, 11, 21, 10, 0, 1, 0, time.UTC)},
		}},
		{"a layout without a year", []string{"Jan _2 15:04:05"}, []struct {
			read time.Time
			text string
			want time.Time
		}{
			{time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), "Jan  5 10:00:00", time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)},
			{time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC), "Jan  5 10:00:00", time.Date(2027, 1, 5, 10, 0, 0, 0, time.UTC)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustBuild(t, []Config{{Timestamp: &TimestampConfig{Field: "message", Layouts: tt.layouts}}})
			for i, e := range tt.events {
				ev := engine.Event{Time: e.read, Stream: fileStream(""), Message: []byte(e.text)}
				c.Process(&ev)
				if !ev.Time.Equal(e.want) {
					t.Errorf("event %d, %q: time %v, want %v", i, e.text, ev.Time, e.want)
				}
			}
		})
	}
}

// TestIngestedClockRepeats formats times that repeat, or share their second or their nanoseconds with the last.
func TestIngestedClockRepeats(t *testing.T) {
	var c ingestedClock
	base := time.Date(2026, 12, 7, 10, 0, 0, 500, time.UTC)
	for i, d := range []time.Duration{0, 0, 1, 1, 0, time.Second, time.Second, 2*time.Second + 1, -500, -500} {
		tm := base.Add(d)
		if got, want := string(c.append([]byte("x"), tm)), "x"+tm.Format(time.RFC3339Nano); got != want {
			t.Errorf("%d, %v: got %s, want %s", i, tm, got, want)
		}
	}
}

// TestResetLetsOlderEventsGo: the entries of the last event stay in their slots for the next one, but a slot a
// larger event used before is cleared, and every slot is when the set lets its value buffer go.
func TestResetLetsOlderEventsGo(t *testing.T) {
	var f fieldSet
	load := func(keys ...string) {
		f.load(&engine.Event{Message: []byte("m")})
		for _, k := range keys {
			f.SetString(k, []byte("v"))
		}
		f.reset()
	}
	holding := func() (n int) {
		for _, e := range f.entries[:cap(f.entries)] {
			if e.key != nil || e.val != nil {
				n++
			}
		}
		return n
	}
	load("a", "b", "c", "d", "e")
	load("a")
	if got := holding(); got != 2 {
		t.Errorf("after a smaller event, %d slots hold references, want its 2", got)
	}
	f.reset() // as load does before the next event
	if got := holding(); got != 2 {
		t.Errorf("reset twice cleared the last event's slots: %d hold references, want 2", got)
	}
	f.load(&engine.Event{Message: []byte("m")})
	f.SetString("big", make([]byte, maxKeptBuffer+1))
	f.reset()
	if got := holding(); got != 0 || f.vals != nil {
		t.Errorf("after the value buffer was let go, %d slots hold references", got)
	}
}
