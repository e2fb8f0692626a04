package main_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sources/container/containertest"
)

// TestProcessorsLineCannotReplaceInputFields: through the built binary (test-processors prints events as the
// outputs encode them), a line's parsed fields do not replace the input's configured fields, only fill their
// gaps; a failed step's error.message names it once and keeps the log's own error value as error_; a line of
// too many fields or too deep a dotted name ships unparsed with error.message naming the bound.
func TestProcessorsLineCannotReplaceInputFields(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(`log_files:
  - name: app
    paths: ["/nonexistent/*.log"]
    fields: {env: prod}
    processors:
      - parse_json: {target: ""}
      - timestamp: {field: ts, layouts: [RFC3339], ignore_missing: true}
outputs:
  - type: stdout
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var many strings.Builder
	many.WriteString("{")
	for i := range 1500 {
		fmt.Fprintf(&many, `"k%d":%d,`, i, i)
	}
	many.WriteString(`"last":1}`)
	lines := []string{
		`{"fields":{"env":"dev","team":"web"},"msg":"spoof"}`,
		`{"error":"connection refused","ts":"yesterday"}`,
		many.String(),
		fmt.Sprintf(`{%q:1}`, strings.Repeat("a.", 70)+"a"),
	}
	cmd := exec.Command(binary, "test-processors", "-c", cfg, "--input", "app")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("test-processors: %v\n%s", err, stderr.String())
	}
	evs := readEventsFrom[map[string]any](t, stdout.Bytes())
	if len(evs) != len(lines) {
		t.Fatalf("printed %d events, want %d:\n%s%s", len(evs), len(lines), stdout.String(), stderr.String())
	}
	for _, c := range []struct {
		ev   int
		path string
		want any
	}{
		{0, "fields.env", "prod"}, // the configured value, not the line's
		{0, "fields.team", "web"}, // the line fills a gap
		{0, "msg", "spoof"},
		{1, "error.message", `timestamp: "yesterday" matches none of the layouts RFC3339`},
		{1, "error_", "connection refused"},
		{2, "error.message", "parse_json: more than 1000 fields in one event"},
		{2, "message", lines[2]},
		{3, "error.message", fmt.Sprintf(`parse_json: member %q...: its dotted name nests it deeper than max_depth 64`,
			strings.Repeat("a.", 20))},
	} {
		if got, _ := field(evs[c.ev], c.path); got != c.want {
			t.Errorf("event %d: %s = %#v, want %#v", c.ev, c.path, got, c.want)
		}
	}
	if _, parsed := field(evs[2], "k0"); parsed {
		t.Error("event 2: the line of 1500 members was parsed, want it shipped unparsed")
	}
}

// TestProcessorsContainerRecordReadTime: a Docker record's own time is the event's, not its read time: with a
// timestamp processor, event.ingested is when flicker read the line (not the record's 2024 time), and the line's
// stream=spoof does not replace the stream the source wrote.
func TestProcessorsContainerRecordReadTime(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logPath, out := filepath.Join(dir, "app-json.log"), filepath.Join(dir, "out.jsonl")
	recordTime := time.Date(2024, 5, 1, 10, 0, 1, 0, time.UTC)
	if err := os.WriteFile(logPath, containertest.Records("stdout", "ts=2025-01-02T03:04:05Z stream=spoof level=info", recordTime)[0], 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, dir, filepath.Join(dir, "*.log"), out, `    format: docker
    processors:
      - parse_logfmt: {}
      - timestamp: {field: ts, layouts: [RFC3339], remove: true}`)
	before := time.Now()
	p := start(t, dir, "-c", cfg, "--log-format", "json")
	waitFor(t, 20*time.Second, "one event", func() bool { return len(readEvents[map[string]any](t, out)) == 1 }, p)
	p.stop()
	ev := readEvents[map[string]any](t, out)[0]
	if got, _ := field(ev, "@timestamp"); got != "2025-01-02T03:04:05.000000000Z" {
		t.Errorf("@timestamp %v, want the log's 2025-01-02T03:04:05Z", got)
	}
	raw, _ := field(ev, "event.ingested")
	ingested, err := time.Parse(time.RFC3339Nano, fmt.Sprint(raw))
	if err != nil || ingested.Before(before.Add(-time.Second)) {
		t.Errorf("event.ingested %v, want the read time, after %v (not the record's %v)", raw, before, recordTime)
	}
	if got, _ := field(ev, "stream"); got != "stdout" {
		t.Errorf("stream %v, want the source's stdout, not the line's", got)
	}
	if got, _ := field(ev, "level"); got != "info" {
		t.Errorf("level %v, want the parsed info", got)
	}
}
