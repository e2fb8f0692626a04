package jsonscan_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/flickerlog/flicker/internal/jsonscan"
)

type member struct{ name, value string }

func members(obj string, maxDepth int) ([]member, error) {
	var got []member
	err := jsonscan.Members([]byte(obj), maxDepth, func(name, value []byte) error {
		got = append(got, member{string(name), string(value)})
		return nil
	})
	return got, err
}

func TestMembers(t *testing.T) {
	for _, tt := range []struct {
		obj  string
		want []member
	}{
		{`{}`, nil},
		{" \t{ \"a\" : 1 , \"b\":[true, {\"c\":null}] }\n", []member{{"a", "1"}, {"b", `[true, {"c":null}]`}}},
		{`{"msg":"say \"hi\"","n":-1.5e3,"o":{"x":"]}"}}`, []member{{"msg", `"say \"hi\""`}, {"n", "-1.5e3"}, {"o", `{"x":"]}"}`}}},
		{`{"mess\u0061ge":"x","\ud83d\ude00":1,"caf\u00e9":2}`, []member{{"message", `"x"`}, {"😀", "1"}, {"café", "2"}}},
		{`{"a":1,"a":2}`, []member{{"a", "1"}, {"a", "2"}}}, // repeated names: each one, the caller picks
		{"{\"bad\xffname\":\"bad\xfevalue\"}", []member{{"bad\uFFFDname", "\"bad\xfevalue\""}}},
	} {
		got, err := members(tt.obj, 64)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%q: %q, %v; want %q", tt.obj, got, err, tt.want)
		}
	}
}

func TestMembersValuesAreSlicesOfTheObject(t *testing.T) {
	obj := []byte(`{"a":"value"}`)
	var v []byte
	if err := jsonscan.Members(obj, 8, func(_, value []byte) error { v = value; return nil }); err != nil {
		t.Fatal(err)
	}
	obj[6] = 'V'
	if string(v) != `"Value"` {
		t.Fatalf("value %s is not a slice of the object", v)
	}
}

func TestMembersRefuses(t *testing.T) {
	for _, tt := range []struct {
		obj      string
		maxDepth int
		want     error // nil: any error
	}{
		{``, 8, jsonscan.ErrNotObject}, {`  `, 8, jsonscan.ErrNotObject}, {`[1]`, 8, jsonscan.ErrNotObject},
		{`"s"`, 8, jsonscan.ErrNotObject}, {`{} {}`, 8, jsonscan.ErrNotObject}, {`{}]`, 8, nil},
		{`{`, 8, nil}, {`{"a"}`, 8, nil}, {`{"a":}`, 8, nil}, {`{"a":1,}`, 8, nil}, {`{"a":01}`, 8, nil},
		{`{"a":"\x"}`, 8, nil}, {"{\"a\":\"tab\there\"}", 8, nil}, {`{a:1}`, 8, nil}, {`{"a":1 "b":2}`, 8, nil},
		{`{"a":[[[1]]]}`, 3, jsonscan.ErrDepth}, {`{"a":{"b":{}}}`, 2, jsonscan.ErrDepth}, {`{}`, 0, jsonscan.ErrDepth},
		{`{"a":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`, 512, jsonscan.ErrDepth},
		// A string full of brackets is not nesting; the depth after it still counts.
		{`{"a":["` + strings.Repeat("[", 40) + `\"[",[[[[1]]]]]}`, 5, jsonscan.ErrDepth},
	} {
		_, err := members(tt.obj, tt.maxDepth)
		if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%.50q depth %d: error %v, want %v", tt.obj, tt.maxDepth, err, tt.want)
		}
	}
	for _, ok := range []string{`{"a":[[1]]}`, `{"a":["` + strings.Repeat("[", 40) + `\"[",[[1]]]}`} {
		if _, err := members(ok, 4); err != nil {
			t.Errorf("%q depth 4: %v", ok, err)
		}
	}
	stop := errors.New("stop")
	n := 0
	err := jsonscan.Members([]byte(`{"a":1,"b":2}`), 8, func(_, _ []byte) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("fn's error: %v after %d members, want it returned after 1", err, n)
	}
}

func TestMembersAllocatesNothingOnceWarm(t *testing.T) {
	obj := []byte(`{"@timestamp":"2026-11-21T10:00:00Z","level":"info","msg":"GET /x","http":{"status":200},"tags":["a"]}`)
	fn := func(_, _ []byte) error { return nil }
	if allocs := testing.AllocsPerRun(100, func() { _ = jsonscan.Members(obj, 64, fn) }); allocs != 0 {
		t.Fatalf("%v allocations per object, want 0", allocs)
	}
}

// depthOf is the nesting depth of a valid JSON value, by encoding/json's tokens.
func depthOf(b []byte) int {
	d := json.NewDecoder(bytes.NewReader(b))
	depth, deepest := 0, 0
	for {
		tok, err := d.Token()
		if err != nil {
			return deepest
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

// FuzzMembers: on valid UTF-8, Members accepts exactly the objects encoding/json accepts that are no deeper than
// the limit, and gives their members in order, names decoded as encoding/json decodes them, values as written.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[true,{"c":null}]}`, `{"mess\u0061ge":"x\"y"}`, `{"a":1,"a":2}`,
		`{"a":[[[[1]]]]}`, `{"a":"[[[["}`, `[]`, `{} {}`, `{"a":01}`, `{"\ud800":1}`} {
		f.Add([]byte(s), uint8(4))
	}
	f.Fuzz(func(t *testing.T, obj []byte, limit uint8) {
		maxDepth := int(limit % 16)
		var got []member
		err := jsonscan.Members(obj, maxDepth, func(name, value []byte) error {
			got = append(got, member{string(name), string(value)})
			return nil
		})
		if !utf8.Valid(obj) {
			return
		}
		var m map[string]json.RawMessage
		refErr := json.Unmarshal(obj, &m)
		wantOK := refErr == nil && m != nil && depthOf(obj) <= maxDepth
		if (err == nil) != wantOK {
			t.Fatalf("%q depth %d: error %v; encoding/json: %v, depth %d", obj, maxDepth, err, refErr, depthOf(obj))
		}
		if err != nil {
			return
		}
		d := json.NewDecoder(bytes.NewReader(obj))
		_, _ = d.Token() // {
		n := 0
		for ; d.More(); n++ {
			tok, _ := d.Token()
			var raw json.RawMessage
			_ = d.Decode(&raw)
			if n >= len(got) || got[n].name != tok.(string) || got[n].value != string(raw) {
				t.Fatalf("%q: members %q, encoding/json reads %q: %s as number %d", obj, got, tok, raw, n)
			}
		}
		if n != len(got) {
			t.Fatalf("%q: %d members, encoding/json reads %d", obj, len(got), n)
		}
	})
}
