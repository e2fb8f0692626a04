package eventjson_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventjson"
)

// FuzzAppend: whatever the bytes, the output is valid JSON, every string decodes to its input (with invalid UTF-8
// replaced byte by byte) and the timestamp is package time's rendering.
func FuzzAppend(f *testing.F) {
	f.Add([]byte("GET /index.html 200"), "app", "/var/log/app.log", int64(1795255200), int64(123456789), int64(1234))
	f.Add([]byte("a\"b\\c\n\x00\xff\xed\xa0\x80é"), "in\"put", "", int64(-1), int64(0), int64(-1))
	f.Add([]byte{}, "", "C:\\x", int64(253402300799), int64(999999999), int64(0))
	f.Fuzz(func(t *testing.T, msg []byte, name, path string, sec, nsec, offset int64) {
		in := &engine.Input{Name: name, Type: "file"}
		st := engine.NewStream(in, func(int64) {})
		st.Path = path
		tm := time.Unix(sec, nsec)
		ev := engine.Event{Time: tm, Message: msg, Stream: st, Offset: offset}
		var enc eventjson.Encoder
		out := enc.Append(nil, &ev)
		// An encoder that has just seen another stream must render the same bytes.
		var warm eventjson.Encoder
		_ = warm.Append(nil, &engine.Event{Time: tm.Add(-time.Second), Message: []byte("x"), Stream: fileStream()})
		if again := warm.Append(nil, &ev); !bytes.Equal(again, out) {
			t.Fatalf("reused encoder wrote %q, fresh one %q", again, out)
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON: %q", out)
		}
		var doc struct {
			Timestamp string `json:"@timestamp"`
			Message   string `json:"message"`
			ID        string `json:"id"`
			Input     struct {
				Name string `json:"name"`
			} `json:"input"`
			Log *struct {
				File *struct {
					Path string `json:"path"`
				} `json:"file"`
				Offset *int64 `json:"offset"`
			} `json:"log"`
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatalf("%v: %q", err, out)
		}
		if want := replaced(msg); doc.Message != want {
			t.Errorf("message %q, want %q", doc.Message, want)
		}
		if utf8.Valid(msg) && doc.Message != string(msg) {
			t.Errorf("valid message %q changed to %q", msg, doc.Message)
		}
		if doc.Input.Name != replaced([]byte(name)) {
			t.Errorf("input name %q, want %q", doc.Input.Name, replaced([]byte(name)))
		}
		if len(doc.ID) != engine.IDLen {
			t.Errorf("id %q", doc.ID)
		}
		wantInvalid := !utf8.Valid(msg) || !utf8.ValidString(name) || !utf8.ValidString(path)
		if got := enc.InvalidUTF8.Load() == 1; got != wantInvalid {
			t.Errorf("counted invalid UTF-8: %v, want %v", got, wantInvalid)
		}
		checkLog(t, path, offset, doc.Log == nil, func() (*string, *int64) {
			if doc.Log.File == nil {
				return nil, doc.Log.Offset
			}
			return &doc.Log.File.Path, doc.Log.Offset
		})
		if y := tm.UTC().Year(); y >= 0 && y <= 9999 {
			if want := tm.UTC().Format(layout); doc.Timestamp != want {
				t.Errorf("timestamp %s, want %s", doc.Timestamp, want)
			}
		}
	})
}

func checkLog(t *testing.T, path string, offset int64, absent bool, get func() (*string, *int64)) {
	t.Helper()
	if path == "" && offset < 0 {
		if !absent {
			t.Error("log member present without path or offset")
		}
		return
	}
	if absent {
		t.Fatal("log member missing")
	}
	gotPath, gotOffset := get()
	if (gotPath != nil) != (path != "") || gotPath != nil && *gotPath != replaced([]byte(path)) {
		t.Errorf("log.file.path %v, want %q", gotPath, path)
	}
	if (gotOffset != nil) != (offset >= 0) || gotOffset != nil && *gotOffset != offset {
		t.Errorf("log.offset %v, want %d", gotOffset, offset)
	}
}

// replaced is s with each byte of invalid UTF-8 replaced by U+FFFD, as the encoder promises.
func replaced(s []byte) string { return string([]rune(string(s))) }
