package processors

import (
	"testing"

	"github.com/flickerlog/flicker/engine"
)

// dissect's and parse_json's own errors do not name the parser: the chain names the step once.
func TestDissectAndJSONErrorTextNamesTheStepOnce(t *testing.T) {
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
