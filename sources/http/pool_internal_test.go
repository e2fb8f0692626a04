package http

import (
	"runtime"
	"sync"
	"testing"
)

// A batch that grew past maxPooled is not pooled: one large request must not pin its memory. Regression: every
// batch went back to the pool whatever its size.
func TestLargeBatchesAreNotPooled(t *testing.T) {
	for range 20 {
		putBatch(&batch{body: make([]byte, 0, 2*maxPooled)})
		putBatch(&batch{arena: make([]byte, 0, 2*maxPooled)})
	}
	for range 40 {
		if b := batches.Get(); cap(b.body) > maxPooled || cap(b.arena) > maxPooled {
			t.Fatalf("the pool handed out a batch of %d body and %d arena bytes", cap(b.body), cap(b.arena))
		}
	}
}

// Batches on the free list outlive garbage collections (a sync.Pool alone is emptied by each one, so with few
// requests in flight every request grew new buffers), and the list keeps at most freeBytes of buffers.
func TestFreeListKeepsBatchesAcrossCollections(t *testing.T) {
	p := &batchPool{pool: sync.Pool{New: func() any { return new(batch) }}}
	kept := &batch{body: make([]byte, 0, 1<<20)}
	p.Put(kept)
	runtime.GC()
	runtime.GC()
	if got := p.Get(); got != kept {
		t.Fatal("a batch put on the free list was lost to garbage collection")
	}
	for range 3 * freeBytes / (1 << 20) {
		p.Put(&batch{body: make([]byte, 0, 1<<20)})
	}
	if p.bytes > freeBytes || int64(len(p.free))*(1<<20) > freeBytes {
		t.Fatalf("the free list holds %d bytes in %d batches, more than freeBytes (%d)", p.bytes, len(p.free), freeBytes)
	}
	for len(p.free) > 0 {
		p.Get()
	}
	if p.bytes != 0 {
		t.Fatalf("an empty free list counts %d bytes", p.bytes)
	}
}
