package file

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// FuzzDecode: each encoding decodes any bytes to valid UTF-8 within decodedMax, the same text the standard
// library's decoders give (UTF-16: unicode/utf16 with a U+FFFD per lone surrogate and for an odd last byte;
// latin1: each byte its code point), counting exactly the units it replaced.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0x3D, 0xD8, 0x00, 0xDE, 0x00, 0xD8, 'a', 0x00, 'b'}, uint8(1))
	f.Add([]byte("caf\xe9 \xff"), uint8(3))
	f.Add([]byte("\x00h\x00i\xd8\x3d\xde\x00\xdc\x00"), uint8(2))
	f.Add([]byte("plain \xff utf-8"), uint8(0))
	f.Add([]byte("a\x00\n\x00\n\x0a"), uint8(1))
	encs := []encoding{encUTF8, encUTF16LE, encUTF16BE, encLatin1}
	f.Fuzz(func(t *testing.T, raw []byte, which uint8) {
		enc := encs[int(which)%len(encs)]
		prefix := []byte("kept:")
		out, invalid := enc.appendDecoded(bytes.Clone(prefix), raw)
		if !bytes.HasPrefix(out, prefix) {
			t.Fatalf("appendDecoded overwrote dst")
		}
		out = out[len(prefix):]
		if len(out) > enc.decodedMax(len(raw)) {
			t.Fatalf("%d raw bytes decoded to %d, more than decodedMax %d", len(raw), len(out),
				enc.decodedMax(len(raw)))
		}
		var want string
		wantInvalid := 0
		switch enc {
		case encUTF8:
			want = string(raw) // shipped as read; the encoder replaces invalid UTF-8 later
		case encLatin1:
			runes := make([]rune, len(raw))
			for i, b := range raw {
				runes[i] = rune(b)
			}
			want = string(runes)
		default:
			units := make([]uint16, len(raw)/2)
			for i := range units {
				if enc == encUTF16LE {
					units[i] = uint16(raw[2*i]) | uint16(raw[2*i+1])<<8
				} else {
					units[i] = uint16(raw[2*i])<<8 | uint16(raw[2*i+1])
				}
			}
			decoded := utf16.Decode(units)
			for i := 0; i < len(units); i++ {
				// Lone surrogates: utf16.Decode replaces them, one U+FFFD each.
				if utf16.IsSurrogate(rune(units[i])) {
					if i+1 < len(units) && utf16.DecodeRune(rune(units[i]), rune(units[i+1])) != utf8.RuneError {
						i++
						continue
					}
					wantInvalid++
				}
			}
			want = string(decoded)
			if len(raw)%2 == 1 {
				want += "\uFFFD"
				wantInvalid++
			}
		}
		if string(out) != want || invalid != wantInvalid {
			t.Fatalf("%q decoded to %q (%d invalid), want %q (%d)", raw, out, invalid, want, wantInvalid)
		}
		if enc != encUTF8 && !utf8.Valid(out) {
			t.Fatalf("%q decoded to invalid UTF-8 %q", raw, out)
		}
	})
}

// FuzzMultiline: joining lines gives events that hold every line once and in order (joined with '\n'), cover
// the raw offsets without gap or overlap, and keep to max_lines and max_bytes unless one line alone is larger.
func FuzzMultiline(f *testing.F) {
	f.Add("2026-11-21 ERROR boom\n\tat a.b(C.java:1)\n\tat d.e(F.java:2)\n2026-11-21 INFO ok\n", `^\s`, false, false,
		uint8(3), uint16(64))
	f.Add("line \\\nnext \\\nlast\nsolo\n", `\\$`, false, true, uint8(10), uint16(500))
	f.Add("[begin]\nx\ny\n[begin]\nz\n", `^\[begin\]`, true, false, uint8(2), uint16(8))
	f.Add("\n\n\n", `^$`, false, false, uint8(1), uint16(1))
	f.Fuzz(func(t *testing.T, text, pattern string, negate, before bool, maxLines uint8, maxBytes uint16) {
		if _, err := regexp.Compile(pattern); err != nil || len(text) > 1<<12 {
			return // validate refuses the pattern; long texts only slow the search down
		}
		match := "after"
		if before {
			match = "before"
		}
		cfg := &MultilineConfig{Pattern: pattern, Negate: negate, Match: match, MaxLines: int(maxLines)%50 + 1,
			MaxBytes: int(maxBytes) + 1, Timeout: time.Second}
		m := newMultiline(cfg)
		lines := strings.Split(text, "\n")
		var (
			events []joined
			split  []bool
		)
		emit := func(j joined) {
			j.msg = bytes.Clone(j.msg)
			events = append(events, j)
			split = append(split, j.split)
		}
		now := time.Unix(1795255200, 0)
		var pos int64
		for _, l := range lines {
			end := pos + int64(len(l)) + 1
			m.add([]byte(l), pos, end, now, now, emit)
			pos = end
		}
		m.flush(emit, false)
		var joinedText []string
		var at int64
		for i, e := range events {
			if e.start != at || e.end <= e.start {
				t.Fatalf("event %d covers [%d, %d), want it to start at %d", i, e.start, e.end, at)
			}
			at = e.end
			n := bytes.Count(e.msg, []byte("\n")) + 1
			if n > cfg.MaxLines || (n > 1 && len(e.msg) > cfg.MaxBytes) {
				t.Fatalf("event %d: %d lines, %d bytes; max %d lines, %d bytes", i, n, len(e.msg), cfg.MaxLines,
					cfg.MaxBytes)
			}
			joinedText = append(joinedText, string(e.msg))
		}
		if at != pos || strings.Join(joinedText, "\n") != text {
			t.Fatalf("events %q up to %d do not give back the %d bytes of %q", joinedText, at, pos, text)
		}
	})
}
