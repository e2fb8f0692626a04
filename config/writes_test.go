package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/config"
)

// requireOneError parses doc and checks that it fails with exactly one error, at line and path, whose message
// holds each of want.
func requireOneError(t *testing.T, doc string, line int, path string, want ...string) *config.Error {
	t.Helper()
	_, err := config.Parse([]byte(doc), "c.yaml")
	var errs config.Errors
	if !errors.As(err, &errs) || len(errs) != 1 {
		t.Fatalf("want one error at line %d, %s; got:\n%v", line, path, err)
	}
	e := errs[0]
	if e.Line != line || e.Path != path {
		t.Errorf("error at line %d, %s; want line %d, %s:\n%v", e.Line, e.Path, line, path, e)
	}
	for _, w := range want {
		if !strings.Contains(e.Msg, w) {
			t.Errorf("message lacks %q:\n%v", w, e)
		}
	}
	return e
}

// TestParseModeErrors: mode on a file output and on a dead-letter file is checked, naming the field and its line.
func TestParseModeErrors(t *testing.T) {
	const head = "log_files:\n  - name: app\n    paths: [\"/x/*.log\"]\noutputs:\n"
	requireOneError(t, head+"  - type: file\n    path: /out/events.ndjson\n    mode: \"0755\"\n", 7,
		"outputs[0].mode", `"0755" has execute bits`, "0644")
	requireOneError(t, head+"  - type: stdout\n    dead_letter: {path: /out/dead.ndjson, mode: 4600}\n", 6,
		"outputs[0].dead_letter.mode", "above 0777")
	requireOneError(t, head+"  - type: stdout\n    dead_letter:\n      path: /out/dead.ndjson\n      mode: rw-------\n", 8,
		"outputs[0].dead_letter.mode", "not an octal file mode", `"0640"`)

	c := mustParse(t, head+"  - type: file\n    path: /out/events.ndjson\n    mode: 0640\n")
	if got := c.Outputs[0].File.Mode; got != "0640" {
		t.Errorf("unquoted mode decoded as %q, want the octal text 0640", got)
	}
}
