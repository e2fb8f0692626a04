package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventjson"
)

// The fuzz tests parse bodies as the handler does and check what an accepted body became against a reference
// decode with encoding/json: every value the reference refuses must be refused, the events must be as many as
// the reference finds, their fields must decode to the sender's document and their message must be the one
// the document names.

var fuzzInput = &engine.Input{Name: "fuzz", Type: "http"}

func parsed(body []byte, underRoot bool, parse func(*batch) error) (*batch, error) {
	b := &batch{}
	b.reset(body, underRoot, time.Unix(0, 0))
	if err := parse(b); err != nil {
		return nil, err
	}
	b.finish(engine.NewStream(fuzzInput, func(int64) {}))
	return b, nil
}

// decodeRef is the reference decode: encoding/json's, with numbers kept as written (json.Number), since a number
// too large for a float64 is still valid JSON, which the source takes as it is.
func decodeRef(raw []byte, v any) error {
	if !json.Valid(raw) {
		return json.Unmarshal(raw, v) // its syntax error
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	return d.Decode(v)
}

// checkDocument compares event i of b with the reference decode of raw, the value it came from.
func checkDocument(t *testing.T, b *batch, i int, raw []byte) {
	t.Helper()
	ev := &b.events[i]
	var ref any
	if err := decodeRef(raw, &ref); err != nil {
		t.Fatalf("event %d comes from %q, which encoding/json refuses: %v", i, raw, err)
	}
	obj, isObj := ref.(map[string]any)
	if !isObj {
		if len(ev.Extra) != 0 {
			t.Fatalf("event %d of a non-object %q has fields %q", i, raw, ev.Extra)
		}
		want := string(bytes.TrimSpace(raw))
		if s, ok := ref.(string); ok {
			want = s
		}
		if string(ev.Message) != want {
			t.Fatalf("event %d message %q, want %q", i, ev.Message, want)
		}
		return
	}
	var fields map[string]any
	if err := decodeRef(append([]byte("{"), append(ev.Extra[1:], '}')...), &fields); err != nil {
		t.Fatalf("event %d fields %q are not valid JSON: %v", i, ev.Extra, err)
	}
	if !reflect.DeepEqual(fields["fields"], obj) {
		t.Fatalf("event %d fields %v, want %v", i, fields["fields"], obj)
	}
	if !uniqueKeys(raw) {
		return // encoding/json keeps the last of repeated keys, the scanner the first: no reference message
	}
	want := string(bytes.TrimSpace(raw))
	for _, k := range docPaths[:3] {
		if s, ok := obj[k].(string); ok {
			want = s
			break
		}
	}
	if string(ev.Message) != want {
		t.Fatalf("event %d message %q, want %q", i, ev.Message, want)
	}
}

// uniqueKeys reports whether the top-level object raw names each key once.
func uniqueKeys(raw []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	_, _ = d.Token() // {
	n := 0
	for d.More() {
		if _, err := d.Token(); err != nil {
			return false
		}
		var v json.RawMessage
		if d.Decode(&v) != nil {
			return false
		}
		n++
	}
	return n == len(m)
}

// escapedReservedKeys names flicker's own keys with escapes: with fields_under_root they must be left out like
// the plain ones, and the escaped message is the message.
const escapedReservedKeys = `{"message":"real","mess\u0061ge":"spoof","\u0069d":"x","\u0073ource":1,"dead_letter":2,"k":"v"}` + "\n"

// checkUnderRoot parses body with fields_under_root and checks that every encoded event names each of flicker's
// own keys once, however the document spelled its keys (a document that repeats its own keys keeps them).
func checkUnderRoot(t *testing.T, body []byte, parse func(*batch) error) {
	t.Helper()
	b, err := parsed(body, true, parse)
	if err != nil {
		return
	}
	var enc eventjson.Encoder
	for i := range b.events {
		for _, line := range [][]byte{enc.Append(nil, &b.events[i]), enc.AppendDeadLetter(nil, &b.events[i], errors.New("r"))} {
			if k, dup := repeatedTopKey(line); dup {
				t.Fatalf("%q with fields_under_root: event %d repeats the top-level key %q: %s", body, i, k, line)
			}
		}
	}
}

// eventKeys are the top-level keys flicker's encoder writes itself (a dead letter adds dead_letter).
var eventKeys = map[string]bool{"@timestamp": true, "message": true, "id": true, "input": true, "log": true,
	"source": true, "dead_letter": true}

// repeatedTopKey returns one of eventKeys that obj names twice at the top (after unescaping), if any.
func repeatedTopKey(obj []byte) (string, bool) {
	d := json.NewDecoder(bytes.NewReader(obj))
	if _, err := d.Token(); err != nil {
		return "", false
	}
	seen := map[string]bool{}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return "", false
		}
		k, _ := tok.(string)
		if seen[k] && eventKeys[k] {
			return k, true
		}
		seen[k] = true
		var v json.RawMessage
		if d.Decode(&v) != nil {
			return "", false
		}
	}
	return "", false
}

