package processors

import (
	"bytes"
	"testing"
)

// The fast paths of the chain: each test shows one is taken where it may be, and not where it may not.

func TestValueInParsedInputKeptWithoutCopy(t *testing.T) {
	var f fieldSet
	msg := []byte("GET /a 200")
	f.input = msg
	f.SetString("method", msg[:3])
	own := []byte("/a") // the same bytes as in the input, in the parser's own buffer
	f.SetString("path", own)
	f.SetRaw("status", msg[7:])
	f.input = nil
	own[0] = 'X' // the parser reuses its buffer once it returned

	if i := f.find("method"); i < 0 || !within(f.entries[i].val, msg) {
		t.Errorf("method: the value lying in the parsed input was copied")
	}
	if i := f.find("path"); i < 0 || within(f.entries[i].val, own) {
		t.Errorf("path: the value in the parser's own buffer was not copied")
	}
	if got, want := renderAll(&f), `{"method":"GET","path":"/a","status":200}`; got != want {
		t.Errorf("rendered %s, want %s", got, want)
	}
	// Outside a parser's call nothing is taken as is: event.ingested is formatted in a reused buffer.
	buf := []byte("2026")
	f.SetString("later", buf[:2])
	if i := f.find("later"); within(f.entries[i].val, buf) {
		t.Errorf("a value set outside a parser's call was not copied")
	}
}

func TestWithin(t *testing.T) {
	b := []byte("0123456789")
	tests := []struct {
		name  string
		inner []byte
		want  bool
	}{
		{"whole", b, true},
		{"middle", b[3:5], true},
		{"empty", b[3:3], false},
		{"the end", b[5:], true},
		{"other bytes, same text", []byte("0123"), false},
	}
	for _, tt := range tests {
		if got := within(tt.inner, b); got != tt.want {
			t.Errorf("%s: within = %v, want %v", tt.name, got, tt.want)
		}
	}
	// A slice that starts inside and ends past: the bytes after b are not b's.
	big := []byte("0123456789abcdef")
	if within(big[4:12], big[:8]) {
		t.Error("a slice running past outer's end counted as within it")
	}
}

func TestParseJSONPlainStringsAsTheirText(t *testing.T) {
	p := NewJSON(0)
	var f fieldSet
	val := []byte(`{"a":"plain","b":"esc\"aped\u0041","c":"caf` + "\xe9" + `"}`)
	f.input = val
	if err := p.Parse(val, &f); err != nil {
		t.Fatal(err)
	}
	f.input = nil
	for _, tt := range []struct {
		key, text string
		inInput   bool
	}{{"a", "plain", true}, {"b", `esc"apedA`, false}, {"c", "caf\uFFFD", false}} {
		i := f.find(tt.key)
		if i < 0 {
			t.Fatalf("%s: missing", tt.key)
		}
		if got := f.entryText(i); !bytes.Equal(got, []byte(tt.text)) {
			t.Errorf("%s: %q, want %q", tt.key, got, tt.text)
		}
		if within(f.entries[i].val, val) != tt.inInput {
			t.Errorf("%s: value in the parsed input = %v, want %v", tt.key, !tt.inInput, tt.inInput)
		}
	}
}
