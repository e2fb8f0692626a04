package file_test

import (
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/flickerlog/flicker/sources/file"
)

func TestAppendsAndPartialLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "one\ntwo\nthr")
	reg := newRegistry()
	r := start(t, testConfig(dir, nil), reg, file.Options{})
	waitMessages(t, r, path, "one", "two")
	if st, ok := reg.get(inodeOf(t, path)); !ok || st.Offset != 0 {
		t.Fatalf("state %+v before any acknowledgement: the offset must stay 0", st)
	}
	appendFile(t, path, "ee\nfour\n")
	waitMessages(t, r, path, "one", "two", "three", "four")
	evs := r.pub.all()
	wantOffsets := [][2]int64{{0, 4}, {4, 8}, {8, 14}, {14, 19}}
	for i, e := range evs {
		if e.Offset != wantOffsets[i][0] || e.Pos != wantOffsets[i][1] {
			t.Errorf("event %d: offset %d pos %d, want %v", i, e.Offset, e.Pos, wantOffsets[i])
		}
	}
	if got := r.src.Stats(); got.Events != 4 || got.Bytes != 19 {
		t.Errorf("stats %+v", got)
	}
	r.pub.checkStable(t)
}

func TestPartialLineNeverCheckpointed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "done\nhalf")
	reg := newRegistry()
	r := start(t, testConfig(dir, nil), reg, file.Options{})
	waitMessages(t, r, path, "done")
	r.pub.ackAll(r.src)
	if st, _ := reg.get(inodeOf(t, path)); st.Offset != 5 {
		t.Fatalf("checkpoint %d, want 5 (before the partial line)", st.Offset)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	// A restart with the line completed ships it whole, from the checkpoint.
	appendFile(t, path, "-complete\n")
	r2 := start(t, testConfig(dir, nil), reg, file.Options{})
	waitMessages(t, r2, path, "half-complete")
	if e := r2.pub.all()[0]; e.Offset != 5 || e.Pos != 19 {
		t.Fatalf("offset %d pos %d", e.Offset, e.Pos)
	}
}

func TestLongLinesSplit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	long := strings.Repeat("x", 40)
	writeFile(t, path, "short\n"+long+"\nafter\n")
	r := start(t, testConfig(dir, func(c *file.Config) { c.MaxLineBytes = 16 }), newRegistry(), file.Options{})
	want := []string{"short", long[:16], long[16:32], long[32:], "after"}
	waitMessages(t, r, path, want...)
	evs := r.pub.all()
	if evs[1].Pos != 6+16 || evs[2].Offset != 22 || evs[3].Pos != 6+41 {
		t.Errorf("piece positions: %+v %+v %+v", evs[1].Event, evs[2].Event, evs[3].Event)
	}
	if got := r.src.Stats().LongLinePieces; got != 2 {
		t.Errorf("long line pieces %d, want 2", got)
	}
}

func TestLongLineWithoutNewlineDoesNotStall(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, strings.Repeat("y", 100))
	r := start(t, testConfig(dir, func(c *file.Config) { c.MaxLineBytes = 32 }), newRegistry(), file.Options{})
	waitMessages(t, r, path, strings.Repeat("y", 32), strings.Repeat("y", 32), strings.Repeat("y", 32))
	appendFile(t, path, "\n")
	waitMessages(t, r, path, strings.Repeat("y", 32), strings.Repeat("y", 32), strings.Repeat("y", 32), "yyyy")
}

func TestCRLF(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "one\r\ntwo\r\n\r\nthree\n")
	r := start(t, testConfig(dir, nil), newRegistry(), file.Options{})
	waitMessages(t, r, path, "one", "two", "", "three")
	if e := r.pub.all()[1]; e.Offset != 5 || e.Pos != 10 {
		t.Errorf("offset %d pos %d: offsets are raw bytes", e.Offset, e.Pos)
	}
}

func utf16Bytes(s string, bigEndian bool) []byte {
	var out []byte
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			out = binary.BigEndian.AppendUint16(out, u)
		} else {
			out = binary.LittleEndian.AppendUint16(out, u)
		}
	}
	return out
}

