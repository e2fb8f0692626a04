package store_test

import (
	"context"
	"errors"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/store"
)

func contextWithTimeout(t testing.TB) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

func TestOpenCreatesRegistry(t *testing.T) {
	path := tempPath(t)
	db := openT(t, path, quiet)
	m := db.Meta()
	if m.FormatVersion != store.FormatVersion || len(m.InstanceID) != 32 || m.Seq != 0 || m.Epoch != 0 {
		t.Fatalf("meta of a new registry = %+v", m)
	}
	if db.Path() != path {
		t.Fatalf("Path() = %q, want %q", db.Path(), path)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// The instance id is set once, at creation.
	again := openT(t, path, quiet)
	if got := again.Meta().InstanceID; got != m.InstanceID {
		t.Fatalf("instance id changed on reopen: %s -> %s", m.InstanceID, got)
	}
	if other := openT(t, tempPath(t), quiet); other.Meta().InstanceID == m.InstanceID {
		t.Fatal("two registries got the same instance id")
	}
}

func TestFileRecordRoundTrip(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		rec  store.FileRecord
	}{
		{"zero values", store.FileRecord{Input: "z"}},
		{"typical", store.FileRecord{
			Input: "app", Inode: 1234, Device: 2049, Path: "/var/log/app/app.log", Offset: 4096, Size: 8192,
			Generation: 2, Fingerprint: [32]byte{1, 2, 3, 31: 0xff}, FingerprintLen: 1024,
			LastSeen: time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC),
			Birth:    time.Date(2026, 11, 20, 8, 0, 0, 5, time.UTC),
		}},
		{"extremes", store.FileRecord{
			Input: "x", Inode: math.MaxUint64, Device: math.MaxUint64, Path: strings.Repeat("é/", 500),
			Offset: math.MaxInt64, Size: math.MaxInt64, Generation: math.MaxUint32,
			FingerprintLen: store.MaxFingerprintLen, LastSeen: time.Date(2300, 1, 1, 0, 0, 0, 1, berlin),
			Birth: time.Date(2262, 1, 1, 0, 0, 0, 999999999, time.UTC),
		}},
		{"input with odd bytes", store.FileRecord{Input: "in put\xff/ü", Inode: 1, Path: "p"}},
	}
	path := tempPath(t)
	db := openT(t, path, quiet)
	for _, tt := range tests {
		db.PutFile(tt.rec)
	}
	flush(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openT(t, path, quiet)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.Files(tt.rec.Input)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("Files(%q) = %d records, want 1", tt.rec.Input, len(got))
			}
			if !got[0].LastSeen.Equal(tt.rec.LastSeen) {
				t.Fatalf("LastSeen = %v, want %v", got[0].LastSeen, tt.rec.LastSeen)
			}
			got[0].LastSeen, tt.rec.LastSeen = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got[0], tt.rec) {
				t.Fatalf("got  %+v\nwant %+v", got[0], tt.rec)
			}
		})
	}
}

