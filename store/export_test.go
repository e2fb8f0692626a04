package store_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/store"
)

var (
	t0          = time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC)
	goldenFiles = []store.FileRecord{
		{Input: "nginx", Inode: 42, Device: 2049, Path: "/var/log/nginx/access.log", Offset: 1234, Size: 5000,
			Generation: 1, Fingerprint: [32]byte{0xde, 0xad, 31: 0x01}, FingerprintLen: 1024, LastSeen: t0,
			Birth: t0.Add(-time.Hour)},
		// The same inode number on another filesystem is another file.
		{Input: "nginx", Inode: 42, Device: 2050, Path: "/mnt/b/access.log", Offset: 7, Size: 7,
			Fingerprint: [32]byte{0xbe, 0xef}, FingerprintLen: 7, LastSeen: t0, Birth: t0.Add(-time.Minute)},
		{Input: "app", Inode: 7, Path: "/var/log/app/app.log", Offset: 10, Size: 10, FingerprintLen: 10,
			LastSeen: t0},
		{Input: "app", Inode: 3, Path: "/var/log/app/app.log.1", Offset: 99, Size: 99, LastSeen: t0},
	}
	goldenCursors = []store.CursorRecord{
		{Input: "okta", Cursor: "https://admin:hunter2@acme.okta.com/api/v1/logs?after=abc&page_token=pt1&" +
			"Token={flicker-secret:params.Token}&limit=10",
			Endpoint: "https://acme.okta.com/api/v1/logs?apikey=k3y", LastTime: t0, RecentIDs: []string{"b", "a"},
			ParamsSum: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"},
		{Input: "plain", Cursor: "opaque-cursor-123"},
	}
)

// normalize hides what differs between runs: the instance id, params key and commit time, and seq when asked.
func normalize(b []byte, seq bool) []byte {
	b = regexp.MustCompile(`"instance_id": "[0-9a-f]{32}"`).
		ReplaceAll(b, []byte(`"instance_id": "00000000000000000000000000000000"`))
	b = regexp.MustCompile(`"updated": "[^"]*"`).ReplaceAll(b, []byte(`"updated": "2000-01-01T00:00:00Z"`))
	b = regexp.MustCompile(`"params_key": "[0-9a-f]{64}"`).
		ReplaceAll(b, []byte(`"params_key": "0000000000000000000000000000000000000000000000000000000000000000"`))
	if seq {
		b = regexp.MustCompile(`"seq": \d+`).ReplaceAll(b, []byte(`"seq": 0`))
	}
	return b
}

func exportString(t *testing.T, db *store.DB) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := db.Export(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExportGolden(t *testing.T) {
	db := openT(t, tempPath(t), quiet)
	for _, r := range goldenFiles {
		db.PutFile(r)
	}
	for _, c := range goldenCursors {
		db.PutCursor(c)
	}
	flush(t, db)
	got := normalize(exportString(t, db), false)
	const golden = "testdata/export.golden.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("export differs from %s (run with -update to accept):\n%s", golden, got)
	}
	for _, secret := range []string{"hunter2", "k3y"} {
		if bytes.Contains(got, []byte(secret)) {
			t.Errorf("export leaks %q", secret)
		}
	}
	if again := normalize(exportString(t, db), false); !bytes.Equal(again, got) {
		t.Fatal("two exports of the same state differ")
	}

	// Importing the golden file elsewhere gives the same export, with a larger seq.
	other := openT(t, tempPath(t), quiet)
	for i := range 5 {
		other.PutFile(store.FileRecord{Input: "gone", Inode: uint64(i)})
	}
	flush(t, other)
	other.PutFile(store.FileRecord{Input: "queued-before-import", Inode: 1})
	if err := other.Import(bytes.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	flush(t, other)
	if m := other.Meta(); m.Seq != 2 {
		t.Fatalf("seq after import = %d, want max(1, 1)+1 = 2", m.Seq)
	}
	if got := normalize(exportString(t, other), true); !bytes.Equal(got, normalize(want, true)) {
		t.Fatalf("export after import differs from the imported file:\n%s", got)
	}
}

func TestImportRestoresEverything(t *testing.T) {
	src := openT(t, tempPath(t), quiet)
	if err := src.SetEpoch(4); err != nil {
		t.Fatal(err)
	}
	for _, r := range goldenFiles {
		src.PutFile(r)
	}
	plain := store.CursorRecord{Input: "api", Cursor: "c", Endpoint: "https://h/p?limit=5", LastTime: t0,
		RecentIDs: []string{"x"}, ParamsSum: src.ParamsSum(map[string]string{"a": "b"})}
	src.PutCursor(plain)
	flush(t, src)
	var buf bytes.Buffer
	if err := src.Export(&buf); err != nil {
		t.Fatal(err)
	}

	path := tempPath(t)
	dst := openT(t, path, quiet)
	id := dst.Meta().InstanceID
	if err := dst.Import(&buf); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	dst = openT(t, path, quiet)
	if m := dst.Meta(); m.InstanceID != id || m.Epoch != 4 || m.Seq != 3 {
		t.Fatalf("meta after import = %+v, want own instance id, epoch 4, seq 3", m)
	}
	want, _ := src.AllFiles()
	got, err := dst.AllFiles()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("imported files:\n%+v\nwant\n%+v", got, want)
	}
	if c, ok, err := dst.Cursor("api"); err != nil || !ok || !reflect.DeepEqual(c, plain) {
		t.Fatalf("imported cursor = %+v, %v, %v; want %+v", c, ok, err, plain)
	}
	// The import adopted the params key: the same params still give the stored sum, so no walk restarts.
	if got := dst.ParamsSum(map[string]string{"a": "b"}); got != plain.ParamsSum {
		t.Fatalf("params sum after import = %s, want the exported registry's %s", got, plain.ParamsSum)
	}
}

