package eventjson_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventjson"
)

// encodedMessage returns the JSON text of the message member as Append renders it, and whether the event was
// counted as holding invalid UTF-8.
func encodedMessage(t *testing.T, msg []byte) (string, bool) {
	t.Helper()
	var enc eventjson.Encoder
	out := enc.Append(nil, &engine.Event{Time: goldenTime, Message: msg, Stream: fileStream(), Offset: -1})
	if !json.Valid(out) {
		t.Fatalf("invalid JSON for %q: %s", msg, out)
	}
	const before, after = `"message":`, `,"id":`
	i, j := bytes.Index(out, []byte(before)), bytes.Index(out, []byte(after))
	if i < 0 || j < i {
		t.Fatalf("no message member in %s", out)
	}
	return string(out[i+len(before) : j]), enc.InvalidUTF8.Load() == 1
}

func TestEscaping(t *testing.T) {
	tests := []struct {
		name, in, want string
		invalid        bool
	}{
		{name: "empty", in: "", want: `""`},
		{name: "plain", in: "GET /index.html 200", want: `"GET /index.html 200"`},
		{name: "quote", in: `say "hi"`, want: `"say \"hi\""`},
		{name: "backslash", in: `C:\dir`, want: `"C:\\dir"`},
		{name: "newline return tab", in: "a\nb\rc\td", want: `"a\nb\rc\td"`},
		{name: "other controls", in: "\x00\x01\x08\x0c\x1b\x1f", want: `"\u0000\u0001\u0008\u000c\u001b\u001f"`},
		{name: "delete passes", in: "a\x7fb", want: "\"a\x7fb\""},
		{name: "html passes", in: "<a href='x'>&</a>", want: `"<a href='x'>&</a>"`},
		{name: "multibyte passes", in: "é日本🎉", want: `"é日本🎉"`},
		{name: "line separators pass", in: "a\u2028b\u2029c", want: "\"a\u2028b\u2029c\""},
		{name: "replacement char itself is valid", in: "\uFFFD", want: "\"\uFFFD\""},
		{name: "invalid byte", in: "a\xffb", want: "\"a\uFFFDb\"", invalid: true},
		{name: "truncated sequence at end", in: "ab\xc3", want: "\"ab\uFFFD\"", invalid: true},
		{name: "overlong encoding", in: "\xc0\x80", want: "\"\uFFFD\uFFFD\"", invalid: true},
		{name: "surrogate half", in: "\xed\xa0\x80", want: "\"\uFFFD\uFFFD\uFFFD\"", invalid: true},
		{name: "lone continuation", in: "\x80x", want: "\"\uFFFDx\"", invalid: true},
		{name: "escape after a plain block", in: "01234567\"9", want: `"01234567\"9"`},
		{name: "escape ending a block", in: "0123456\n89abcdef", want: `"0123456\n89abcdef"`},
		{name: "escape starting a block", in: "\t1234567", want: `"\t1234567"`},
		{name: "multibyte across blocks", in: "0123456é89abcdef€", want: `"0123456é89abcdef€"`},
		{name: "invalid in a long line", in: "0123456789abcdef\xfe0123456789abcdef",
			want: "\"0123456789abcdef\uFFFD0123456789abcdef\"", invalid: true},
		{name: "every escape class in one block", in: "\"\\\x01é\xff", want: "\"\\\"\\\\\\u0001é\uFFFD\"",
			invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, invalid := encodedMessage(t, []byte(tt.in))
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if invalid != tt.invalid {
				t.Errorf("counted invalid UTF-8: %v, want %v", invalid, tt.invalid)
			}
		})
	}
}

// TestEscapingMatchesEncodingJSON compares every single byte, and every byte inside a long plain run, with what
// encoding/json decodes from our output.
func TestEscapingMatchesEncodingJSON(t *testing.T) {
	for c := 0; c < 256; c++ {
		for _, in := range [][]byte{{byte(c)}, append(bytes.Repeat([]byte("x"), 11), byte(c), 'y', 'z')} {
			got, _ := encodedMessage(t, in)
			var decoded string
			if err := json.Unmarshal([]byte(got), &decoded); err != nil {
				t.Fatalf("byte %#x: %v in %s", c, err, got)
			}
			if want := string([]rune(string(in))); decoded != want {
				t.Errorf("byte %#x: decoded %q, want %q", c, decoded, want)
			}
		}
	}
}

func TestInvalidUTF8CountedOncePerEvent(t *testing.T) {
	in := &engine.Input{Name: "bad\xffname", Type: "file"}
	st := engine.NewStream(in, func(int64) {})
	st.Path = "/var/log/\xfe.log"
	ev := engine.Event{Time: goldenTime, Message: []byte("\xff\xfe\xfd"), Stream: st, Offset: 0, ID: []byte("\xff")}
	var enc eventjson.Encoder
	for range 3 {
		_ = enc.Append(nil, &ev)
	}
	_ = enc.AppendDeadLetter(nil, &engine.Event{Time: goldenTime, Message: []byte("ok"), Stream: fileStream()},
		errReason("bad \xff reason"))
	_ = enc.Append(nil, &engine.Event{Time: goldenTime, Message: []byte("valid"), Stream: fileStream()})
	if got := enc.InvalidUTF8.Load(); got != 4 {
		t.Errorf("InvalidUTF8 = %d, want 4 (three events with invalid messages, one with an invalid reason)", got)
	}
}

type errReason string

func (e errReason) Error() string { return string(e) }