func TestFilesOfOneInputOnly(t *testing.T) {
	db := openT(t, tempPath(t), quiet)
	// "a" is a prefix of the other names: its records must not pick theirs up.
	for _, in := range []string{"a", "ab", "a b", "b"} {
		for inode := uint64(3); inode > 0; inode-- {
			db.PutFile(store.FileRecord{Input: in, Inode: inode, Path: in})
		}
	}
	flush(t, db)
	got, err := db.Files("a")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("Files(a) = %d records, want 3: %+v", len(got), got)
	}
	for i, r := range got {
		if r.Input != "a" || r.Inode != uint64(i+1) {
			t.Fatalf("Files(a)[%d] = %s/%d, want a/%d (ordered by inode)", i, r.Input, r.Inode, i+1)
		}
	}
	all, err := db.AllFiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 12 {
		t.Fatalf("AllFiles = %d records, want 12", len(all))
	}
	if none, err := db.Files("c"); err != nil || len(none) != 0 {
		t.Fatalf("Files(c) = %v, %v; want none", none, err)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	path := tempPath(t)
	db := openT(t, path, quiet)
	want := store.CursorRecord{
		Input: "okta", Cursor: "https://x.okta.com/api/v1/logs?after=abc", Endpoint: "https://x.okta.com/api/v1/logs",
		LastTime: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), RecentIDs: []string{"u1", "u2"},
		ParamsSum: db.ParamsSum(map[string]string{"limit": "1000"}),
	}
	db.PutCursor(want)
	db.PutCursor(store.CursorRecord{Input: "empty"})
	flush(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openT(t, path, quiet)
	got, ok, err := db.Cursor("okta")
	if err != nil || !ok {
		t.Fatalf("Cursor(okta) = %v, %v", ok, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	got, ok, err = db.Cursor("empty")
	if err != nil || !ok || !reflect.DeepEqual(got, store.CursorRecord{Input: "empty"}) {
		t.Fatalf("Cursor(empty) = %+v, %v, %v", got, ok, err)
	}
	if _, ok, err := db.Cursor("missing"); ok || err != nil {
		t.Fatalf("Cursor(missing) = %v, %v; want not found", ok, err)
	}
}

func TestAllCursorsAndRedactedCursor(t *testing.T) {
	db := openT(t, tempPath(t), quiet)
	defer db.Close()
	db.PutCursor(store.CursorRecord{Input: "slack", Cursor: "c2"})
	db.PutCursor(store.CursorRecord{Input: "okta", Cursor: "https://u:pw@x.okta.com/api/v1/logs?after=a&page_token=t0k",
		Endpoint: "https://x.okta.com/api/v1/logs?apikey=k3y"})
	flush(t, db)
	all, err := db.AllCursors()
	if err != nil || len(all) != 2 || all[0].Input != "okta" || all[1].Input != "slack" {
		t.Fatalf("AllCursors = %+v, %v; want okta then slack", all, err)
	}
	// Credentials in URLs go; a cursor value named like a secret stays (the source stores no secret value).
	r := store.RedactedCursor(all[0])
	if r.Cursor != "https://REDACTED@x.okta.com/api/v1/logs?after=a&page_token=t0k" ||
		r.Endpoint != "https://x.okta.com/api/v1/logs?apikey=REDACTED" {
		t.Fatalf("redacted %+v", r)
	}
	db.DeleteInput("okta")
	flush(t, db)
	if all, err := db.AllCursors(); err != nil || len(all) != 1 || all[0].Input != "slack" {
		t.Fatalf("after DeleteInput(okta): %+v, %v", all, err)
	}
}

func TestSeqPersistsAcrossReopen(t *testing.T) {
	path := tempPath(t)
	for round := uint64(1); round <= 3; round++ {
		db := openT(t, path, quiet)
		if got := db.Meta().Seq; got != round-1 {
			t.Fatalf("round %d: seq after open = %d, want %d", round, got, round-1)
		}
		db.PutFile(store.FileRecord{Input: "in", Inode: 1, Offset: int64(round)})
		flush(t, db)
		if got := db.Meta().Seq; got != round {
			t.Fatalf("round %d: seq after commit = %d, want %d", round, got, round)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSetEpoch(t *testing.T) {
	path := tempPath(t)
	db := openT(t, path, quiet)
	if err := db.SetEpoch(3); err != nil {
		t.Fatal(err)
	}
	if m := db.Meta(); m.Epoch != 3 || m.Seq != 1 {
		t.Fatalf("after SetEpoch(3): %+v, want epoch 3 seq 1", m)
	}
	if err := db.SetEpoch(3); err != nil {
		t.Fatal(err)
	}
	if m := db.Meta(); m.Seq != 1 {
		t.Fatalf("SetEpoch to the same epoch committed: seq %d", m.Seq)
	}
	if err := db.SetEpoch(2); err == nil {
		t.Fatal("SetEpoch(2) after 3 succeeded")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.SetEpoch(4); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("SetEpoch after Close = %v, want ErrClosed", err)
	}
	if m := openT(t, path, quiet).Meta(); m.Epoch != 3 || m.Seq != 1 {
		t.Fatalf("after reopen: %+v, want epoch 3 seq 1", m)
	}
}

func TestReadOnly(t *testing.T) {
	path := tempPath(t)
	db := openT(t, path, quiet)
	db.PutFile(store.FileRecord{Input: "in", Inode: 7, Offset: 70})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}

	ro := openT(t, path, store.Options{ReadOnly: true})
	// Two read-only opens share the lock.
	ro2 := openT(t, path, store.Options{ReadOnly: true, LockTimeout: 50 * time.Millisecond})
	for _, d := range []*store.DB{ro, ro2} {
		files, err := d.Files("in")
		if err != nil || len(files) != 1 || files[0].Offset != 70 {
			t.Fatalf("read-only Files = %+v, %v", files, err)
		}
	}
	ro.PutFile(store.FileRecord{Input: "in", Inode: 7, Offset: 99})
	ro.DeleteInput("in")
	if err := ro.Flush(context.Background()); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("Flush = %v, want ErrReadOnly", err)
	}
	err = ro.Import(strings.NewReader(`{"format":"flicker-registry","version":1}`))
	if !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("Import = %v, want ErrReadOnly", err)
	}
	if err := ro.SetEpoch(1); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("SetEpoch = %v, want ErrReadOnly", err)
	}
	var sb strings.Builder
	if err := ro.Export(&sb); err != nil || !strings.Contains(sb.String(), `"offset": 70`) {
		t.Fatalf("read-only Export = %v:\n%s", err, sb.String())
	}
	if err := errors.Join(ro.Close(), ro2.Close()); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime().Equal(info.ModTime()) || after.Size() != info.Size() {
		t.Fatal("a read-only open changed the file")
	}

	_, err = store.Open(tempPath(t), store.Options{ReadOnly: true}, testLog(t))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("read-only open of a missing file = %v, want ErrNotExist", err)
	}
}

func TestWritesAfterCloseAreRejected(t *testing.T) {
	db := openT(t, tempPath(t), quiet)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db.PutFile(store.FileRecord{Input: "in", Inode: 1})
	if err := db.Flush(context.Background()); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Flush after Close = %v, want ErrClosed", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

func TestCheck(t *testing.T) {
	db := openT(t, tempPath(t), quiet)
	for i := range 2000 {
		db.PutFile(store.FileRecord{Input: "in", Inode: uint64(i), Path: strings.Repeat("p", i%300)})
	}
	flush(t, db)
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}
