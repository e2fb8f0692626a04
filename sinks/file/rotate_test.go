package file_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sinks/file"
)

// TestRotation writes numbered events across many rotations and checks that the kept files hold a contiguous,
// ordered tail of them, each file within the limit, every line whole.
func TestRotation(t *testing.T) {
	tests := []struct {
		name        string
		rotateBytes int64
		rotateFiles int
		batch       int // events per batch
		total       int
	}{
		{name: "small batches", rotateBytes: 4000, rotateFiles: 3, batch: 3, total: 300},
		{name: "batch spans several files", rotateBytes: 2000, rotateFiles: 4, batch: 100, total: 400},
		{name: "one rotated file", rotateBytes: 3000, rotateFiles: 1, batch: 7, total: 200},
		{name: "default rotate_files", rotateBytes: 2500, rotateFiles: 0, batch: 10, total: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "events.ndjson")
			s := newSink(t, file.Config{Path: path, RotateBytes: tt.rotateBytes, RotateFiles: tt.rotateFiles})
			st := testStream()
			var rel releases
			for first := 0; first < tt.total; first += tt.batch {
				b := rel.batch(first, events(st, first, min(tt.batch, tt.total-first)))
				if err := s.Write(context.Background(), b); err != nil {
					t.Fatal(err)
				}
			}
			closeSink(t, s)

			keep := tt.rotateFiles
			if keep == 0 {
				keep = file.DefaultRotateFiles
			}
			var got []string
			for n := keep; n >= 0; n-- { // oldest first
				p := path
				if n > 0 {
					p += "." + strconv.Itoa(n)
				}
				info, err := os.Stat(p)
				if err != nil {
					t.Fatalf("%s: %v (want %d rotated files)", p, err, keep)
				}
				if info.Size() > tt.rotateBytes {
					t.Errorf("%s has %d bytes, over rotate_bytes %d", p, info.Size(), tt.rotateBytes)
				}
				lines := readLines(t, p)
				if len(lines) == 0 {
					t.Errorf("%s is empty", p)
				}
				got = append(got, messages(lines)...)
			}
			if _, err := os.Stat(path + "." + strconv.Itoa(keep+1)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s.%d exists (err %v): more than rotate_files kept", path, keep+1, err)
			}
			// The kept files hold the newest events, in order, without a gap.
			if len(got) == 0 || len(got) >= tt.total {
				t.Fatalf("kept %d of %d events: expected the oldest to be dropped", len(got), tt.total)
			}
			if want := wantMessages(tt.total-len(got), len(got)); !slices.Equal(got, want) {
				t.Fatalf("kept events are not the contiguous tail:\n got %v\nwant %v", got, want)
			}
		})
	}
}

// TestRotationLineOverLimit: a line longer than rotate_bytes goes into a file of its own, whole.
func TestRotationLineOverLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.ndjson")
	s := newSink(t, file.Config{Path: path, RotateBytes: 500, RotateFiles: 5})
	evs := events(testStream(), 0, 3)
	long := strings.Repeat("x", 1000)
	evs[1].Message = []byte(long)
	if err := s.Write(context.Background(), engine.NewBatch(evs)); err != nil {
		t.Fatal(err)
	}
	closeSink(t, s)
	for p, want := range map[string]string{path + ".2": "event-000000", path + ".1": long, path: "event-000002"} {
		if got := messages(readLines(t, p)); !slices.Equal(got, []string{want}) {
			t.Errorf("%s holds %.20q, want only %.20q", p, got, want)
		}
	}
}

// TestRotationContinuesExistingFile: a restarted sink counts the bytes already in the file.
func TestRotationContinuesExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.ndjson")
	st := testStream()
	for i := range 2 {
		s := newSink(t, file.Config{Path: path, RotateBytes: 1000})
		if err := s.Write(context.Background(), engine.NewBatch(events(st, i*4, 4))); err != nil {
			t.Fatal(err)
		}
		closeSink(t, s)
	}
	old, cur := messages(readLines(t, path+".1")), messages(readLines(t, path))
	if len(old) == 0 || len(cur) == 0 || !slices.Equal(append(old, cur...), wantMessages(0, 8)) {
		t.Errorf("rotated %v, current %v: want the 8 events split by the limit", old, cur)
	}
}
