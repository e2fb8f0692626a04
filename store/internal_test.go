package store

import (
	"context"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/rs/zerolog"
)

// A commit that fails keeps its changes queued under newer ones, and the next commit applies both.
func TestFailedCommitIsRetried(t *testing.T) {
	db, err := Open(t.TempDir()+"/registry.db", Options{CommitInterval: time.Hour}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	db.PutFile(FileRecord{Input: "gone", Inode: 1})
	db.PutFile(FileRecord{Input: "keep", Inode: 1, Offset: 1})
	if err := db.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	db.bolt.MaxSize = 1 // no page can be allocated: every commit fails
	long := strings.Repeat("x", 2000)
	for i := range 200 {
		db.PutFile(FileRecord{Input: "keep", Inode: uint64(i), Offset: 10, Path: long})
	}
	db.DeleteInput("gone")
	if err := db.Flush(ctx); err == nil {
		t.Fatal("commit over MaxSize succeeded")
	}
	if db.Meta().Seq != 1 {
		t.Fatalf("failed commit moved seq to %d", db.Meta().Seq)
	}
	// Newer writes queued after the failure win over the failed ones.
	db.PutFile(FileRecord{Input: "keep", Inode: 5, Offset: 50, Path: long})
	db.DeleteFile("keep", 0, 6)
	db.PutFile(FileRecord{Input: "gone", Inode: 2, Offset: 2})

	db.bolt.MaxSize = 0
	if err := db.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if db.Meta().Seq != 2 {
		t.Fatalf("seq after retry = %d, want 2", db.Meta().Seq)
	}
	keep, err := db.Files("keep")
	if err != nil {
		t.Fatal(err)
	}
	if len(keep) != 199 {
		t.Fatalf("keep has %d records, want 199", len(keep))
	}
	for _, r := range keep {
		want := int64(10)
		if r.Inode == 5 {
			want = 50
		}
		if r.Offset != want || r.Inode == 6 {
			t.Fatalf("keep inode %d offset %d, want %d", r.Inode, r.Offset, want)
		}
	}
	gone, err := db.Files("gone")
	if err != nil {
		t.Fatal(err)
	}
	if len(gone) != 1 || gone[0].Inode != 2 {
		t.Fatalf("gone = %+v, want only the record put after DeleteInput", gone)
	}
}

func FuzzDecodeFileValue(f *testing.F) {
	f.Add(appendFileValue(nil, &FileRecord{}))
	f.Add(appendFileValue(nil, &FileRecord{Path: "/var/log/x", Offset: 1 << 40, Generation: 3,
		FingerprintLen: 1024, LastSeen: time.Date(2026, 1, 1, 0, 0, 0, 5, time.UTC)}))
	f.Add([]byte{fileRecordV1, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, v []byte) {
		var r FileRecord
		// Only v2 round-trips: a v1 value (format 2) keeps its device in the value, v2 in the key.
		if err := decodeFileValue(v, &r); err != nil || v[0] != fileRecordV2 {
			return
		}
		var again FileRecord
		if err := decodeFileValue(appendFileValue(nil, &r), &again); err != nil || again != r {
			t.Fatalf("re-encoding %+v gives %+v, %v", r, again, err)
		}
	})
}

func TestPendingFileIsInline(t *testing.T) {
	// Go maps store values up to 128 bytes inline; past that, every new key allocates.
	if size := sizeofPendingFile(); size > 128 {
		t.Fatalf("pendingFile is %d bytes, more than 128", size)
	}
}

func sizeofPendingFile() uintptr { return unsafe.Sizeof(pendingFile{}) }
