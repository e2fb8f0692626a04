package processors

import (
	"strings"
	"testing"

	"github.com/flickerlog/flicker/engine"
)

// The chain names the failed step in error.message; a real parser's own error must not name it again
// ("dissect: dissect: ...").
func TestRealParserErrorTextNamesTheStepOnce(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		line string
		want string
	}{
		{Config{Dissect: &DissectConfig{Pattern: `%{client.ip} - %{user.name}`}}, "10.0.0.1 bob",
			`dissect: expected " - " after %{client.ip} (from byte 0 of the value)`},
		{Config{Dissect: &DissectConfig{Pattern: `%{n|integer}`}}, "x", `dissect: n: "x" is not an integer`},
		{Config{ParseJSON: &ParseJSONConfig{}}, "[1]", "parse_json: not a JSON object"},
		{Config{ParseJSON: &ParseJSONConfig{MaxDepth: 2}}, `{"a":{"b":{}}}`, "parse_json: nested deeper than max_depth 2"},
		{Config{ParseLogfmt: &ParseLogfmtConfig{}}, "=novalue", "parse_logfmt: empty key at byte 0"},
		{Config{ParseLogfmt: &ParseLogfmtConfig{}}, `msg="open`, "parse_logfmt: msg: quote opened at byte 4 is not closed"},
		{Config{ParseRegex: &ParseRegexConfig{Pattern: `^(?P<n>\d+)$`}}, "x",
			"parse_regex: the value does not match the pattern"},
	} {
		c, err := Build("test", []Config{tc.cfg})
		if err != nil {
			t.Fatal(err)
		}
		doc := encode(t, c, engine.Event{Time: readTime, Stream: fileStream(""), Message: []byte(tc.line)})
		if got := at(doc, "error.message"); got != tc.want {
			t.Errorf("line %q: error.message = %v, want %q", tc.line, got, tc.want)
		}
	}
}

// A failing processor keeps the log's own error field that is not an object as error_, instead of replacing it
// with error.message; an error object takes error.message among its members.
func TestFailureKeepsTheLogsOwnError(t *testing.T) {
	c, err := Build("test", []Config{{ParseJSON: &ParseJSONConfig{}},
		{Timestamp: &TimestampConfig{Field: "ts", Layouts: []string{"RFC3339"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		line string
		want map[string]any
	}{
		{`{"error":"connection refused","ts":"bad"}`, map[string]any{"error_": "connection refused"}},
		{`{"error":42,"ts":"bad"}`, map[string]any{"error_": 42.0}},
		{`{"error":{"code":7},"ts":"bad"}`, map[string]any{"error.code": 7.0, "error_": nil}},
	} {
		doc := encode(t, c, engine.Event{Time: readTime, Stream: fileStream(""), Message: []byte(tc.line)})
		msg, _ := at(doc, "error.message").(string)
		if !strings.HasPrefix(msg, "timestamp: ") {
			t.Errorf("line %s: error.message %v, want the timestamp step's error", tc.line, at(doc, "error.message"))
		}
		for path, want := range tc.want {
			if got := at(doc, path); got != want {
				t.Errorf("line %s: %s = %v, want %v", tc.line, path, got, want)
			}
		}
	}
}
