package processors_test

import (
	"slices"
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
		{`%{*k} %{v}`, "%{*k} at byte 0 names no value: add %{&k}"},
		{`%{*k} %{&k} %{*k}`, "%{*k} at byte 0 names no value"},
		{`%{v} %{&k}`, "%{&k} at byte 5 has no field naming it"},
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
	if err == nil || err.Error() != `expected "] " after %{b} (from byte 5 of the value)` {
		t.Fatalf("got %v", err)
	}
	p, err = processors.NewDissect(`<%{a}>`)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Parse([]byte("x>"), &rec); err == nil || err.Error() != `value does not start with "<"` {
		t.Fatalf("got %v", err)
	}
	if err := p.Parse([]byte("<x"), &rec); err == nil || err.Error() != `expected ">" after %{a} (from byte 1 of the value)` {
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

// Filebeat's dissect behaviours a pattern ported from it relies on.
func TestDissectMatchesFilebeat(t *testing.T) {
	for _, tc := range []struct {
		name, pattern, line string
		want                []parsedField
	}{
		{"append joins with the text before the part", `%{key}-%{+key}-%{+key}`, "1-2-3",
			[]parsedField{{key: "key", val: "1-2-3"}}},
		{"append order", `%{+key/3} %{+key/1} %{+key/2}`, "1 2 3", []parsedField{{key: "key", val: "2 3 1"}}},
		{"reference named by a plain field", `%{key} %{&key}`, "hello world",
			[]parsedField{{key: "key", val: "hello"}, {key: "hello", val: "world"}}},
		{"reference named by a named skip", `%{?key} %{&key}`, "hello world", []parsedField{{key: "hello", val: "world"}}},
		{"reference named by a pointer", `%{*key}=%{&key}`, "user=bob", []parsedField{{key: "user", val: "bob"}}},
		{"empty values", `%{name},%{addr1},%{addr2},%{city}`, "Jane Doe,4321 Fifth Avenue,,New York",
			[]parsedField{{key: "name", val: "Jane Doe"}, {key: "addr1", val: "4321 Fifth Avenue"}, {key: "addr2"},
				{key: "city", val: "New York"}}},
		{"right padding", `%{id} %{function->} %{server}`, "00000043 ViewReceive     machine-321",
			[]parsedField{{key: "id", val: "00000043"}, {key: "function", val: "ViewReceive"}, {key: "server", val: "machine-321"}}},
		{"padding on the last field", `%{id} %{server->} `, "00000043 machine-321    ",
			[]parsedField{{key: "id", val: "00000043"}, {key: "server", val: "machine-321"}}},
		{"padded skip", `%{->} %{b}`, "a    b", []parsedField{{key: "b", val: "b"}}},
		{"braces in delimiters", `{%{a}}{%{b}} %{rest}`, "{c}{d} anything",
			[]parsedField{{key: "a", val: "c"}, {key: "b", val: "d"}, {key: "rest", val: "anything"}}},
		{"text after the last delimiter is ignored", `level=%{level} msg="%{message}"`, `level=info msg="Starting OK" version="2.3.1"`,
			[]parsedField{{key: "level", val: "info"}, {key: "message", val: "Starting OK"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := processors.NewDissect(tc.pattern)
			if err != nil {
				t.Fatal(err)
			}
			var rec parsedFields
			if err := p.Parse([]byte(tc.line), &rec); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rec.fields, tc.want) {
				t.Fatalf("fields %+v, want %+v", rec.fields, tc.want)
			}
		})
	}
}
