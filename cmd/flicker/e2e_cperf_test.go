package main_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A container log whose first message is empty ships it as an event with an empty message; the reader once
// panicked on it (no output arena chunk yet to reference it in) and flicker died.
func TestE2EContainerEmptyFirstMessage(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ format, log string }{
		{"docker", `{"log":"\n","stream":"stdout","time":"2024-05-01T10:00:01Z"}` + "\n" +
			`{"log":"after\n","stream":"stdout","time":"2024-05-01T10:00:02Z"}` + "\n"},
		{"cri", "2024-05-01T10:00:01Z stdout F \n2024-05-01T10:00:02Z stdout F after\n"},
	} {
		t.Run(tt.format, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			logPath, out := filepath.Join(dir, "app.log"), filepath.Join(dir, "out.jsonl")
			if err := os.WriteFile(logPath, []byte(tt.log), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := writeConfig(t, dir, logPath, out, "    format: "+tt.format)
			p := start(t, dir, "-c", cfg, "--log-format", "json")
			waitFor(t, 20*time.Second, "two events", func() bool { return len(readOutput(t, out)) == 2 }, p)
			p.stop()
			if evs := readOutput(t, out); evs[0].Message != "" || evs[1].Message != "after" {
				t.Errorf("messages %q, %q; want \"\", \"after\"", evs[0].Message, evs[1].Message)
			}
		})
	}
}
