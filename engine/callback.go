package engine

import "sync/atomic"

// NewCallbackStream returns a stream for a push source's request of n events, published with positions 1..n in
// order. done is called once, when every output is done with all n events (the HTTP receiver answers then). Like
// an ack function, done runs under the stream's lock from an output's goroutine: it must be quick and not block.
// With n <= 0, done is never called by the engine: the caller answers at once.
func NewCallbackStream(in *Input, n int, done func()) *Stream {
	var fired atomic.Bool
	last := int64(n)
	return NewStream(in, func(pos int64) {
		if pos >= last && fired.CompareAndSwap(false, true) {
			done()
		}
	})
}