func TestEncodings(t *testing.T) {
	text := "héllo\r\n€ 𝄞 ünïcode\nਊ\n" // U+0A0A contains 0x0A bytes in both byte orders
	tests := []struct {
		enc  string
		data []byte
	}{
		{"utf-16le", append([]byte{0xFF, 0xFE}, utf16Bytes(text, false)...)},
		{"utf-16be", append([]byte{0xFE, 0xFF}, utf16Bytes(text, true)...)},
		{"latin1", []byte("h\xe9llo\r\n\xfcber\n")},
		{"utf-8", []byte("\xEF\xBB\xBFhéllo\r\nüber\n")},
	}
	for _, tt := range tests {
		t.Run(tt.enc, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "a.log")
			writeFile(t, path, string(tt.data))
			r := start(t, testConfig(dir, func(c *file.Config) { c.Encoding = tt.enc }), newRegistry(), file.Options{})
			want := []string{"héllo", "€ 𝄞 ünïcode", "ਊ"}
			if tt.enc == "latin1" || tt.enc == "utf-8" {
				want = []string{"héllo", "über"}
			}
			waitMessages(t, r, path, want...)
			evs := r.pub.all()
			if last := evs[len(evs)-1]; last.Pos != int64(len(tt.data)) {
				t.Errorf("last pos %d, want %d (raw bytes)", last.Pos, len(tt.data))
			}
			r.pub.checkStable(t)
		})
	}
}

func TestMultiline(t *testing.T) {
	tests := []struct {
		name string
		ml   file.MultilineConfig
		in   string
		want []string
	}{
		{"continuation after", file.MultilineConfig{Pattern: `^\s`, Match: "after"},
			"start 1\n  at a\n  at b\nstart 2\nstart 3\n  at c\nnext\n",
			[]string{"start 1\n  at a\n  at b", "start 2", "start 3\n  at c"}},
		{"negate after: pattern marks the start", file.MultilineConfig{Pattern: `^\[`, Negate: true, Match: "after"},
			"[1] a\nb\nc\n[2] d\n[3] e\nf\n[4]\n",
			[]string{"[1] a\nb\nc", "[2] d", "[3] e\nf"}},
		{"before: continuation prepended to the next", file.MultilineConfig{Pattern: `\\$`, Match: "before"},
			"a \\\nb \\\nc\nd\ne \\\nf\n",
			[]string{"a \\\nb \\\nc", "d", "e \\\nf"}},
		{"negate before: pattern marks the end", file.MultilineConfig{Pattern: `;$`, Negate: true, Match: "before"},
			"x\ny\nz;\nw;\nv\n",
			[]string{"x\ny\nz;", "w;"}},
		{"max lines splits without loss", file.MultilineConfig{Pattern: `^\s`, Match: "after", MaxLines: 2},
			"a\n 1\n 2\n 3\nb\n",
			[]string{"a\n 1", " 2\n 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "a.log")
			writeFile(t, path, tt.in)
			ml := tt.ml
			ml.Timeout = time.Hour // only complete events here
			r := start(t, testConfig(dir, func(c *file.Config) { c.Multiline = &ml }), newRegistry(), file.Options{})
			waitMessages(t, r, path, tt.want...)
			evs := r.pub.all()
			if evs[0].Offset != 0 || evs[0].Pos != int64(len(strings.Join(strings.Split(tt.in, "\n")[:strings.Count(tt.want[0], "\n")+1], "\n"))+1) {
				t.Errorf("first event offset %d pos %d", evs[0].Offset, evs[0].Pos)
			}
			for i := 1; i < len(evs); i++ {
				if evs[i].Offset != evs[i-1].Pos {
					t.Errorf("event %d starts at %d, previous ended at %d", i, evs[i].Offset, evs[i-1].Pos)
				}
			}
			r.pub.checkStable(t)
		})
	}
}

func TestMultilineTimeout(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "start\n  more\n")
	r := start(t, testConfig(dir, func(c *file.Config) {
		c.Multiline = &file.MultilineConfig{Pattern: `^\s`, Timeout: 20 * time.Millisecond}
	}), newRegistry(), file.Options{})
	waitMessages(t, r, path, "start\n  more")
	if e := r.pub.all()[0]; e.Pos != 13 {
		t.Errorf("pos %d, want 13", e.Pos)
	}
}

func TestFieldsAndStream(t *testing.T) {
	for _, tt := range []struct {
		root bool
		want string
	}{{false, `,"fields":{"a":"1","env":"pr\"od"}`}, {true, `,"a":"1","env":"pr\"od"`}} {
		dir := t.TempDir()
		path := filepath.Join(dir, "a.log")
		writeFile(t, path, "x\n")
		r := start(t, testConfig(dir, func(c *file.Config) {
			c.Fields, c.FieldsUnderRoot = map[string]string{"env": `pr"od`, "a": "1"}, tt.root
		}), newRegistry(), file.Options{})
		waitMessages(t, r, path, "x")
		st := r.pub.all()[0].Stream
		if got := string(st.Input.FieldsJSON); got != tt.want {
			t.Errorf("fields %s, want %s", got, tt.want)
		}
		if st.Input.Name != "app" || st.Input.Type != "file" || st.Path != path {
			t.Errorf("stream %+v input %+v", st, st.Input)
		}
	}
}
