package main_test

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLogLinesHaveEachKeyOnce: every JSON log line of a run names each key once (JSON consumers reject or
// overwrite a repeated key; "component" used to appear twice on the file source's and the engine's lines). The
// check itself is checkLogKeys, which start runs on the logs of every flicker it starts; this test makes sure
// that lines of the file source and the store are among them.
func TestLogLinesHaveEachKeyOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	cfg := writeConfig(t, dir, filepath.Join(dir, "*.log"), out, "")
	appendLines(t, filepath.Join(dir, "app.log"), "keys", 0, 100)
	p := start(t, dir, "-c", cfg, "--registry-file", filepath.Join(dir, "reg.db"), "--once",
		"--log-level", "debug", "--log-format", "json")
	if code := p.wait(60 * time.Second); code != 0 {
		t.Fatalf("exit %d; logs:\n%s", code, p.logs())
	}
	lines := strings.Split(strings.TrimSpace(p.stderr.String()), "\n")
	components := map[string]bool{}
	for _, l := range lines {
		var v struct{ Component string }
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("log line is not a JSON object (%v): %s", err, l)
		}
		components[v.Component] = true
	}
	for _, c := range []string{"file", "store"} {
		if !components[c] {
			t.Errorf("no log line of component %q among %d lines: the check did not cover it", c, len(lines))
		}
	}
}

// TestDuplicateKeys checks the detector that checkLogKeys runs on every log line.
func TestDuplicateKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, line string
		want       []string
		wantErr    bool
	}{
		{name: "none", line: `{"level":"info","component":"store","message":"m"}`},
		{name: "top level", line: `{"component":"dead_letter","output":"o","component":"sink.file"}`,
			want: []string{"component"}},
		{name: "three times", line: `{"a":1,"a":2,"a":3}`, want: []string{"a", "a"}},
		{name: "escaped spelling", line: `{"registry":"x","re\u0067istry":"x"}`, want: []string{"registry"}},
		{name: "nested", line: `{"a":{"b":1,"c":{"d":[1,{"e":1}],"d":2}},"f":true}`, want: []string{"a.c.d"}},
		{name: "same key in other objects", line: `{"k":{"k":1},"l":[{"k":1},{"k":2}],"m":{"k":null}}`},
		{name: "in objects of an array", line: `{"l":[{"k":1,"k":2}]}`, want: []string{"l.k"}},
		{name: "after a nested object", line: `{"o":{"x":1},"p":1,"o":2}`, want: []string{"o"}},
		{name: "empty values", line: `{"a":{},"b":[],"c":"","a":[]}`, want: []string{"a"}},
		{name: "not JSON", line: `{"a":1,`, wantErr: true},
		{name: "two values", line: `{"a":1}{"a":1}`, wantErr: true},
		{name: "empty", line: ``, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := duplicateKeys([]byte(tc.line))
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want an error: %v", err, tc.wantErr)
			}
			if !tc.wantErr && !slices.Equal(got, tc.want) {
				t.Errorf("duplicateKeys(%s) = %q, want %q", tc.line, got, tc.want)
			}
		})
	}
}
