package processors_test

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/flickerlog/flicker/processors"
)

var updateGolden = flag.Bool("update", false, "rewrite the parsers' golden files in testdata")

// parsedField is one call a parser made to its Setter.
type parsedField struct {
	key string
	raw bool
	val string
}

// parsedFields is a Setter that records the calls in order, copying the bytes as the contract asks.
type parsedFields struct {
	fields []parsedField
	// bad collects contract breaches (an empty key, a SetRaw value that is not one valid JSON value).
	bad []string
}

func (p *parsedFields) SetString(key string, val []byte) {
	if key == "" {
		p.bad = append(p.bad, "SetString with an empty key")
	}
	p.fields = append(p.fields, parsedField{key: key, val: string(val)})
}

func (p *parsedFields) SetRaw(key string, raw []byte) {
	if key == "" {
		p.bad = append(p.bad, "SetRaw with an empty key")
	}
	// Valid by JSON's grammar (RFC 8259: a \ud800 escape may stand alone), in UTF-8, no name twice in an object.
	if !jsontext.Value(raw).IsValid(jsontext.AllowInvalidUTF8(true)) || !utf8.Valid(raw) {
		p.bad = append(p.bad, "SetRaw "+key+" with invalid JSON "+string(raw))
	}
	p.fields = append(p.fields, parsedField{key: key, raw: true, val: string(raw)})
}

// get returns the last value set for key.
func (p *parsedFields) get(key string) (parsedField, bool) {
	for i := len(p.fields) - 1; i >= 0; i-- {
		if p.fields[i].key == key {
			return p.fields[i], true
		}
	}
	return parsedField{}, false
}

// render is one golden line: {"fields":{...}} in the order set (strings quoted, raw values as given), or
// {"error":"..."}.
func renderParse(p *parsedFields, err error) string {
	var b []byte
	if err != nil {
		b = append(b, `{"error":`...)
		b, _ = jsontext.AppendQuote(b, err.Error())
		return string(append(b, '}'))
	}
	b = append(b, `{"fields":{`...)
	for i, f := range p.fields {
		if i > 0 {
			b = append(b, ',')
		}
		b, _ = jsontext.AppendQuote(b, f.key)
		b = append(b, ':')
		if f.raw {
			b = append(b, f.val...)
		} else {
			b, _ = jsontext.AppendQuote(b, f.val) // invalid UTF-8 shows as U+FFFD, as the chain renders it
		}
	}
	return string(append(b, "}}"...))
}

// runGolden parses every line of testdata/<dir>/*.log with the parser parserFor returns for that file and
// compares the results with the .golden file next to it (go test -run TestX -update rewrites them).
func runGolden(t *testing.T, dir string, parserFor func(t *testing.T, logPath string) processors.Parser) {
	t.Helper()
	logs, err := filepath.Glob(filepath.Join("testdata", dir, "*.log"))
	if err != nil || len(logs) == 0 {
		t.Fatalf("no testdata/%s/*.log: %v", dir, err)
	}
	for _, logPath := range logs {
		t.Run(strings.TrimSuffix(filepath.Base(logPath), ".log"), func(t *testing.T) {
			parser := parserFor(t, logPath)
			data, err := os.ReadFile(logPath)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			sc := bufio.NewScanner(bytes.NewReader(data))
			for sc.Scan() {
				var rec parsedFields
				err := parser.Parse(sc.Bytes(), &rec)
				if len(rec.bad) > 0 {
					t.Errorf("line %q: %s", sc.Text(), strings.Join(rec.bad, "; "))
				}
				got.WriteString(renderParse(&rec, err))
				got.WriteByte('\n')
			}
			goldenPath := strings.TrimSuffix(logPath, ".log") + ".golden"
			if *updateGolden {
				if err := os.WriteFile(goldenPath, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			gotLines := strings.Split(got.String(), "\n")
			wantLines := strings.Split(string(want), "\n")
			inLines := strings.Split(string(data), "\n")
			for i := range max(len(gotLines), len(wantLines)) {
				var g, w, in string
				if i < len(gotLines) {
					g = gotLines[i]
				}
				if i < len(wantLines) {
					w = wantLines[i]
				}
				if i < len(inLines) {
					in = inLines[i]
				}
				if g != w {
					t.Errorf("line %d %q:\n got  %s\n want %s", i+1, in, g, w)
				}
			}
		})
	}
}

// readPattern reads the pattern next to a golden .log file: <name>.pattern, without its final newline.
func readPattern(t *testing.T, logPath string) string {
	t.Helper()
	b, err := os.ReadFile(strings.TrimSuffix(logPath, ".log") + ".pattern")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(string(b), "\n")
}

// Parsers are shared by the goroutines publishing one input's streams: each parses every golden line from
// several goroutines at once and must give what it gives alone (run under -race).
func TestParsersConcurrent(t *testing.T) {
	dissect, err := processors.NewDissect(readPattern(t, filepath.Join("testdata", "dissect", "features.log")))
	if err != nil {
		t.Fatal(err)
	}
	regex, err := processors.NewRegex(readPattern(t, filepath.Join("testdata", "parse_regex", "access.log")))
	if err != nil {
		t.Fatal(err)
	}
	combined, err := processors.NewPreset("apache_combined")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir string
		p   processors.Parser
	}{
		{"dissect", dissect}, {"parse_regex", regex}, {"preset", combined},
		{"parse_logfmt", processors.NewLogfmt()}, {"parse_json", processors.NewJSON(0)},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			logs, _ := filepath.Glob(filepath.Join("testdata", tc.dir, "*.log"))
			var lines [][]byte
			for _, path := range logs {
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				lines = append(lines, bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))...)
			}
			want := make([]string, len(lines))
			for i, line := range lines {
				var rec parsedFields
				want[i] = renderParse(&rec, tc.p.Parse(line, &rec))
			}
			var wg sync.WaitGroup
			mismatches := make(chan string, 4)
			for range 4 {
				wg.Go(func() {
					for range 20 {
						for i, line := range lines {
							var rec parsedFields
							if got := renderParse(&rec, tc.p.Parse(line, &rec)); got != want[i] {
								mismatches <- fmt.Sprintf("line %q: got %s, want %s", line, got, want[i])
								return
							}
						}
					}
				})
			}
			wg.Wait()
			close(mismatches)
			for m := range mismatches {
				t.Error(m)
			}
		})
	}
}