func TestImportRejects(t *testing.T) {
	tests := []struct {
		name, doc, want string
		format          bool // errors.Is(err, ErrFormat)
	}{
		{"newer version", `{"format":"flicker-registry","version":4,"files":[],"future":1}`,
			"registry export version 4 is not supported (this flicker reads versions 1 to 3)", true},
		{"other format", `{"format":"something","version":1}`, `format is "something"`, false},
		{"not json", `registry.db`, "not a registry export", false},
		{"unknown field", `{"format":"flicker-registry","version":1,"filez":[]}`, `unknown field "filez"`, false},
		{"bad fingerprint", `{"format":"flicker-registry","version":1,"files":[{"input":"a","fingerprint":"zz"}]}`,
			`files[0] (input "a", inode 0, path ""): fingerprint must be 64 hex digits`, false},
		{"empty input", `{"format":"flicker-registry","version":1,"files":[{"input":""}]}`,
			`files[0] (input "", inode 0, path ""): input name`, false},
		{"negative offset", `{"format":"flicker-registry","version":1,"files":[{"input":"a","offset":-1}]}`,
			"must not be negative", false},
		{"fingerprint longer than 1 KiB", `{"format":"flicker-registry","version":2,"files":[{"input":"a",` +
			`"inode":7,"path":"/l/a.log","fingerprint":"` + strings.Repeat("ab", 32) + `","fingerprint_len":2000}]}`,
			`files[0] (input "a", inode 7, path "/l/a.log"): fingerprint_len 2000 is above 1024`, false},
		{"fingerprint length without fingerprint", `{"format":"flicker-registry","version":1,"files":[{"input":"a",` +
			`"fingerprint_len":10}]}`, "fingerprint_len 10 without a fingerprint", false},
		{"cursor without input", `{"format":"flicker-registry","version":1,"cursors":[{"cursor":"x"}]}`,
			"cursors[0]: input name", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openT(t, tempPath(t), quiet)
			db.PutFile(store.FileRecord{Input: "keep", Inode: 1, Offset: 5})
			flush(t, db)
			err := db.Import(strings.NewReader(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) || errors.Is(err, store.ErrFormat) != tt.format {
				t.Fatalf("Import = %v, want an error with %q (ErrFormat: %v)", err, tt.want, tt.format)
			}
			if got := fileState(t, db); strings.Join(got, " ") != "keep/1=5" || db.Meta().Seq != 1 {
				t.Fatalf("a rejected import changed the registry: %v, seq %d", got, db.Meta().Seq)
			}
		})
	}
}

// TestExportCursorsExact: an export keeps cursor values exactly, page_token and next_token included (the source
// stores no secret value in them, only placeholders), and hides only credentials in URLs.
func TestExportCursorsExact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://user:pass@h.example/p", "https://REDACTED@h.example/p"},
		{"https://user@h.example/p", "https://REDACTED@h.example/p"},
		{"https://h/p?after=1&page_token=abc&next_token=def&x=2", "https://h/p?after=1&page_token=abc&next_token=def&x=2"},
		{"https://h/p?api_key={flicker-secret:params.api_key}&cursor=c", "https://h/p?api_key={flicker-secret:params.api_key}&cursor=c"},
		{"opaque token=abc", "opaque token=abc"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			db := openT(t, tempPath(t), quiet)
			db.PutCursor(store.CursorRecord{Input: "in", Cursor: tt.in})
			flush(t, db)
			doc := exportString(t, db)
			if want := `"cursor": ` + jsonString(tt.want); !strings.Contains(string(doc), want) {
				t.Errorf("export has no %s:\n%s", want, doc)
			}
			other := openT(t, tempPath(t), quiet)
			if err := other.Import(bytes.NewReader(doc)); err != nil {
				t.Fatal(err)
			}
			if c, _, err := other.Cursor("in"); err != nil || c.Cursor != tt.want {
				t.Errorf("imported cursor = %q, %v; want %q", c.Cursor, err, tt.want)
			}
		})
	}
}

func jsonString(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSpace(buf.String())
}
