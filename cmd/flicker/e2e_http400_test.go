package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sinks/http/collecttest"
)

// TestHTTPOutputBadRequestIsolatesBadEvents: the http output against an endpoint that refuses a whole request
// with 400 when any of its events is invalid (the e2e collector, an httptest server on 127.0.0.1 that decodes
// each NDJSON body and refuses it when a message holds the marker "INVALID"): of 1000 lines with 3 invalid ones,
// the 997 others reach the endpoint exactly once, and the dead letter file holds exactly the 3, each with the
// endpoint's answer to it alone. The dead letter rotates after every write and the logs are at debug level, so
// that the file sink's lines for a dead letter are among those start's checkLogKeys checks; insecure_skip_verify
// on a plain http url makes the http output log its two warnings at start, for the same reason.
func TestHTTPOutputBadRequestIsolatesBadEvents(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const marker = "INVALID"
	coll := collecttest.Start(t, collecttest.Refuse(func(msgs []string) string {
		for _, m := range msgs {
			if strings.Contains(m, marker) {
				return "invalid event: " + m
			}
		}
		return ""
	}))
	bad := []int{0, 500, 999}
	logPath := filepath.Join(dir, "app.log")
	var lines strings.Builder
	for i := range 1000 {
		prefix := "h"
		if slices.Contains(bad, i) {
			prefix = marker
		}
		lines.WriteString(line(prefix, i) + "\n")
	}
	if err := os.WriteFile(logPath, []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(dir, "dead.ndjson")
	cfg := writeOutputsConfig(t, dir, logPath, fmt.Sprintf(`  - type: http
    name: collector
    url: %q
    insecure_skip_verify: true
    dead_letter: {path: %q, max_bytes: 1, max_files: 5}
`, coll.URL(), dead), "")
	p := start(t, dir, "-c", cfg, "--registry-file", filepath.Join(dir, "reg.db"), "--once",
		"--log-format", "json", "--log-level", "debug")
	if code := p.wait(time.Minute); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.logs())
	}

	for i := range 1000 {
		want := 1
		if slices.Contains(bad, i) {
			want = 0
		}
		if n := coll.Count(line("h", i)) + coll.Count(line(marker, i)); n != want {
			t.Errorf("line %d accepted by the endpoint %d times, want %d", i, n, want)
		}
	}
	if n := coll.Total(); n != 1000-len(bad) {
		t.Errorf("the endpoint accepted %d events, want %d", n, 1000-len(bad))
	}
	var got []string
	for _, path := range append([]string{dead}, deadLetterRotations(dead)...) {
		for _, d := range readEvents[deadLettered](t, path) {
			got = append(got, d.Message)
			if d.DeadLetter == nil || !strings.Contains(d.DeadLetter.Reason, "http 400") ||
				!strings.Contains(d.DeadLetter.Reason, "invalid event: "+d.Message) {
				t.Errorf("dead letter of %q has reason %+v, want the endpoint's 400 answer to it", d.Message, d.DeadLetter)
			}
		}
	}
	slices.Sort(got)
	want := []string{line(marker, bad[0]), line(marker, bad[1]), line(marker, bad[2])}
	if !slices.Equal(got, want) {
		t.Errorf("dead letters %q, want exactly %q", got, want)
	}
	logs := p.stderr.String()
	if !strings.Contains(logs, `"message":"rotated"`) || !strings.Contains(logs, `"component":"sink.http"`) {
		t.Errorf("no line of the dead letter's rotation or of the http output: their log keys went unchecked")
	}
	t.Logf("%d requests", coll.Requests())
}

// deadLetterRotations lists the rotated files of the dead letter file at path that exist: path.1, path.2, ...
func deadLetterRotations(path string) []string {
	var out []string
	for n := 1; ; n++ {
		p := fmt.Sprintf("%s.%d", path, n)
		if _, err := os.Stat(p); err != nil {
			return out
		}
		out = append(out, p)
	}
}
