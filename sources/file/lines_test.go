package file_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/internal/fielderr"
	"github.com/flickerlog/flicker/sources/file"
)

func TestSplitter(t *testing.T) {
	tests := []struct {
		name, enc string
		max       int
		in        string
		lines     []string
		rest      string
	}{
		{"plain", "utf-8", 16, "a\nbb\n\nccc", []string{"a", "bb", ""}, "ccc"},
		{"exactly max", "utf-8", 16, strings.Repeat("x", 16) + "\n", []string{strings.Repeat("x", 16)}, ""},
		{"max+1 cut", "utf-8", 16, strings.Repeat("x", 17) + "\n", []string{strings.Repeat("x", 16), "x"}, ""},
		{"waits at max", "utf-8", 16, strings.Repeat("x", 16), nil, strings.Repeat("x", 16)},
		{"utf16le aligned", "utf-16le", 16, "a\x00\n\x00\n\x0a\n\x00", []string{"a\x00", "\n\x0a"}, ""},
		{"utf16le odd newline ends a line", "utf-16le", 16, "\x00\n\x00\x00", []string{"\x00"}, "\x00"},
		{"utf16le stray byte then aligned again", "utf-16le", 16, "a\x00X\n\x00b\x00\n\x00", []string{"a\x00X", "b\x00"}, ""},
		{"utf16be odd newline ends a line", "utf-16be", 16, "\x00aX\x00\n\x00b\x00\n", []string{"\x00aX", "\x00b"}, ""},
		{"utf16 odd byte at the end waits", "utf-16le", 16, "a\x00\n\x00X", []string{"a\x00"}, "X"},
		// The documented cost: U+0A0A then U+4E00 hold an unaligned "\n\x00", which splits that line.
		{"utf16le false split, then aligned", "utf-16le", 16, "\x0a\x0a\x00\x4e\n\x00b\x00\n\x00",
			[]string{"\x0a", "\x4e", "b\x00"}, ""},
		{"utf16be", "utf-16be", 16, "\x00a\x00\n\x0a\x0a\x00\n", []string{"\x00a", "\x0a\x0a"}, ""},
		{"utf16 partial unit", "utf-16le", 16, "a\x00\n", nil, "a\x00\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, rest := file.SplitAll(tt.enc, tt.max, []byte(tt.in))
			var gs []string
			for _, l := range got {
				gs = append(gs, string(l))
			}
			if !equalStrings(gs, tt.lines) || string(rest) != tt.rest {
				t.Errorf("lines %q rest %q, want %q %q", gs, rest, tt.lines, tt.rest)
			}
		})
	}
}

// FuzzSplitter: for any input, lines plus their newlines plus the rest give back the input, no line is longer
// than the limit, what a line consumes beyond its content is a newline, and the rest holds no complete line.
func FuzzSplitter(f *testing.F) {
	f.Add([]byte("a\nb\r\n\nlong line here\n"), uint8(16), uint8(0))
	f.Add([]byte("a\x00\n\x00\n\x0a"), uint8(16), uint8(1))
	f.Add([]byte("\x00\n\x00a\x00\n"), uint8(20), uint8(2))
	f.Add([]byte("a\x00X\n\x00b\x00\n\x00c"), uint8(0), uint8(1))
	encs := []string{"utf-8", "utf-16le", "utf-16be", "latin1"}
	newline := map[string][]byte{"utf-8": {'\n'}, "utf-16le": {'\n', 0}, "utf-16be": {0, '\n'}, "latin1": {'\n'}}
	f.Fuzz(func(t *testing.T, data []byte, maxLine uint8, enc uint8) {
		max := int(maxLine) + file.MinMaxLineBytes
		name := encs[int(enc)%len(encs)]
		unit := 1
		if strings.HasPrefix(name, "utf-16") {
			unit = 2
		}
		lines, consumed, rest := file.SplitAll(name, max, data)
		var joined []byte
		// A UTF-8 line of max bytes and the \r of its \r\n is whole (max+1 bytes, the caller drops the \r), and
		// a rest of max bytes and a \r waits for the byte after it.
		crlf := func(b []byte) bool { return name == "utf-8" && len(b) == max+1 && b[max] == '\r' }
		for i, l := range lines {
			if (len(l) > max && !(crlf(l) && consumed[i] == len(l)+1)) ||
				(consumed[i] != len(l) && consumed[i] != len(l)+unit) {
				t.Fatalf("line %d: len %d consumed %d max %d", i, len(l), consumed[i], max)
			}
			joined = append(joined, data[len(joined):len(joined)+consumed[i]]...)
			if !bytes.Equal(joined[len(joined)-consumed[i]:][:len(l)], l) {
				t.Fatalf("line %d is not the input's bytes", i)
			}
			if nl := joined[len(joined)-consumed[i]+len(l):]; len(nl) > 0 && !bytes.Equal(nl, newline[name]) {
				t.Fatalf("line %d ends with %q, not a newline", i, nl)
			}
		}
		if !bytes.Equal(append(joined, rest...), data) {
			t.Fatalf("lines and rest do not give back the input")
		}
		if len(rest) >= max/unit*unit+unit && !crlf(rest) {
			t.Fatalf("rest of %d bytes should have been cut at %d", len(rest), max)
		}
		if bytes.Contains(rest, newline[name]) {
			t.Fatalf("rest %q holds a newline", rest)
		}
		if out, _ := file.Decode(name, data); name != "utf-8" && !utf8Valid(out) {
			t.Fatalf("decoded output is not UTF-8")
		}
	})
}

