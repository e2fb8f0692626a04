package engine

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// streamTrack is a stream's acknowledgement state. Publish assigns each event the next sequence number and
// appends a slot to the ring; outputs count their completions down in the slot; when the oldest slots are
// finished, the stream's ack is called with the position of the last finished one. Everything happens under mu,
// so sequence order, ring order and acknowledgement order are the same.
type streamTrack struct {
	mu      sync.Mutex
	ring    []trackSlot // power-of-two length; the pending events from head, n of them
	head    int
	n       int
	headSeq uint64 // sequence number of ring[head]
	nextSeq uint64 // sequence number of the next published event
	acked   int64  // last position given to ack
	didAck  bool   // whether acked holds a position
	// outs follows each output's own position, for a keyed stream of a pipeline with OutputPositions; nil
	// otherwise. loaded is set (after outs, under mu) once the stream's stored positions were looked up, and read
	// without the lock by Publish (see Pipeline.loadPositions).
	outs   *outputTrack
	loaded atomic.Bool
	// loadKey is the key the stored positions are under when the stream was rekeyed before they were loaded
	// (before its first Publish); empty otherwise.
	loadKey string
	// ids follows the outputs' progress by event id instead, for a ByID stream of a pipeline with OutputIDs;
	// nil otherwise. At most one of outs and ids is set.
	ids *idTrack
}

// trackSlot is one pending event: its position, what it counts against the queue, how many outputs still have to
// finish it and, for a stream with per-output positions, which outputs did (one bit per output index). A filtered
// event (Event.Filtered) is done for every output from the start. Every event keeps its room in the queue until
// the head passes it (its acknowledgement): its source keeps its bytes until then, and a stream stuck behind one
// retried event must not grow its ring, and its source's buffers, without bound.
type trackSlot struct {
	pos      int64
	size     int64
	left     int32
	filtered bool
	done     uint64
}

// room is an amount of queue room: events and their Event.Size sum.
type room struct {
	events int
	bytes  int64
}

// minRing is the first ring size: small, since push sources make a stream per request.
const minRing = 16

// push registers an event (its position, size and id) that outputs outputs must finish and returns its sequence
// number and the outputs that are done with it already (they accepted it in an earlier run: it is not sent to
// them). The caller holds mu. The ring doubles when full, so a stream settles at its largest backlog and stops
// allocating.
func (t *streamTrack) push(pos, size int64, id []byte, outputs int32) (seq, skip uint64) {
	if t.n == len(t.ring) {
		t.grow()
	}
	switch {
	case t.outs != nil:
		skip = t.outs.skipMask(pos)
		outputs -= int32(bits.OnesCount64(skip))
	case t.ids != nil:
		skip = t.ids.push(t.nextSeq, id)
		outputs -= int32(bits.OnesCount64(skip))
	}
	t.ring[(t.head+t.n)&(len(t.ring)-1)] = trackSlot{pos: pos, size: size, left: outputs, done: skip}
	t.n++
	seq = t.nextSeq
	t.nextSeq++
	return seq, skip
}

// pushFiltered registers a filtered event, done for all outputs already, and returns its sequence number. A
// ByID stream still records its id, so that the ids of an earlier run are matched in order, but never saves it
// for an output. The caller holds mu and calls the stream's ackLocked before letting go of it: the event may
// complete the stream's head.
func (t *streamTrack) pushFiltered(pos, size int64, id []byte, outputs int32) uint64 {
	if t.n == len(t.ring) {
		t.grow()
	}
	// More than 64 outputs run without per-output tracking; a shift past 64 would be negative.
	all := ^uint64(0)
	if outputs < 64 {
		all = 1<<uint(outputs) - 1
	}
	if t.ids != nil {
		t.ids.pushDone(id, all)
	}
	t.ring[(t.head+t.n)&(len(t.ring)-1)] = trackSlot{pos: pos, size: size, filtered: true, done: all}
	t.n++
	seq := t.nextSeq
	t.nextSeq++
	return seq
}

