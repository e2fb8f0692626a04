package file_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/sources/file"
)

// utf16Text encodes each piece in the byte order of enc; a piece starting with "raw:" is written as is (stray
// bytes).
func utf16Text(enc string, pieces ...string) string {
	var b strings.Builder
	for _, p := range pieces {
		if raw, ok := strings.CutPrefix(p, "raw:"); ok {
			b.WriteString(raw)
			continue
		}
		b.Write(utf16Bytes(p, enc == "utf-16be"))
	}
	return b.String()
}

// TestUTF16StrayByte: an odd number of bytes before a newline, or a stray byte in the middle of a line, costs a
// U+FFFD (counted) in that line only; the lines after it are shipped as they are.
func TestUTF16StrayByte(t *testing.T) {
	for _, enc := range []string{"utf-16le", "utf-16be"} {
		t.Run(enc, func(t *testing.T) {
			tests := []struct {
				name    string
				content string
				want    []string // "prefix*" matches a message that starts with prefix and ends with U+FFFD
			}{
				{"odd byte before the newline",
					utf16Text(enc, "one\n", "tw", "raw:X", "\n", "three\r\n", "four\n"),
					[]string{"one", "tw\uFFFD", "three", "four"}},
				{"stray byte in the middle of a line",
					utf16Text(enc, "one\n", "ab", "raw:\xff", "cd\n", "after\n", "end\n"),
					[]string{"one", "ab*", "after", "end"}},
				{"two stray bytes in two lines",
					utf16Text(enc, "raw:\x01", "x\n", "y", "raw:\x02", "\n", "z\n"),
					[]string{"*", "y\uFFFD", "z"}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					dir := t.TempDir()
					path := filepath.Join(dir, "a.log")
					writeFile(t, path, tt.content)
					r := start(t, testConfig(dir, func(c *file.Config) { c.Encoding = enc }), newRegistry(), file.Options{})
					eventually(t, "every line", func() bool { return len(r.pub.messages(path)) >= len(tt.want) })
					got := r.pub.messages(path)
					replaced := 0
					for i, w := range tt.want {
						replaced += strings.Count(got[i], "\uFFFD")
						if prefix, ok := strings.CutSuffix(w, "*"); ok {
							if !strings.HasPrefix(got[i], prefix) || !strings.HasSuffix(got[i], "\uFFFD") {
								t.Errorf("message %d: %q, want %q followed by garbage and U+FFFD", i, got[i], prefix)
							}
						} else if got[i] != w {
							t.Errorf("message %d: %q, want %q", i, got[i], w)
						}
					}
					if len(got) != len(tt.want) {
						t.Errorf("%d messages %q, want %d", len(got), got, len(tt.want))
					}
					if last := r.pub.all()[len(got)-1]; last.Pos != int64(len(tt.content)) {
						t.Errorf("last event ends at %d, want %d: every byte shipped", last.Pos, len(tt.content))
					}
					if n := r.src.Stats().InvalidEncoding; n != uint64(replaced) {
						t.Errorf("invalid encoding counted %d, want %d (the U+FFFDs shipped)", n, replaced)
					}
				})
			}
		})
	}
}

// TestUTF16OddByteAtEOF: an odd byte at the end of the file is the start of a partial line like any other: held
// back until its newline arrives, or flushed (with U+FFFD) by flush_partial_on_close in once mode.
func TestUTF16OddByteAtEOF(t *testing.T) {
	for _, enc := range []string{"utf-16le", "utf-16be"} {
		t.Run(enc+" completed later", func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "a.log")
			writeFile(t, path, utf16Text(enc, "one\n", "tail", "raw:X"))
			r := start(t, testConfig(dir, func(c *file.Config) { c.Encoding = enc }), newRegistry(), file.Options{})
			waitMessages(t, r, path, "one")
			appendFile(t, path, utf16Text(enc, "\n", "next\n"))
			waitMessages(t, r, path, "one", "tail\uFFFD", "next")
		})
		t.Run(enc+" flushed in once mode", func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "a.log")
			content := utf16Text(enc, "one\n", "tail", "raw:X")
			writeFile(t, path, content)
			cfg := testConfig(dir, func(c *file.Config) { c.Encoding, c.FlushPartialOnClose = enc, true })
			src, err := file.New(cfg, newRegistry(), file.Options{Once: true}, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			pub := &recPublisher{}
			if err := src.Run(context.Background(), pub); err != nil {
				t.Fatal(err)
			}
			if got := pub.messages(path); !equalStrings(got, []string{"one", "tail\uFFFD"}) {
				t.Fatalf("messages %q", got)
			}
			if evs := pub.all(); evs[1].Pos != int64(len(content)) {
				t.Errorf("flushed event ends at %d, want %d", evs[1].Pos, len(content))
			}
			if n := src.Stats().InvalidEncoding; n != 1 {
				t.Errorf("invalid encoding counted %d, want 1", n)
			}
		})
	}
}
