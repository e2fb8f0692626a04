package processors_test

import (
	"strings"
	"testing"

	"github.com/flickerlog/flicker/processors"
)

// Each testdata/parse_regex/<name>.log is parsed with the pattern in <name>.pattern.
func TestRegexGolden(t *testing.T) {
	runGolden(t, "parse_regex", func(t *testing.T, logPath string) processors.Parser {
		p, err := processors.NewRegex(readPattern(t, logPath))
		if err != nil {
			t.Fatal(err)
		}
		return p
	})
}

func TestRegexCompileErrors(t *testing.T) {
	for _, tc := range []struct{ pattern, want string }{
		{`(\d+) (\w+)`, "no named group"},
		{`(?P<a>x`, "missing closing )"},
		{`(?P<__a>x)`, `group "__a" makes the field name ".a"`},
		{`(?P<a____b>x)`, `group "a____b" makes the field name "a..b"`},
		{`(?P<http.version>x)`, "invalid named capture"},
	} {
		t.Run(tc.pattern, func(t *testing.T) {
			_, err := processors.NewRegex(tc.pattern)
			if err == nil || !strings.HasPrefix(err.Error(), "parse_regex pattern: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewRegex(%q) = %v, want an error containing %q", tc.pattern, err, tc.want)
			}
		})
	}
}
