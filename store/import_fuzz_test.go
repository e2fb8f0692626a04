package store_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/store"
)

// FuzzImport: `registry import` reads a file the user hands it. An import that fails leaves the registry exactly as
// it was (not even seq moves); one that succeeds moves seq forward, and its export imports back to the same
// content.
func FuzzImport(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "export.golden.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add([]byte(`{"format":"flicker-registry","version":1,"meta":{"epoch":2,"seq":9},"files":[{"input":"app",` +
		`"inode":7,"path":"/var/log/app.log","offset":10,"size":10,"fingerprint_len":0,` +
		`"last_seen":"2026-11-21T10:00:00Z"}],"cursors":[{"input":"okta","cursor":"https://x/logs?after=1",` +
		`"last_time":"2026-11-21T10:00:00+01:00","recent_ids":["a"],"params":{"token":"t"}}]}`))
	f.Add([]byte(`{"format":"flicker-registry","version":3,"files":[],"cursors":[{"input":"a","params":{}}]}`))
	f.Add([]byte(`{"format":"flicker-registry","version":3,"meta":{"seq":18446744073709551615},"files":[],"cursors":[]}`))
	f.Add([]byte(`{"format":"flicker-registry","version":4}`))
	f.Add([]byte(`{"format":"flicker-registry","version":3,"files":[{"input":"a\u0000b"}]}`))
	f.Add([]byte(`{"format":"flicker-registry","version":3,"params_key":"zz"}`))
	f.Add([]byte(`[]`))

	db, err := store.Open(filepath.Join(f.TempDir(), "registry.db"), store.Options{NoSync: true}, zerolog.Nop())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = db.Close() })
	f.Fuzz(func(t *testing.T, data []byte) {
		before, seq := exportString(t, db), db.Meta().Seq
		if err := db.Import(bytes.NewReader(data)); err != nil {
			if after := exportString(t, db); !bytes.Equal(after, before) {
				t.Fatalf("failed import (%v) changed the registry:\n%s\nwas\n%s", err, after, before)
			}
			return
		}
		if got := db.Meta().Seq; got <= seq {
			t.Fatalf("import moved seq from %d to %d", seq, got)
		}
		first := exportString(t, db)
		if err := db.Import(bytes.NewReader(first)); err != nil {
			t.Fatalf("importing an export: %v\n%s", err, first)
		}
		if again := exportString(t, db); !bytes.Equal(normalize(again, true), normalize(first, true)) {
			t.Fatalf("export, import, export differs:\n%s\nwas\n%s", again, first)
		}
	})
}