func utf8Valid(b []byte) bool { return strings.ToValidUTF8(string(b), "\uFFFD") == string(b) }

func TestDecode(t *testing.T) {
	out, bad := file.Decode("utf-16le", []byte{0x3D, 0xD8, 0x00, 0xDE, 0x00, 0xD8, 'a', 0x00, 'b'})
	if string(out) != "😀\uFFFDa\uFFFD" || bad != 2 {
		t.Errorf("utf-16le: %q, %d invalid", out, bad)
	}
	if out, _ := file.Decode("latin1", []byte("caf\xe9 \xff")); string(out) != "café ÿ" {
		t.Errorf("latin1: %q", out)
	}
}

func TestConfigDefaultsAndValidate(t *testing.T) {
	var c file.Config
	c.Name, c.Paths = "x", []string{"/var/log/*.log"}
	c.Multiline = &file.MultilineConfig{Pattern: "^a"}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.StartPosition != "beginning" || c.MaxLineBytes != file.DefaultMaxLineBytes || c.Encoding != "utf-8" ||
		c.ScanInterval != time.Second || c.MaxOpenFiles != 1024 || c.Multiline.Match != "after" ||
		c.Multiline.MaxLines != 500 || c.Multiline.Timeout != 5*time.Second {
		t.Errorf("defaults: %+v %+v", c, *c.Multiline)
	}

	bad := file.Config{
		Paths: []string{"/a/[", ""}, Exclude: []string{"[x"}, StartPosition: "middle", MaxLineBytes: 3,
		Encoding: "ebcdic", Timezone: "Mars/Olympus", Fields: map[string]string{"message": "x", "ok": "y"},
		FieldsUnderRoot: true, ScanInterval: -1, MaxOpenFiles: -2,
		Multiline: &file.MultilineConfig{Pattern: "(", Match: "sideways"},
	}
	bad.SetDefaults()
	err := bad.Validate()
	want := []string{"name", "paths[0]", "paths[1]", "exclude[0]", "start_position", "max_line_bytes", "encoding",
		"timezone", "multiline.pattern", "multiline.match", "fields.message", "scan_interval", "max_open_files"}
	got := map[string]bool{}
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *fielderr.Error
		if !errors.As(e, &fe) {
			t.Fatalf("not a field error: %v", e)
		}
		got[fe.Path] = true
	}
	for _, p := range want {
		if !got[p] {
			t.Errorf("no error for %s in %v", p, err)
		}
	}
	if len(got) != len(want) {
		t.Errorf("errors for %v, want %v", got, want)
	}
	var fe *fielderr.Error
	if errors.As(err, &fe); !strings.Contains(err.Error(), "multiline.pattern: invalid regexp") {
		t.Errorf("message: %v", err)
	}
}

// A CRLF line whose content is exactly max_line_bytes is one event, not the line and an empty event made of
// its '\r'; a longer one is still cut at max_line_bytes.
func TestCRLFLineOfMaxLength(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	line := strings.Repeat("x", 16)
	writeFile(t, path, line+"\r\nnext\r\n"+line+"\rmore\n")
	r := start(t, testConfig(dir, func(c *file.Config) { c.MaxLineBytes = 16 }), newRegistry(), file.Options{})
	waitMessages(t, r, path, line, "next", line, "\rmore")
}