func FuzzLines(f *testing.F) {
	for _, s := range []string{
		"{\"message\":\"a\"}\n{\"log\":\"b\",\"x\":[1,2]}\n\"s\"\n42\n",
		`[{"message":"a\u00e9"},"b",{"event":{"x":1}},null]`,
		"{\"message\":\"a\\\"b\",\"message\":\"c\"}\n",
		"{\"a\":1}\r\n\r\n{\"b\":2}",
		"{\"a\":01}\n",
		escapedReservedKeys,
		`{"mess\u0061ge":"hello"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !utf8.Valid(body) {
			return // the handler refuses it before parsing
		}
		parse := (*batch).parseNDJSON
		if isArray(body) {
			parse = (*batch).parseArray
		}
		checkUnderRoot(t, body, parse)
		if isArray(body) {
			b, err := parsed(body, false, (*batch).parseArray)
			var ref []json.RawMessage
			refErr := json.Unmarshal(body, &ref)
			if (err == nil) != (refErr == nil) {
				t.Fatalf("array %q: parse error %v, encoding/json error %v", body, err, refErr)
			}
			if err != nil {
				return
			}
			if len(b.events) != len(ref) {
				t.Fatalf("array %q: %d events, %d elements", body, len(b.events), len(ref))
			}
			for i, raw := range ref {
				checkDocument(t, b, i, raw)
			}
			return
		}
		b, err := parsed(body, false, (*batch).parseNDJSON)
		if err != nil {
			// Blank means JSON's whitespace only (space, tab, CR, LF): a line holding a form feed or another Unicode
			// space is not a JSON value, and bytes.TrimSpace would call it blank.
			jsonBlank := func(b []byte) bool { return len(bytes.Trim(b, " \t\r\n")) == 0 }
			valid := !jsonBlank(body)
			for _, line := range bytes.Split(body, []byte("\n")) {
				valid = valid && (jsonBlank(line) || json.Valid(line))
			}
			if valid {
				t.Fatalf("%q refused (%v), encoding/json takes every line", body, err)
			}
			return
		}
		i := 0
		for _, line := range bytes.Split(body, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			if i >= len(b.events) {
				t.Fatalf("%q: %d events, more lines", body, len(b.events))
			}
			checkDocument(t, b, i, line)
			i++
		}
		if i != len(b.events) {
			t.Fatalf("%q: %d events, %d lines", body, len(b.events), i)
		}
	})
}

func FuzzBulk(f *testing.F) {
	for _, s := range []string{
		"{\"index\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{\"message\":\"m\"}\n{\"delete\":{\"_index\":\"a\",\"_id\":\"2\"}}\n",
		"{\"create\":{}}\n{\"log\":\"x\"}\n{\"update\":{\"_id\":\"u\\\"\"}}\n{\"doc\":{}}\n",
		"{\"index\":{}}\n" + escapedReservedKeys,
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, pathIndex bool) {
		if !utf8.Valid(body) {
			return
		}
		checkUnderRoot(t, body, func(b *batch) error { return b.parseBulk(noRef) })
		b := &batch{}
		b.reset(body, false, time.Unix(0, 0))
		idx := noRef
		if pathIndex {
			b.arena = append(b.arena, "p"...)
			idx = b.arenaSince(0)
		}
		if err := b.parseBulk(idx); err != nil {
			return
		}
		b.finish(engine.NewStream(fuzzInput, func(int64) {}))
		var lines [][]byte
		for _, l := range bytes.Split(body, []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				lines = append(lines, l)
			}
		}
		ev := 0
		for li, it := 0, 0; li < len(lines); it++ {
			var action map[string]map[string]any
			if err := json.Unmarshal(lines[li], &action); err != nil || len(action) != 1 {
				t.Fatalf("%q: accepted action line %q: %v", body, lines[li], err)
			}
			li++
			item := b.items[it]
			if _, ok := action[item.action]; !ok {
				t.Fatalf("item %d is %s, the line says %v", it, item.action, action)
			}
			if item.action == "delete" {
				continue
			}
			doc := lines[li]
			li++
			if item.event < 0 {
				continue
			}
			if item.event != ev {
				t.Fatalf("item %d is event %d, want %d", it, item.event, ev)
			}
			checkDocument(t, b, ev, doc)
			if id, ok := action[item.action]["_id"].(string); ok && string(b.events[ev].ID) != id {
				t.Fatalf("event %d id %q, want the action's %q", ev, b.events[ev].ID, id)
			}
			ev++
		}
		if ev != len(b.events) {
			t.Fatalf("%q: %d events, %d documents", body, len(b.events), ev)
		}
		var answer struct {
			Errors bool                        `json:"errors"`
			Items  []map[string]map[string]any `json:"items"`
		}
		if err := json.Unmarshal(b.appendBulkResponse(nil, 1), &answer); err != nil || len(answer.Items) != len(b.items) {
			t.Fatalf("the bulk answer does not decode to %d items: %v", len(b.items), err)
		}
	})
}

func FuzzHEC(f *testing.F) {
	for _, s := range []string{
		`{"event":"a","time":1700000000.5,"host":"h"}{"event":{"message":"b"},"fields":{"k":"v"}}`,
		`{"event":"a"} {"time":"1"}`,
		`{"event":""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !utf8.Valid(body) {
			return
		}
		b, err := parsed(body, false, (*batch).parseHEC)
		if err != nil {
			var he *hecError
			if !errors.As(err, &he) {
				t.Fatalf("HEC parse error %v is not an HEC answer", err)
			}
			return
		}
		d := json.NewDecoder(bytes.NewReader(body))
		i := 0
		for ; ; i++ {
			var raw json.RawMessage
			if err := d.Decode(&raw); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%q accepted, encoding/json refuses object %d: %v", body, i, err)
			}
			if i >= len(b.events) {
				t.Fatalf("%q: %d events, more objects", body, len(b.events))
			}
			var obj map[string]any
			if err := decodeRef(raw, &obj); err != nil {
				t.Fatalf("object %d: %v", i, err)
			}
			if s, ok := obj["event"].(string); ok && uniqueKeys(raw) && string(b.events[i].Message) != s {
				t.Fatalf("event %d message %q, want %q", i, b.events[i].Message, s)
			}
			var fields map[string]any
			ev := &b.events[i]
			if err := decodeRef(append([]byte("{"), append(ev.Extra[1:], '}')...), &fields); err != nil ||
				!reflect.DeepEqual(fields["fields"], obj) {
				t.Fatalf("event %d fields %q, want %v (%v)", i, ev.Extra, obj, err)
			}
		}
		if i != len(b.events) {
			t.Fatalf("%q: %d events, %d objects", body, len(b.events), i)
		}
	})
}
