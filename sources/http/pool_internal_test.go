package http

import "testing"

// A batch that grew past maxPooled is not pooled: one large request must not pin its memory. Regression: every
// batch went back to the pool whatever its size.
func TestLargeBatchesAreNotPooled(t *testing.T) {
	for range 20 {
		putBatch(&batch{body: make([]byte, 0, 2*maxPooled)})
		putBatch(&batch{arena: make([]byte, 0, 2*maxPooled)})
	}
	for range 40 {
		if b := batches.Get().(*batch); cap(b.body) > maxPooled || cap(b.arena) > maxPooled {
			t.Fatalf("the pool handed out a batch of %d body and %d arena bytes", cap(b.body), cap(b.arena))
		}
	}
}
