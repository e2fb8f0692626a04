package main_test

import (
	bo "encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf16"
)

// TestUTF16StrayBytesOnce: UTF-16 files (both byte orders) with an odd number of bytes before one newline and a
// stray byte in the middle of another line are shipped whole by --once: every line arrives once, the two damaged
// lines with U+FFFD, and flicker exits 0.
func TestUTF16StrayBytesOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	const n = 300
	var want []string
	inputs := ""
	for _, enc := range []string{"utf-16le", "utf-16be"} {
		logs := filepath.Join(dir, enc)
		if err := os.Mkdir(logs, 0o755); err != nil {
			t.Fatal(err)
		}
		bigEndian := enc == "utf-16be"
		content := []byte{0xFF, 0xFE}
		if bigEndian {
			content = []byte{0xFE, 0xFF}
		}
		for i := range n {
			msg := fmt.Sprintf("%s line %04d", enc, i)
			switch i {
			case 100: // an odd number of bytes before the newline
				line := append(appendUTF16(nil, msg, bigEndian), 'X')
				content = appendUTF16(append(content, line...), "\n", bigEndian)
				msg = decodeUTF16(line, bigEndian)
			case 200: // a stray byte in the middle: the rest of the line is read one byte off
				line := appendUTF16(append(appendUTF16(nil, msg[:5], bigEndian), 0xFF), msg[5:], bigEndian)
				content = appendUTF16(append(content, line...), "\n", bigEndian)
				msg = decodeUTF16(line, bigEndian)
			default:
				content = appendUTF16(content, msg+"\n", bigEndian)
			}
			want = append(want, msg)
		}
		if err := os.WriteFile(filepath.Join(logs, "app.log"), content, 0o644); err != nil {
			t.Fatal(err)
		}
		inputs += fmt.Sprintf("  - name: %s\n    paths: [%q]\n    encoding: %s\n", enc, filepath.Join(logs, "*.log"), enc)
	}
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("log_files:\n%soutputs:\n  - type: file\n    name: out\n    path: %q\n",
		inputs, out)), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, dir, "-c", cfg, "--once", "--registry-file", filepath.Join(dir, "reg.db"))
	if code := p.wait(60 * time.Second); code != 0 {
		t.Fatalf("exit code %d; logs:\n%s", code, p.logs())
	}
	got := readOutput(t, out)
	assertExactlyOnce(t, countMessages(got), want)
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d", len(got), len(want))
	}
}

// decodeUTF16 is the reference decoding of one line: the standard library's for the whole units, U+FFFD for an
// odd last byte.
func decodeUTF16(b []byte, bigEndian bool) string {
	units := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		if bigEndian {
			units = append(units, bo.BigEndian.Uint16(b[i:]))
		} else {
			units = append(units, bo.LittleEndian.Uint16(b[i:]))
		}
	}
	s := string(utf16.Decode(units))
	if len(b)%2 == 1 {
		s += "\uFFFD"
	}
	return s
}

func appendUTF16(dst []byte, s string, bigEndian bool) []byte {
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			dst = bo.BigEndian.AppendUint16(dst, u)
		} else {
			dst = bo.LittleEndian.AppendUint16(dst, u)
		}
	}
	return dst
}