// slot returns the pending event with sequence number seq, which must be pending. The caller holds mu.
func (t *streamTrack) slot(seq uint64) *trackSlot {
	return &t.ring[(t.head+int(seq-t.headSeq))&(len(t.ring)-1)]
}

func (t *streamTrack) grow() {
	size := max(minRing, 2*len(t.ring))
	ring := make([]trackSlot, size)
	for i := 0; i < t.n; i++ {
		ring[i] = t.ring[(t.head+i)&(len(t.ring)-1)]
	}
	t.ring, t.head = ring, 0
}

// finish records that output (its index among the configured outputs) is done with event seq. The caller holds
// mu, and calls the stream's ackLocked before letting go of it: the event may complete the stream's head.
func (t *streamTrack) finish(seq uint64, output int) {
	off := seq - t.headSeq
	if off >= uint64(t.n) {
		// Not pending: a settled event finished twice. That is a bug in the engine; ignoring it keeps the
		// checkpoint from passing events that are not done.
		return
	}
	s := &t.ring[(t.head+int(off))&(len(t.ring)-1)]
	if s.left <= 0 {
		return
	}
	if t.outs != nil || t.ids != nil {
		s.done |= 1 << output
	}
	s.left--
}

// passDone moves next, an output's cursor (bit is the output's), past the events done for it and returns the
// position of the last one it passed. The caller holds mu.
func (t *streamTrack) passDone(next *uint64, bit uint64) (pos int64, moved bool) {
	if *next < t.headSeq {
		// Cannot happen (the head waits for every output); past the head everything is done for the output anyway.
		*next = t.headSeq
	}
	for *next < t.nextSeq {
		s := t.slot(*next)
		if s.done&bit == 0 {
			break
		}
		pos, moved = s.pos, true
		*next++
	}
	return pos, moved
}

// advance moves the head past every finished slot and returns the position to acknowledge, if it moved to a new
// position, and the queue room of the events it passed. The caller holds mu and calls ack with the
// position while still holding it, so acknowledgements of a stream never overtake each other.
func (t *streamTrack) advance() (pos int64, ok bool, freed room) {
	moved := false
	for t.n > 0 {
		s := &t.ring[t.head]
		if s.left > 0 {
			break
		}
		freed.events++
		freed.bytes += s.size
		pos, moved = s.pos, true
		t.head = (t.head + 1) & (len(t.ring) - 1)
		t.n--
		t.headSeq++
	}
	if !moved || (t.didAck && pos <= t.acked) {
		return 0, false, freed
	}
	t.acked, t.didAck = pos, true
	return pos, true, freed
}

// settleRun finishes, for one output (its index among the configured outputs), the events of evs whose done
// reports true, taking each stream's lock once per run of consecutive events of that stream, and acknowledges
// what became contiguous. It returns how many events and bytes left the queue: those the acknowledgement passed.
func settleRun(evs []Event, output int, done func(i int) bool) (events int, bytes int64) {
	var cur *Stream
	release := func() {
		freed := cur.ackLocked()
		cur.track.mu.Unlock()
		events += freed.events
		bytes += freed.bytes
	}
	for i := range evs {
		if !done(i) {
			continue
		}
		s := evs[i].Stream
		if s != cur {
			if cur != nil {
				release()
			}
			cur = s
			cur.track.mu.Lock()
		}
		cur.track.finish(evs[i].seq, output)
	}
	if cur != nil {
		release()
	}
	return events, bytes
}

// ackLocked calls the stream's ack if its head advanced, then, for a stream with per-output positions, saves
// those of the outputs ahead of it or clears them (for a ByID stream, deletes the stored ids it passed). After the ack: a
// store that queues both in call order never commits a Clear without the committed position that caught up. It
// returns the queue room of the filtered events the head passed. The caller holds s.track.mu.
func (s *Stream) ackLocked() room {
	t := &s.track
	if t.outs != nil {
		t.outs.advance(t)
	}
	pos, ok, freed := t.advance()
	if ok && s.ack != nil {
		s.ack(pos)
	}
	if t.outs != nil {
		t.outs.settle(t.acked, t.didAck)
	}
	if t.ids != nil {
		t.ids.trim(t.headSeq)
	}
	return freed
}
