package main_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestProcessingExampleShipsECSTypes: the Tomcat processors of examples/processing.yaml, the same pattern as
// README's Processing example, make documents an ECS-mapped index accepts: status and size as JSON numbers (a
// "-" size left out) and http.version without "HTTP/".
func TestProcessingExampleShipsECSTypes(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	example, err := os.ReadFile(filepath.Join(root, "examples", "processing.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	pattern := regexp.MustCompile(`- dissect: \{pattern: '([^']*)'\}`).FindSubmatch(example)
	if pattern == nil {
		t.Fatal("examples/processing.yaml has no dissect pattern")
	}
	if !bytes.Contains(readme, pattern[1]) {
		t.Errorf("README's Processing example does not use examples/processing.yaml's pattern %s", pattern[1])
	}
	sample, err := os.Open(filepath.Join(root, "examples", "logs", "localhost_access_log.2026-11-21.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer sample.Close()
	cmd := exec.Command(binary, "test-processors", "-c", filepath.Join("examples", "processing.yaml"), "--input",
		"tomcat")
	cmd.Dir, cmd.Stdin = root, sample
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("test-processors: %v\n%s", err, stderr.String())
	}
	evs := readEventsFrom[map[string]any](t, stdout.Bytes())
	if len(evs) != 3 { // the /health probe is dropped
		t.Fatalf("printed %d events, want 3:\n%s%s", len(evs), stdout.String(), stderr.String())
	}
	sizeless := 0
	for i, ev := range evs {
		if v, _ := field(ev, "http.version"); v != "1.1" {
			t.Errorf("event %d: http.version %#v, want \"1.1\"", i, v)
		}
		if v, _ := field(ev, "http.response.status_code"); !isNumber(v) {
			t.Errorf("event %d: http.response.status_code %#v, want a JSON number", i, v)
		}
		switch v, ok := field(ev, "http.response.body.bytes"); {
		case !ok:
			sizeless++
		case !isNumber(v):
			t.Errorf("event %d: http.response.body.bytes %#v, want a JSON number or none", i, v)
		}
		if _, failed := field(ev, "error.message"); failed {
			t.Errorf("event %d failed to parse: %v", i, ev)
		}
	}
	if sizeless != 1 {
		t.Errorf("%d events without http.response.body.bytes, want 1 (the line with a \"-\" size)", sizeless)
	}
}

func isNumber(v any) bool {
	_, ok := v.(float64)
	return ok
}

// TestTestProcessorsHelpSaysSourceMembersAreMissing: test-processors feeds lines without a source around them,
// and its --help says which members a real input adds that it cannot show.
func TestTestProcessorsHelpSaysSourceMembersAreMissing(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(binary, "test-processors", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("test-processors --help: %v\n%s", err, out)
	}
	help := strings.Join(strings.Fields(string(out)), " ")
	for _, want := range []string{"container.*", "kubernetes.*", "api.*", "syslog.*", "are not added"} {
		if !strings.Contains(help, want) {
			t.Errorf("test-processors --help does not say %q:\n%s", want, out)
		}
	}
}
