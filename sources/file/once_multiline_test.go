package file_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/sources/file"
)

// In once mode with flush_partial_on_close, an unterminated last line goes through the multi-line joiner like
// any line and is shipped when the file is done, not left pending in the joiner.
func TestOnceFlushesPartialLastLineThroughMultiline(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	if err := os.WriteFile(path, []byte("first\n  continued\nsecond\n  unterminated"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(dir, func(c *file.Config) {
		c.FlushPartialOnClose = true
		c.Multiline = &file.MultilineConfig{Pattern: `^\s`, Timeout: time.Minute}
	})
	src, err := file.New(cfg, newRegistry(), file.Options{Once: true}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	pub := &recPublisher{}
	if err := src.Run(context.Background(), pub); err != nil {
		t.Fatal(err)
	}
	got := pub.messages(path)
	if len(got) != 2 || got[0] != "first\n  continued" || got[1] != "second\n  unterminated" {
		t.Errorf("messages %q", got)
	}
}
