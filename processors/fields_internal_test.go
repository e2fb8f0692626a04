package processors

import (
	"bytes"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// op is one change to a field set in a test.
type op struct {
	kind     string // "s" SetString, "r" SetRaw, "d" delete, "m" rename (key to val)
	key, val string
}

func apply(f *fieldSet, ops []op) {
	for _, o := range ops {
		switch o.kind {
		case "s":
			f.SetString(o.key, []byte(o.val))
		case "r":
			f.SetRaw(o.key, []byte(o.val))
		case "d":
			f.delete(o.key)
		case "m":
			f.rename(o.key, o.val)
		}
	}
}

// renderAll renders every field but the message as one object.
func renderAll(f *fieldSet) string {
	var r renderer
	rendered, logEnd := f.renderTop(&r, nil)
	extra, logExtra := rendered[logEnd:], rendered[:logEnd]
	out := "{"
	if len(extra) > 0 {
		out += string(extra[1:])
	}
	if len(logExtra) > 0 {
		if len(extra) > 0 {
			out += ","
		}
		out += `"log":{` + string(logExtra[1:]) + "}"
	}
	return out + "}"
}

// checkNoDuplicates fails when doc is not JSON or has a name twice in one object.
func checkNoDuplicates(t testing.TB, doc []byte) {
	t.Helper()
	dec := jsontext.NewDecoder(bytes.NewReader(doc)) // rejects duplicate names by default
	if _, err := dec.ReadValue(); err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
}

func TestFieldSetRender(t *testing.T) {
	tests := []struct {
		name string
		ops  []op
		want string
	}{
		{"nested", []op{{"s", "client.ip", "10.0.0.1"}, {"s", "user", "bob"}, {"s", "client.port", "80"}},
			`{"client":{"ip":"10.0.0.1","port":"80"},"user":"bob"}`},
		{"deep", []op{{"s", "a.b.c", "1"}, {"s", "a.b.d", "2"}, {"s", "a.e", "3"}, {"s", "f", "4"}},
			`{"a":{"b":{"c":"1","d":"2"},"e":"3"},"f":"4"}`},
		{"set twice keeps the last", []op{{"s", "a", "1"}, {"s", "a", "2"}}, `{"a":"2"}`},
		{"object replaces a value above it", []op{{"s", "a", "x"}, {"s", "a.b", "y"}}, `{"a":{"b":"y"}}`},
		{"value replaces an object", []op{{"s", "a.b", "y"}, {"s", "a.c", "z"}, {"s", "a", "x"}}, `{"a":"x"}`},
		{"raw object kept whole", []op{{"r", "http", `{"status":200,"method":"GET"}`}},
			`{"http":{"status":200,"method":"GET"}}`},
		{"set into a raw object", []op{{"r", "http", `{"status":200,"method":"GET"}`}, {"s", "http.status", "404"}},
			`{"http":{"method":"GET","status":"404"}}`},
		{"set deep into a raw object", []op{{"r", "a", `{"b":{"c":1,"d":2},"e":3}`}, {"r", "a.b.c", "true"}},
			`{"a":{"e":3,"b":{"d":2,"c":true}}}`},
		{"raw scalar replaced by an object", []op{{"r", "a", `[1,2]`}, {"s", "a.b", "x"}}, `{"a":{"b":"x"}}`},
		{"duplicate names in a raw object, last wins", []op{{"r", "a", `{"x":1,"x":2}`}, {"s", "a.y", "3"}},
			`{"a":{"x":2,"y":"3"}}`},
		{"dotted member names, last write wins", []op{{"r", "a", `{"b.c":1,"b":{"d":2}}`}, {"s", "a.e", "3"}},
			`{"a":{"b":{"d":2},"e":"3"}}`},
		{"dotted member names merge", []op{{"r", "a", `{"b":{"d":2},"b.c":1}`}, {"s", "a.e", "3"}},
			`{"a":{"b":{"d":2,"c":1},"e":"3"}}`},
		{"drop into a raw object", []op{{"r", "http", `{"status":200,"method":"GET"}`}, {"d", "http.method", ""}},
			`{"http":{"status":200}}`},
		{"drop a subtree", []op{{"s", "a.b", "1"}, {"s", "a.c", "2"}, {"s", "d", "3"}, {"d", "a", ""}},
			`{"d":"3"}`},
		{"rename a subtree", []op{{"s", "client.ip", "1"}, {"s", "client.port", "2"}, {"m", "client", "source"}},
			`{"source":{"ip":"1","port":"2"}}`},
		{"rename into its own parent", []op{{"s", "a.b", "1"}, {"s", "a.c", "2"}, {"m", "a.b", "a"}},
			`{"a":"1"}`},
		{"rename under itself", []op{{"s", "a", "1"}, {"m", "a", "a.b"}}, `{"a":{"b":"1"}}`},
		{"rename out of a raw object", []op{{"r", "j", `{"t":"x","u":1}`}, {"m", "j.t", "time"}},
			`{"j":{"u":1},"time":"x"}`},
		{"rename over an existing field", []op{{"s", "a", "1"}, {"s", "b", "2"}, {"m", "a", "b"}}, `{"b":"1"}`},
		{"invalid UTF-8 replaced", []op{{"s", "k", "a\xffb"}}, "{\"k\":\"a\uFFFDb\"}"},
		{"invalid UTF-8 replaced in a raw value", []op{{"r", "k", "{\"a\xff\":[\"\xe9t\xc3\xa9\"]}"}},
			"{\"k\":{\"a\uFFFD\":[\"\uFFFDt\u00e9\"]}}"},
		{"names that render alike are one", []op{{"s", "k\xff", "1"}, {"s", "k\xfe", "2"}, {"r", "o", "{\"k\xff\":1}"},
			{"s", "o.k\xfe", "3"}}, "{\"k\uFFFD\":\"2\",\"o\":{\"k\uFFFD\":\"3\"}}"},
		{"escaped names and values", []op{{"s", "we\"ird\n", "q\"\\\t"}}, `{"we\"ird\n":"q\"\\\t"}`},
		{"empty value", []op{{"s", "k", ""}}, `{"k":""}`},
		{"log fields apart", []op{{"s", "log.level", "warn"}, {"s", "a", "1"}}, `{"a":"1","log":{"level":"warn"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f fieldSet
			f.reset()
			apply(&f, tt.ops)
			got := renderAll(&f)
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			checkNoDuplicates(t, []byte(got))
		})
	}
}

func TestFieldSetText(t *testing.T) {
	var f fieldSet
	f.reset()
	apply(&f, []op{{"r", "http", `{"status":200,"req":{"method":"GET","path":"/a\"b"}}`}, {"s", "s", "x\xff"},
		{"s", "o.a", "1"}, {"s", "o.b", "2"}})
	tests := []struct {
		key  string
		want string
		ok   bool
	}{
		{"http.status", "200", true},
		{"http.req.method", "GET", true},
		{"http.req.path", `/a"b`, true}, // a raw string, unquoted
		{"http.req.none", "", false},
		{"s", "x\xff", true}, // a string's own bytes
		{"o", `{"a":"1","b":"2"}`, true},
		{"missing", "", false},
		{"http.status.deeper", "", false},
	}
	for _, tt := range tests {
		got, ok := f.text(tt.key)
		if ok != tt.ok || string(got) != tt.want {
			t.Errorf("text(%q) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
	if got, want := renderAll(&f), `{"s":"x`+"\uFFFD"+`","o":{"a":"1","b":"2"},"http":{"status":200,"req":{"method":"GET","path":"/a\"b"}}}`; got != want {
		t.Errorf("after lookups got  %s\nwant %s", got, want)
	}
}

func TestFieldSetUndo(t *testing.T) {
	var f fieldSet
	f.reset()
	apply(&f, []op{{"s", "a", "1"}, {"r", "h", `{"x":1,"y":2}`}})
	before := renderAll(&f)
	entries, journal := f.mark()
	apply(&f, []op{{"s", "a", "2"}, {"s", "h.x", "3"}, {"s", "n", "4"}})
	f.undo(entries, journal)
	if got := renderAll(&f); got != before {
		t.Errorf("after undo got %s, want %s", got, before)
	}
}

// FuzzFieldSetRender sets, deletes and renames fields chosen by the fuzzer among keys that overlap in every way
// and checks that the rendering is always JSON with no name twice in an object.
func FuzzFieldSetRender(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5})
	f.Add([]byte{10, 20, 30, 40, 50, 60, 70, 80})
	f.Add([]byte("\x03\x07\x0b\x13\x21\x33"))
	keys := []string{"a", "a.b", "a.b.c", "a.c", "b", "b.a", "log", "log.level", "", "a..b", "x\xff", `q"`, "x\xfe",
		"x\uFFFD"} // three names that render alike
	raws := []string{`{"b":1,"c":{"d":2}}`, `{"a":{"b":{"c":3}},"b.a":4}`, `[1,{"a":2}]`, `"s\u00e9"`, `12.5`,
		`{"x":1,"y":{"x":2}}`, `{}`, `null`, "{\"\xff\":[\"\xc3(\"]}"} // SetRaw's contract: no name twice in an object
	f.Fuzz(func(t *testing.T, prog []byte) {
		var fs fieldSet
		fs.reset()
		for i := 0; i+1 < len(prog); i += 2 {
			key := keys[int(prog[i]>>2)%len(keys)]
			arg := int(prog[i+1])
			switch prog[i] & 3 {
			case 0:
				fs.SetString(key, []byte(keys[arg%len(keys)]))
			case 1:
				fs.SetRaw(key, []byte(raws[arg%len(raws)]))
			case 2:
				fs.delete(key)
				fs.text(keys[arg%len(keys)])
			case 3:
				fs.rename(key, keys[arg%len(keys)])
			}
		}
		checkNoDuplicates(t, []byte(renderAll(&fs)))
	})
}

// TestRenderShapeReused renders events one after the other with one renderer, as a scratch does, and checks
// each against a renderer that never saw another event: same keys with other values (filled into the last
// layout), the same keys in another order, fewer keys, log keys.
func TestRenderShapeReused(t *testing.T) {
	events := [][]op{
		{{"s", "client.ip", "1"}, {"s", "user", "bob"}, {"s", "client.port", "80"}, {"s", "log.level", "x"}},
		{{"s", "client.ip", "2\xff"}, {"r", "user", `{"a":1}`}, {"s", "client.port", `8"0`}, {"s", "log.level", "y"}},
		{{"s", "user", "bob"}, {"s", "client.ip", "1"}, {"s", "client.port", "80"}, {"s", "log.level", "x"}},
		{{"s", "client.ip", "1"}, {"s", "user", "bob"}, {"s", "client.port", "80"}},
		{{"s", "client.ip", "3"}, {"s", "user", "al"}, {"s", "client.port", "81"}},
		{{"s", "log.level", "x"}, {"s", "log.logger", "db"}},
		{{"s", "log.level", "z"}, {"s", "log.logger", ""}},
		{},
	}
	var shared renderer
	var f fieldSet
	for i, ops := range events {
		f.reset()
		apply(&f, ops)
		got, gotEnd := f.renderTop(&shared, nil)
		gotExtra, gotLog := got[gotEnd:], got[:gotEnd]
		var fresh renderer
		want, wantEnd := f.renderTop(&fresh, nil)
		wantExtra, wantLog := want[wantEnd:], want[:wantEnd]
		if string(gotExtra) != string(wantExtra) || string(gotLog) != string(wantLog) {
			t.Errorf("event %d: got %s | %s, want %s | %s", i, gotExtra, gotLog, wantExtra, wantLog)
		}
	}
}
