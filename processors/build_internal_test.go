package processors

import (
	"errors"
	"sort"
	"testing"

	"github.com/flickerlog/flicker/internal/fielderr"
)

// fieldErrors flattens err into "path: message" lines.
func fieldErrors(t *testing.T, err error) []string {
	t.Helper()
	var out []string
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var fe *fielderr.Error
		if !errors.As(err, &fe) {
			t.Errorf("error without a field path: %v", err)
			return
		}
		out = append(out, fe.Path+": "+fe.Err.Error())
	}
	walk(err)
	sort.Strings(out)
	return out
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name string
		list []Config
		want []string
	}{
		{"no kind", []Config{{}},
			[]string{"[0]: set one processor kind: one of parse_json, parse_logfmt, parse_regex, dissect, parse_preset, timestamp, drop, include_lines, exclude_lines, add_fields, drop_fields, rename"}},
		{"two kinds", []Config{{Drop: &DropConfig{}, Rename: &RenameConfig{}}},
			[]string{"[0]: set exactly one processor kind per list item, found drop and rename: make each its own item"}},
		{"parser error", []Config{{AddFields: &AddFieldsConfig{Fields: map[string]string{"a": "b"}}},
			{Dissect: &DissectConfig{}}},
			[]string{"[1].dissect: empty pattern"}},
		{"json depth", []Config{{ParseJSON: &ParseJSONConfig{MaxDepth: -1}}},
			[]string{"[0].parse_json.max_depth: must not be negative (0 for the default, 64)"}},
		{"timestamp", []Config{{Timestamp: &TimestampConfig{Layouts: []string{"RFC3339", "yyyy-MM-dd"},
			Timezone: "Mars/Olympus"}}},
			[]string{
				"[0].timestamp.field: set the field that holds the event's time",
				`[0].timestamp.layouts[1]: "yyyy-MM-dd" is no layout: use ` + layoutHelp,
				`[0].timestamp.timezone: unknown time zone "Mars/Olympus": use an IANA name such as Europe/Paris, or UTC`,
			}},
		{"timestamp without layouts", []Config{{Timestamp: &TimestampConfig{Field: "ts"}}},
			[]string{"[0].timestamp.layouts: list at least one layout: " + layoutHelp}},
		{"drop", []Config{{Drop: &DropConfig{If: Condition{Regex: "a(", Contains: "x"}}},
			{Drop: &DropConfig{If: Condition{Contains: "x", Exists: new(bool)}}}},
			[]string{
				"[0].drop.if.regex: error parsing regexp: missing closing ): `a(`",
				"[1].drop.if: set exactly one test: equals, contains, regex or exists",
			}},
		{"lines", []Config{{IncludeLines: []string{}}, {ExcludeLines: []string{"ok", "(?P<x"}}},
			[]string{
				"[0].include_lines: list at least one RE2 pattern",
				"[1].exclude_lines[1]: error parsing regexp: invalid named capture: `(?P<x`",
			}},
		{"edits", []Config{{AddFields: &AddFieldsConfig{}}, {DropFields: &DropFieldsConfig{Fields: []string{"a", ""}}},
			{Rename: &RenameConfig{Fields: []RenamePair{{From: "a", To: "b"}, {From: "", To: "c"}}}},
			{Rename: &RenameConfig{}}},
			[]string{
				"[0].add_fields.fields: add at least one field (name: value)",
				"[1].drop_fields.fields[1]: a field name is empty",
				"[2].rename.fields[1].from: a field name is empty",
				"[3].rename.fields: list at least one field to rename (from: old, to: new)",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := build("test", tt.list, fakeParsers)
			if err == nil {
				t.Fatalf("built %v", c)
			}
			got := fieldErrors(t, err)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors:\n%q\nwant\n%q", len(got), got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("got  %s\nwant %s", got[i], tt.want[i])
				}
			}
		})
	}
}

func TestBuildLabels(t *testing.T) {
	c := mustBuild(t, []Config{{ParseJSON: &ParseJSONConfig{}}, {Dissect: &DissectConfig{Pattern: "a"}},
		{ParseJSON: &ParseJSONConfig{}}})
	var labels []string
	c.ErrorCounts(func(p string, n uint64) { labels = append(labels, p) })
	if got, want := labels, []string{"parse_json[0]", "dissect", "parse_json[2]"}; len(got) != 3 ||
		got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("labels %q, want %q", got, want)
	}
}

// TestValidateNoParsers checks Validate on kinds that need no parser constructor.
func TestValidateNoParsers(t *testing.T) {
	if err := Validate([]Config{{Drop: &DropConfig{If: Condition{Contains: "x"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := Validate([]Config{{Drop: &DropConfig{}}}); err == nil {
		t.Fatal("Validate accepted a drop without a test")
	}
}
