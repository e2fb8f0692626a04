package store_test

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/flickerlog/flicker/store"
)

func TestCoalescing(t *testing.T) {
	db := openT(t, tempPath(t), quiet)
	const puts, files = 10000, 10
	for i := range puts {
		db.PutFile(store.FileRecord{Input: "in", Inode: uint64(i % files), Offset: int64(i)})
	}
	flush(t, db)
	if got := db.Meta().Seq; got != 1 {
		t.Fatalf("%d puts then Flush made %d commits, want 1", puts, got)
	}
	recs, err := db.Files("in")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != files {
		t.Fatalf("got %d records, want %d", len(recs), files)
	}
	for _, r := range recs {
		if want := int64(puts - files + int(r.Inode)); r.Offset != want {
			t.Fatalf("inode %d: offset %d, want the latest put %d", r.Inode, r.Offset, want)
		}
	}
	// Nothing queued: no commit.
	flush(t, db)
	flush(t, db)
	if got := db.Meta().Seq; got != 1 {
		t.Fatalf("empty flushes committed: seq %d", got)
	}
}

func TestWriterCommitsOnItsInterval(t *testing.T) {
	const interval = 5 * time.Millisecond
	db := openT(t, tempPath(t), store.Options{CommitInterval: interval})
	db.PutFile(store.FileRecord{Input: "in", Inode: 1, Offset: 10})
	waitFor(t, "a commit without Flush", func() bool { return db.Meta().Seq == 1 })
	if recs, err := db.Files("in"); err != nil || len(recs) != 1 || recs[0].Offset != 10 {
		t.Fatalf("after the interval commit: %+v, %v", recs, err)
	}
	// Idle intervals commit nothing. (Waiting cannot make this fail spuriously: it checks an absence.)
	time.Sleep(20 * interval)
	if got := db.Meta().Seq; got != 1 {
		t.Fatalf("idle writer committed: seq %d", got)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCloseCommitsQueuedChanges(t *testing.T) {
	path := tempPath(t)
	db := openT(t, path, quiet)
	db.PutFile(store.FileRecord{Input: "in", Inode: 1, Offset: 5})
	db.PutCursor(store.CursorRecord{Input: "api", Cursor: "c5"})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openT(t, path, quiet)
	if recs, err := db.Files("in"); err != nil || len(recs) != 1 || recs[0].Offset != 5 {
		t.Fatalf("after Close and reopen: %+v, %v", recs, err)
	}
	if c, ok, err := db.Cursor("api"); err != nil || !ok || c.Cursor != "c5" {
		t.Fatalf("cursor after Close and reopen: %+v, %v, %v", c, ok, err)
	}
}

// op is one write; a test applies a list of them with optional flushes in between.
type op func(*store.DB)

func put(input string, inode uint64, off int64) op {
	return func(db *store.DB) { db.PutFile(store.FileRecord{Input: input, Inode: inode, Offset: off}) }
}
func del(input string, inode uint64) op { return func(db *store.DB) { db.DeleteFile(input, 0, inode) } }
func delInput(input string) op          { return func(db *store.DB) { db.DeleteInput(input) } }
func cursor(input, c string) op {
	return func(db *store.DB) { db.PutCursor(store.CursorRecord{Input: input, Cursor: c}) }
}

var flushOp op // nil marks a Flush

func TestWriteOrdering(t *testing.T) {
	tests := []struct {
		name        string
		ops         []op
		wantFiles   []string // "input/inode=offset", sorted
		wantCursors []string // "input=cursor", sorted
	}{
		{"put then delete in one window", []op{put("a", 1, 1), del("a", 1)}, nil, nil},
		{"delete then put in one window", []op{put("a", 1, 1), flushOp, del("a", 1), put("a", 1, 2)},
			[]string{"a/1=2"}, nil},
		{"delete committed record", []op{put("a", 1, 1), put("a", 2, 2), flushOp, del("a", 1)},
			[]string{"a/2=2"}, nil},
		{"delete input keeps other inputs", []op{
			put("a", 1, 1), put("ab", 1, 1), put("a2", 1, 1), cursor("a", "x"), cursor("ab", "y"), flushOp,
			delInput("a"),
		}, []string{"a2/1=1", "ab/1=1"}, []string{"ab=y"}},
		{"delete input drops earlier queued writes", []op{put("a", 1, 1), cursor("a", "x"), delInput("a")}, nil, nil},
		{"writes after delete input survive", []op{
			put("a", 1, 1), put("a", 2, 2), cursor("a", "x"), flushOp, put("a", 1, 5), delInput("a"), put("a", 3, 3),
			cursor("a", "z"),
		}, []string{"a/3=3"}, []string{"a=z"}},
		{"latest put wins", []op{put("a", 1, 1), put("a", 1, 3), put("a", 1, 2)}, []string{"a/1=2"}, nil},
		{"invalid input names are ignored", []op{put("", 1, 1), put("a\x00b", 1, 1), cursor("", "x")}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openT(t, tempPath(t), quiet)
			for _, o := range tt.ops {
				if o == nil {
					flush(t, db)
					continue
				}
				o(db)
			}
			flush(t, db)
			if got := fileState(t, db); fmt.Sprint(got) != fmt.Sprint(tt.wantFiles) {
				t.Errorf("files = %v, want %v", got, tt.wantFiles)
			}
			if got := cursorState(t, db, "a", "ab", "a2", ""); fmt.Sprint(got) != fmt.Sprint(tt.wantCursors) {
				t.Errorf("cursors = %v, want %v", got, tt.wantCursors)
			}
		})
	}
}

func fileState(t *testing.T, db *store.DB) []string {
	t.Helper()
	recs, err := db.AllFiles()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, fmt.Sprintf("%s/%d=%d", r.Input, r.Inode, r.Offset))
	}
	sort.Strings(out)
	return out
}

func cursorState(t *testing.T, db *store.DB, inputs ...string) []string {
	t.Helper()
	var out []string
	for _, in := range inputs {
		c, ok, err := db.Cursor(in)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			out = append(out, in+"="+c.Cursor)
		}
	}
	sort.Strings(out)
	return out
}

// Writers, the interval commit and Flush race; at the end every file holds its last offset.
func TestConcurrentWritesAndFlushes(t *testing.T) {
	db := openT(t, tempPath(t), store.Options{CommitInterval: time.Millisecond})
	const writers, perWriter = 4, 2000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				db.PutFile(store.FileRecord{Input: fmt.Sprint("in", w), Inode: uint64(i % 50), Offset: int64(i)})
				if i%500 == 0 {
					flush(t, db)
				}
			}
		})
	}
	wg.Wait()
	flush(t, db)
	for w := range writers {
		recs, err := db.Files(fmt.Sprint("in", w))
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 50 {
			t.Fatalf("writer %d: %d records, want 50", w, len(recs))
		}
		for _, r := range recs {
			if want := int64(perWriter - 50 + int(r.Inode)); r.Offset != want {
				t.Fatalf("writer %d inode %d: offset %d, want %d", w, r.Inode, r.Offset, want)
			}
		}
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}
