package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestProcessorsLargeLogKeepsOrder: a log large enough that each read is processed in several chunks at once
// arrives processed, in the order of its lines, without the dropped ones, and the registry ends at the end of
// the file.
func TestProcessorsLargeLogKeepsOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := filepath.Join(dir, "big.log")
	out := filepath.Join(dir, "out.ndjson")
	reg := filepath.Join(dir, "registry.db")
	const lines = 40000
	appendLines(t, log, "seq", 0, lines) // "seq 00000042 xxx..."
	procs := `    processors:
      - dissect: {pattern: '%{word} %{n} %{pad}'}
      - drop: {if: {field: n, regex: '7$'}}
      - drop_fields: {fields: [pad, word]}
`
	cfg := writeProcessorsConfig(t, dir, filepath.Join(dir, "*.log"), procs, fileOutput(out))
	p := start(t, dir, "-c", cfg, "--once", "--registry-file", reg, "--log-format", "json")
	if code := p.wait(time.Minute); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.logs())
	}
	evs := readEvents[struct {
		N       string `json:"n"`
		Message string `json:"message"`
	}](t, out)
	var want []int // the lines kept, in order
	for i := range lines {
		if i%10 != 7 {
			want = append(want, i)
		}
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d (every line but those ending in 7):\n%s", len(evs), len(want), p.logs())
	}
	for i, ev := range evs {
		if n := fmt.Sprintf("%08d", want[i]); ev.N != n || ev.Message != line("seq", want[i]) {
			t.Fatalf("event %d: n %q message %.20q, want n %s and its line", i, ev.N, ev.Message, n)
		}
	}
	fi, err := os.Stat(log)
	if err != nil {
		t.Fatal(err)
	}
	if doc, err := exportRegistry(reg); err != nil || doc.offset(log) != fi.Size() {
		t.Errorf("registry offset %d (err %v), want the file's size %d", doc.offset(log), err, fi.Size())
	}
}
