package processors

import (
	"testing"

	"github.com/flickerlog/flicker/engine"
)

// The chain names the failed step in error.message; a real parser's own error must not name it again
// ("parse_logfmt: parse_logfmt: ...").
func TestRealParserErrorTextNamesTheStepOnce(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		line string
		want string
	}{
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
