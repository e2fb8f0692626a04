package benchmarks

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestGenerateNginxMatchesItsPatterns checks that every generated line is an nginx combined line the workloads'
// regex reads whole, with a time the timestamp layout parses, and that generation is deterministic.
func TestGenerateNginxMatchesItsPatterns(t *testing.T) {
	lines := generatedLines(t, GenerateNginx)
	re := regexp.MustCompile(nginxRegex)
	var ipv6, dash int
	for i, line := range lines {
		m := re.FindSubmatch(line)
		if m == nil {
			t.Fatalf("line %d does not match the nginx pattern: %q", i+1, line)
		}
		if _, err := time.Parse("02/Jan/2006:15:04:05 -0700", string(m[re.SubexpIndex("nginx__time")])); err != nil {
			t.Fatalf("line %d: time: %v", i+1, err)
		}
		if bytes.Contains(m[re.SubexpIndex("source__address")], []byte(":")) {
			ipv6++
		}
		if string(m[re.SubexpIndex("user__name")]) == "-" {
			dash++
		}
	}
	if ipv6 == 0 || dash == 0 {
		t.Fatalf("%d lines: %d IPv6 clients, %d without a user; want some of each", len(lines), ipv6, dash)
	}
}

// TestGenerateJSONLinesAreObjects checks that every generated line is one JSON object with a time in RFC 3339
// and a nested object, in time order.
func TestGenerateJSONLinesAreObjects(t *testing.T) {
	lines := generatedLines(t, GenerateJSONLines)
	var last time.Time
	var escaped int
	for i, line := range lines {
		var v struct {
			Time string         `json:"time"`
			HTTP map[string]any `json:"http"`
			Msg  string         `json:"msg"`
		}
		if err := json.Unmarshal(line, &v); err != nil {
			t.Fatalf("line %d: %v: %q", i+1, err, line)
		}
		ts, err := time.Parse(time.RFC3339Nano, v.Time)
		if err != nil || ts.Before(last) || v.HTTP["status"] == nil {
			t.Fatalf("line %d: time %q (after %v: %v), http %v", i+1, v.Time, last, err, v.HTTP)
		}
		last = ts
		if bytes.Contains(line, []byte(`\"`)) {
			escaped++
		}
	}
	if escaped == 0 {
		t.Fatalf("%d lines, none with an escaped quote", len(lines))
	}
}

// generatedLines generates 256 KiB twice with generate, checks both are the same and the count it returned,
// and returns the lines without their newlines.
func generatedLines(t *testing.T, generate func(string, int64) (int64, error)) [][]byte {
	t.Helper()
	dir := t.TempDir()
	var files [2][]byte
	var n int64
	for i := range files {
		path := filepath.Join(dir, "log"+string(rune('a'+i)))
		var err error
		if n, err = generate(path, 256<<10); err != nil {
			t.Fatal(err)
		}
		if files[i], err = os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(files[0], files[1]) || len(files[0]) < 256<<10 {
		t.Fatalf("two generations differ or are short (%d bytes)", len(files[0]))
	}
	lines := bytes.Split(bytes.TrimSuffix(files[0], []byte{'\n'}), []byte{'\n'})
	if int64(len(lines)) != n {
		t.Fatalf("%d lines, the generator said %d", len(lines), n)
	}
	return lines
}
