package processors

import (
	"testing"

	"github.com/flickerlog/flicker/engine"
)

// Typed dissect fields take what Filebeat's dissect converts, written as JSON numbers: trailing spaces, a plus
// sign, leading zeros, 0x hexadecimal for integers; ".5" and "007.5" for doubles. What neither converts is an
// error.
func TestDissectTypedValuesFilebeatConverts(t *testing.T) {
	for _, tc := range []struct {
		pattern, line string
		want          any // float64 as encoding/json decodes a number; nil: the line fails
	}{
		{`%{code} %{n|long}`, "a -007", -7.0},
		{`%{code} %{n|long}`, "a +5", 5.0},
		{`%{code} %{n|long}`, "a 0x1F", 31.0},
		{`%{code} %{n|long}`, "a -0X10", -16.0},
		{`%{code} %{n|long}`, "a 1234 ", 1234.0},
		{`%{code} %{n|long}`, "a 007", 7.0},
		{`%{code} %{n|long}`, "a -9223372036854775808", -9223372036854775808.0},
		{`%{code} %{n|long}`, "a +-5", nil},
		{`%{code} %{n|long}`, "a 0x", nil},
		{`%{code} %{n|long}`, "a 1.5", nil},
		{`%{code} %{n|double}`, "a .5", 0.5},
		{`%{code} %{n|double}`, "a 007.5", 7.5},
		{`%{code} %{n|double}`, "a +1e3 ", 1000.0},
		{`%{code} %{n|double}`, "a NaN", nil},
		{`%{code} %{n|double}`, "a Inf", nil},
	} {
		c, err := Build("test", []Config{{Dissect: &DissectConfig{Pattern: tc.pattern}}})
		if err != nil {
			t.Fatal(err)
		}
		doc := encode(t, c, engine.Event{Time: readTime, Stream: fileStream(""), Message: []byte(tc.line)})
		if tc.want == nil {
			if doc["error"] == nil || doc["n"] != nil {
				t.Errorf("%q on %q: n = %#v, error %v; want an error", tc.pattern, tc.line, doc["n"], doc["error"])
			}
			continue
		}
		if doc["error"] != nil || doc["n"] != tc.want {
			t.Errorf("%q on %q: n = %#v, error %v; want %v", tc.pattern, tc.line, doc["n"], doc["error"], tc.want)
		}
	}
}
