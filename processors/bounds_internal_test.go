package processors

import (
	"fmt"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/engine"
)

// A line with more fields than an event takes (maxFields) is not processed in time quadratic in its size: the
// parser fails on it, naming the bound, and the line ships unparsed. So does a step that would explode an
// object of that many members.
func TestTooManyFieldsLeaveTheLineUnparsed(t *testing.T) {
	const n = 80_000
	var js, lf, nested strings.Builder
	js.WriteString("{")
	nested.WriteString(`{"ts":"2026-01-02T03:04:05Z","a":{`)
	for i := range n {
		if i > 0 {
			js.WriteString(",")
			lf.WriteString(" ")
			nested.WriteString(",")
		}
		fmt.Fprintf(&js, `"k%d":%d`, i, i)
		fmt.Fprintf(&lf, `k%d=%d`, i, i)
		fmt.Fprintf(&nested, `"k%d":%d`, i, i)
	}
	js.WriteString("}")
	nested.WriteString("}}")
	for _, tc := range []struct {
		name string
		list []Config
		line string
		want string
	}{
		{"parse_json", []Config{{ParseJSON: &ParseJSONConfig{}}}, js.String(), "parse_json: " + errTooManyFields.Error()},
		{"parse_logfmt", []Config{{ParseLogfmt: &ParseLogfmtConfig{}}}, lf.String(), "parse_logfmt: " + errTooManyFields.Error()},
		{"parse_json into a target", []Config{{ParseJSON: &ParseJSONConfig{ParserCommon: ParserCommon{Target: "t"}}}},
			js.String(), "parse_json: " + errTooManyFields.Error()},
		{"an object exploded", []Config{{ParseJSON: &ParseJSONConfig{}},
			{Timestamp: &TimestampConfig{Field: "a.k3", Layouts: []string{"UNIX"}}}},
			nested.String(), "timestamp: " + errTooManyFields.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Build("test", tc.list)
			if err != nil {
				t.Fatal(err)
			}
			doc := encode(t, c, engine.Event{Time: readTime, Stream: fileStream(""), Message: []byte(tc.line)})
			if got := at(doc, "error.message"); got != tc.want {
				t.Errorf("error.message %v, want %q", got, tc.want)
			}
			if tc.list[0].ParseJSON != nil && tc.list[0].ParseJSON.Target == "" && len(tc.list) == 1 {
				if doc["message"] != tc.line || doc["k0"] != nil {
					t.Errorf("message %.40q..., k0 %v: want the line unparsed", doc["message"], doc["k0"])
				}
			}
		})
	}
}

// A dotted name nests a field as deep as an object would: parse_json counts its dots against max_depth, and
// any key deeper than maxDepth parts (logfmt's, dissect's %{&key}) fails the parse.
func TestDottedNamesCountAgainstTheDepth(t *testing.T) {
	dotted := func(parts int) string { return strings.Repeat("a.", parts-1) + "a" }
	for _, tc := range []struct {
		name string
		list []Config
		line string
		want string // error.message's start; "" for none
	}{
		{"parse_json at the bound", []Config{{ParseJSON: &ParseJSONConfig{}}}, fmt.Sprintf(`{%q:1}`, dotted(64)), ""},
		{"parse_json past it", []Config{{ParseJSON: &ParseJSONConfig{}}}, fmt.Sprintf(`{%q:1}`, dotted(65)),
			`parse_json: member "a.a.a.`},
		{"parse_json with the value's depth at the bound", []Config{{ParseJSON: &ParseJSONConfig{MaxDepth: 4}}},
			`{"x.b":{"c":[1]}}`, ""},
		{"parse_json with the value's depth past it", []Config{{ParseJSON: &ParseJSONConfig{MaxDepth: 4}}},
			`{"a.b.c":{"c":[1]}}`, `parse_json: member "a.b.c": its dotted name nests it deeper than max_depth 4`},
		{"parse_json a 1000-dot name", []Config{{ParseJSON: &ParseJSONConfig{}}}, fmt.Sprintf(`{%q:1}`, dotted(1001)),
			"parse_json: member "},
		{"logfmt at the bound", []Config{{ParseLogfmt: &ParseLogfmtConfig{}}}, dotted(64) + "=1", ""},
		{"logfmt past it", []Config{{ParseLogfmt: &ParseLogfmtConfig{}}}, dotted(65) + "=1",
			`parse_logfmt: field name "a.a.a.`},
		{"logfmt a 400,000-dot key", []Config{{ParseLogfmt: &ParseLogfmtConfig{}}}, dotted(400_001) + "=1",
			"parse_logfmt: field name "},
		{"dissect's &key past it", []Config{{Dissect: &DissectConfig{Pattern: `%{*k}=%{&k}`}}}, dotted(65) + "=v",
			"dissect: field name "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Build("test", tc.list)
			if err != nil {
				t.Fatal(err)
			}
			doc := encode(t, c, engine.Event{Time: readTime, Stream: fileStream(""), Message: []byte(tc.line)})
			got, _ := at(doc, "error.message").(string)
			if tc.want == "" && got != "" || !strings.HasPrefix(got, tc.want) {
				t.Errorf("error.message %q, want it to start with %q", got, tc.want)
			}
			if tc.want != "" && doc["a"] != nil {
				t.Errorf("a field under a is set: %.80v", doc["a"])
			}
		})
	}
}
