package processors_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/flickerlog/flicker/processors"
)

// seedLines adds every line of testdata/<dir>/*.log to the corpus through add.
func seedLines(f *testing.F, dir string, add func(line []byte)) {
	f.Helper()
	logs, _ := filepath.Glob(filepath.Join("testdata", dir, "*.log"))
	if len(logs) == 0 {
		f.Fatalf("no testdata/%s/*.log to seed from", dir)
	}
	for _, path := range logs {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			add(bytes.Clone(sc.Bytes()))
		}
	}
}

// checkContract fails on what a parser must never hand a Setter: an empty key, a SetRaw value that is not one
// valid JSON value.
func checkContract(t *testing.T, rec *parsedFields) {
	t.Helper()
	if len(rec.bad) > 0 {
		t.Fatal(strings.Join(rec.bad, "; "))
	}
}

func FuzzDissect(f *testing.F) {
	patterns, _ := filepath.Glob(filepath.Join("testdata", "dissect", "*.pattern"))
	for _, path := range patterns {
		pattern, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		p := strings.TrimSuffix(string(pattern), "\n")
		seedLines(f, "dissect", func(line []byte) { f.Add(p, line) })
	}
	f.Add(`%{a} %{+a/2} %{*k}=%{&k} %{?s} %{} %{b->}|%{c|integer}`, []byte("x y k=v s t b|||7"))
	f.Fuzz(func(t *testing.T, pattern string, line []byte) {
		p, err := processors.NewDissect(pattern)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "dissect pattern: ") {
				t.Fatalf("compile error %q does not say it is about the pattern", err)
			}
			return
		}
		var rec parsedFields
		if err := p.Parse(line, &rec); err != nil {
			if strings.HasPrefix(err.Error(), "dissect") {
				t.Fatalf("parse error %q names dissect, which the chain does already", err)
			}
			return
		}
		checkContract(t, &rec)
	})
}

func FuzzLogfmt(f *testing.F) {
	seedLines(f, "parse_logfmt", func(line []byte) { f.Add(line) })
	p := processors.NewLogfmt()
	f.Fuzz(func(t *testing.T, line []byte) {
		var rec parsedFields
		if err := p.Parse(line, &rec); err != nil {
			return
		}
		checkContract(t, &rec)
		for _, fl := range rec.fields {
			if strings.ContainsAny(fl.key, " \t=\"") {
				t.Fatalf("key %q holds a separator", fl.key)
			}
			if fl.raw && fl.val != "true" {
				t.Fatalf("raw value %q of %s: only a bare key's true is raw", fl.val, fl.key)
			}
		}
	})
}

func FuzzParseJSON(f *testing.F) {
	seedLines(f, "parse_json", func(line []byte) { f.Add(line) })
	p := processors.NewJSON(8)
	f.Fuzz(func(t *testing.T, line []byte) {
		var rec parsedFields
		if err := p.Parse(line, &rec); err != nil {
			return
		}
		checkContract(t, &rec) // every raw value is valid JSON
		for _, fl := range rec.fields {
			if !utf8.ValidString(fl.key) || (!fl.raw && !utf8.ValidString(fl.val)) {
				t.Fatalf("%q = %q: invalid UTF-8 was not replaced", fl.key, fl.val)
			}
		}
		// What parses is a JSON object by the grammar (names may repeat: the last one wins; a \ud800 escape
		// stands alone).
		if utf8.Valid(line) && !jsontext.Value(line).IsValid(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)) {
			t.Fatalf("parsed %q, which is not valid JSON", line)
		}
	})
}

func FuzzPreset(f *testing.F) {
	names := []string{"apache_common", "apache_combined", "nginx_combined", "tomcat_access", "syslog"}
	parsers := make([]processors.Parser, len(names))
	for i, name := range names {
		p, err := processors.NewPreset(name)
		if err != nil {
			f.Fatal(err)
		}
		parsers[i] = p
	}
	seedLines(f, "preset", func(line []byte) { f.Add(line) })
	f.Fuzz(func(t *testing.T, line []byte) {
		for i, p := range parsers {
			var rec parsedFields
			if err := p.Parse(line, &rec); err != nil {
				if !strings.HasPrefix(err.Error(), names[i]+": ") {
					t.Fatalf("error %q does not name the preset %s", err, names[i])
				}
				continue
			}
			checkContract(t, &rec)
		}
	})
}
