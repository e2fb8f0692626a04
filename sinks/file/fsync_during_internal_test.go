package file

import (
	"context"
	"errors"
	"testing"

	"github.com/flickerlog/flicker/engine"
)

// TestFsyncFailureRetriesBatchesWrittenDuringIt: a batch written to the file before an fsync that failed may
// have lost its pages in that failed writeback, even if it was not in that fsync's round (it was written after
// the syncer took the round, before the fsync ran). Linux reports a writeback error to a file description once:
// the next fsync of the same file succeeds although the pages are gone. Such a batch must be retried, not
// accepted on the word of a later fsync of the same file.
func TestFsyncFailureRetriesBatchesWrittenDuringIt(t *testing.T) {
	s, g, _ := newGatedSink(t)
	rec := newRecorder()
	ctx := context.Background()

	a := rec.batch(0, testEvents(2))
	if err := s.Write(ctx, a); err != nil {
		t.Fatal(err)
	}
	wait(t, g.entered, "the fsync covering batch A") // the syncer took the round [A]
	c := rec.batch(1, testEvents(2))
	if err := s.Write(ctx, c); err != nil { // C's lines are in the page cache, dirty, before the fsync runs
		t.Fatal(err)
	}
	ioErr := errors.New("input/output error")
	g.results <- ioErr // the fsync runs now and fails: the dirty pages of A and C were not written
	if id := wait(t, rec.released, "release of A"); id != 0 {
		t.Fatalf("released %d, want A", id)
	}
	// The next round fsyncs the same file again; the kernel has reported the error already and answers success.
	wait(t, g.entered, "the fsync covering batch C")
	g.results <- nil
	wait(t, rec.released, "release of C")
	for i := range c.Events {
		if st, err := c.Status(i); st != engine.Retry {
			t.Errorf("batch C event %d: %v (%v); want Retry: it was written before the failed fsync", i, st, err)
		}
	}
	_ = s.Close(ctx)
}
