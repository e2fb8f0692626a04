package processors_test

import (
	"strings"
	"testing"

	"github.com/flickerlog/flicker/processors"
)

func TestParseJSONGolden(t *testing.T) {
	runGolden(t, "parse_json", func(t *testing.T, logPath string) processors.Parser {
		return processors.NewJSON(0)
	})
}

func TestParseJSONMaxDepth(t *testing.T) {
	p := processors.NewJSON(2)
	var rec parsedFields
	if err := p.Parse([]byte(`{"a":{"b":1}}`), &rec); err != nil {
		t.Fatalf("depth 2: %v", err)
	}
	if f, _ := rec.get("a"); f.val != `{"b":1}` || !f.raw {
		t.Fatalf("a = %+v", f)
	}
	err := p.Parse([]byte(`{"a":{"b":[1]}}`), &rec)
	if err == nil || !strings.Contains(err.Error(), "depth") {
		t.Fatalf("depth 3 with max_depth 2: got %v, want a depth error", err)
	}
}

// The decoder is pooled: a failed parse must not leave state that breaks the next line.
func TestParseJSONAfterError(t *testing.T) {
	p := processors.NewJSON(0)
	var rec parsedFields
	if err := p.Parse([]byte(`{"a":`), &rec); err == nil {
		t.Fatal("truncated object parsed")
	}
	rec = parsedFields{}
	if err := p.Parse([]byte(`{"b":"x"}`), &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.fields) != 1 || rec.fields[0] != (parsedField{key: "b", val: "x"}) {
		t.Fatalf("fields %+v", rec.fields)
	}
}
