package container_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/sources/container"
	"github.com/flickerlog/flicker/sources/container/containertest"
	"github.com/flickerlog/flicker/sources/file"
)

// format: auto on log_files tells each file's format from its first line: a json-file log is decoded and
// joined, a plain log is read as lines.
func TestLogFilesFormatAuto(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	when := time.Date(2024, 5, 1, 10, 0, 1, 0, time.UTC)
	var docker []byte
	for _, r := range containertest.Records("stderr", strings.Repeat("j", 20<<10), when) {
		docker = append(docker, r...)
	}
	if err := os.WriteFile(filepath.Join(dir, "docker.log"), docker, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plain.log"), []byte("{not docker}\nplain two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := autoSource(t, dir, nil)
	sink := &recSink{}
	run(t, src, sink)
	waitFor(t, "three events", func() bool { return len(sink.all()) == 3 })
	for _, e := range sink.all() {
		switch filepath.Base(e.Path) {
		case "docker.log":
			if e.Message != strings.Repeat("j", 20<<10) || e.Extra != `,"stream":"stderr"` || !e.Time.Equal(when) {
				t.Errorf("docker.log event of %d bytes, %s, %v", len(e.Message), e.Extra, e.Time)
			}
		case "plain.log":
			if e.Extra != "" || (e.Message != "{not docker}" && e.Message != "plain two") {
				t.Errorf("plain.log event %q with %q", e.Message, e.Extra)
			}
		}
	}
	if n := src.Stats().Malformed; n != 0 {
		t.Errorf("%d lines counted malformed", n)
	}
}

// A plain file under format: auto has its long lines cut at max_line_bytes as a plain log_files input cuts them,
// each piece at its own raw offsets, though container records are read whole beyond that limit.
func TestLogFilesFormatAutoCutsLongPlainLines(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	long := strings.Repeat("p", 250)
	if err := os.WriteFile(filepath.Join(dir, "plain.log"), []byte("first\n"+long+"\r\nlast\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sink := &recSink{}
	run(t, autoSource(t, dir, func(c *file.Config) { c.MaxLineBytes = 100 }), sink)
	waitFor(t, "five events", func() bool { return len(sink.all()) == 5 })
	want := []got{{Message: "first", Offset: 0}, {Message: long[:100], Offset: 6}, {Message: long[100:200], Offset: 106},
		{Message: long[200:], Offset: 206}, {Message: "last", Offset: 258}}
	for i, e := range sink.all() {
		if e.Message != want[i].Message || e.Offset != want[i].Offset {
			t.Errorf("event %d: %q at %d, want %q at %d", i, e.Message, e.Offset, want[i].Message, want[i].Offset)
		}
	}
}

// autoSource is a log_files source with format: auto over dir/*.log, changed by mod when set.
func autoSource(t *testing.T, dir string, mod func(*file.Config)) *file.Source {
	t.Helper()
	cfg := file.Config{Name: "app", Paths: []string{filepath.Join(dir, "*.log")}, Format: "auto", ScanInterval: 20 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	src, err := file.New(cfg, newRegistry(), file.Options{Formats: container.Formats()}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return src
}
