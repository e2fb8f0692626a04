package main_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLogLinesHaveEachKeyOnce: every JSON log line of a run names each key once (JSON consumers reject or
// overwrite a repeated key; "component" used to appear twice on the file source's and the engine's lines).
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
		keys, err := objectKeys([]byte(l))
		if err != nil {
			t.Fatalf("log line is not a JSON object (%v): %s", err, l)
		}
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k] {
				t.Errorf("key %q twice in %s", k, l)
			}
			seen[k] = true
		}
		var v struct{ Component string }
		_ = json.Unmarshal([]byte(l), &v)
		components[v.Component] = true
	}
	for _, c := range []string{"file", "store"} {
		if !components[c] {
			t.Errorf("no log line of component %q among %d lines: the check did not cover it", c, len(lines))
		}
	}
}

// objectKeys lists the top-level keys of the JSON object b, in order, repeats included.
func objectKeys(b []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}
