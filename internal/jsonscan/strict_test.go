package jsonscan_test

import (
	"encoding/json"
	"testing"

	"github.com/flickerlog/flicker/internal/jsonscan"
)

// scanStrict reports whether a strict scanner takes b as exactly one JSON value.
func scanStrict(b []byte) bool {
	s := jsonscan.Scanner{B: b, Strict: true}
	s.WS()
	if s.Skip() != nil {
		return false
	}
	s.WS()
	return s.I == len(b)
}

func TestStrictAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`"plain"`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\ud83d\ude00"`, `"\x"`, `"\u12"`, "\"tab\there\"",
		"\"nl\nhere\"", `"unterminated`, `0`, `-0`, `01`, `1.`, `.5`, `1e`, `1e+5`, `-1.5E-3`, `--1`, `1.2.3`,
		`{"a":[1,2,{"b":null}],"c":true}`, `{"a":1,}`, `[1,2]`, `[1 2]`, `"0123456789abcdef\u0041"`,
		`"longer than eight bytes with a \" quote"`, "\"eight-by\x01\"",
	} {
		want := json.Valid([]byte(in))
		if got := scanStrict([]byte(in)); got != want {
			t.Errorf("strict scan of %q = %t, encoding/json says %t", in, got, want)
		}
	}
}

func TestAppendUnescapedMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`plain`, `a\"b\\c\/d\b\f\n\r\t`, `\u00e9\ud83d\ude00`, `lone \ud83d surrogate`, `\ude00 low`,
		"invalid \xff utf-8", `\u0000`, "caf\u00e9",
	} {
		var want string
		if err := json.Unmarshal([]byte(`"`+in+`"`), &want); err != nil {
			t.Fatalf("reference decode of %q: %v", in, err)
		}
		got, ok := jsonscan.AppendUnescaped(nil, []byte(in))
		if !ok || string(got) != want {
			t.Errorf("AppendUnescaped(%q) = %q, %t; want %q", in, got, ok, want)
		}
	}
}

func FuzzStrict(f *testing.F) {
	for _, s := range []string{`{"a":"b\n"}`, `[1,-2.5e3,"\u00e9"]`, `"\ud83d\ude00"`, `01`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := scanStrict(b), json.Valid(b); got != want {
			t.Fatalf("strict scan of %q = %t, encoding/json says %t", b, got, want)
		}
		if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' || !json.Valid(b) {
			return
		}
		var want string
		_ = json.Unmarshal(b, &want)
		if got, ok := jsonscan.AppendUnescaped(nil, b[1:len(b)-1]); !ok || string(got) != want {
			t.Fatalf("AppendUnescaped(%q) = %q, %t; want %q", b, got, ok, want)
		}
	})
}
