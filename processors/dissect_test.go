package processors_test

import (
	"strings"
	"testing"

	"github.com/flickerlog/flicker/processors"
)

// Each testdata/dissect/<name>.log is parsed with the pattern in <name>.pattern.
func TestDissectGolden(t *testing.T) {
	runGolden(t, "dissect", func(t *testing.T, logPath string) processors.Parser {
		p, err := processors.NewDissect(readPattern(t, logPath))
		if err != nil {
			t.Fatal(err)
		}
		return p
	})
}

func TestDissectCompileErrors(t *testing.T) {
	for _, tc := range []struct{ pattern, want string }{
		{"", "empty"},
		{"no fields here", "no %{field}"},
		{`%{a} [%{b] %{c}`, "unclosed %{ at byte 6"},
		{`%{a} "%{b`, "unclosed %{ at byte 6"},
		{`%{a}%{b}`, "%{b} at byte 4 follows the field before it with no text between them"},
		{`%{a} %{+}`, "field at byte 5 has no name"},
		{`%{a|number}`, `unknown type "number" of %{a} at byte 0`},
		{`%{+a/x} %{+a}`, `append order "x" of %{+a} at byte 0`},
		{`%{*k} %{v}`, "reference %{k} at byte 0 has no partner"},
		{`%{*k} %{&k} %{*k}`, "reference %{k} at byte 12 appears twice"},
		{`%{?a|integer} %{b}`, "cannot have a type"},
		{`%{a} %{+a|long}`, "appended field %{a} at byte 5 cannot have a type"},
		{`%{a} %{{b}`, `field name "{b" at byte 5 holds one of %, { or }`},
	} {
		t.Run(tc.pattern, func(t *testing.T) {
			_, err := processors.NewDissect(tc.pattern)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "dissect pattern: ") {
				t.Fatalf("NewDissect(%q) = %v, want an error containing %q", tc.pattern, err, tc.want)
			}
		})
	}
}

func TestDissectMismatchNamesWhatWasExpected(t *testing.T) {
	p, err := processors.NewDissect(`%{a} [%{b}] %{c}`)
	if err != nil {
		t.Fatal(err)
	}
	var rec parsedFields
	err = p.Parse([]byte("one [two three"), &rec)
	if err == nil || err.Error() != `dissect: expected "] " after %{b} (from byte 5 of the value)` {
		t.Fatalf("got %v", err)
	}
	p, err = processors.NewDissect(`<%{a}>`)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Parse([]byte("x>"), &rec); err == nil || err.Error() != `dissect: value does not start with "<"` {
		t.Fatalf("got %v", err)
	}
	if err := p.Parse([]byte("<x"), &rec); err == nil || err.Error() != `dissect: expected ">" after %{a} at the end of the value` {
		t.Fatalf("got %v", err)
	}
}

// The value bytes a parser hands over alias the line; the appended value is built in a reused buffer, so a
// second Parse must not change what the first one set (the recorder copies, as the contract asks).
func TestDissectAppendDoesNotAliasBetweenCalls(t *testing.T) {
	p, err := processors.NewDissect(`%{+a} %{+a}`)
	if err != nil {
		t.Fatal(err)
	}
	var first, second parsedFields
	if err := p.Parse([]byte("x y"), &first); err != nil {
		t.Fatal(err)
	}
	if err := p.Parse([]byte("zz ww"), &second); err != nil {
		t.Fatal(err)
	}
	if f, _ := first.get("a"); f.val != "x y" {
		t.Fatalf("first a = %q", f.val)
	}
	if f, _ := second.get("a"); f.val != "zz ww" {
		t.Fatalf("second a = %q", f.val)
	}
}
