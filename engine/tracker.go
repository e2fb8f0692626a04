package engine

import "sync"

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
}

// trackSlot is one pending event: its position, what it counts against the queue, and how many outputs still
// have to finish it.
type trackSlot struct {
	pos  int64
	size int64
	left int32
}

// minRing is the first ring size: small, since push sources make a stream per request.
const minRing = 16

// push registers an event that outputs outputs must finish and returns its sequence number. The caller holds mu.
// The ring doubles when full, so a stream settles at its largest backlog and stops allocating.
func (t *streamTrack) push(pos, size int64, outputs int32) uint64 {
	if t.n == len(t.ring) {
		t.grow()
	}
	t.ring[(t.head+t.n)&(len(t.ring)-1)] = trackSlot{pos: pos, size: size, left: outputs}
	t.n++
	seq := t.nextSeq
	t.nextSeq++
	return seq
}

func (t *streamTrack) grow() {
	size := max(minRing, 2*len(t.ring))
	ring := make([]trackSlot, size)
	for i := 0; i < t.n; i++ {
		ring[i] = t.ring[(t.head+i)&(len(t.ring)-1)]
	}
	t.ring, t.head = ring, 0
}

// finish records that one more output is done with event seq. It reports the event's size when that was the last
// output, so the caller frees it from the queue. The caller holds mu.
func (t *streamTrack) finish(seq uint64) (freed int64, last bool) {
	off := seq - t.headSeq
	if off >= uint64(t.n) {
		// Not pending: a settled event finished twice. That is a bug in the engine; ignoring it keeps the
		// checkpoint from passing events that are not done.
		return 0, false
	}
	s := &t.ring[(t.head+int(off))&(len(t.ring)-1)]
	if s.left <= 0 {
		return 0, false
	}
	s.left--
	if s.left > 0 {
		return 0, false
	}
	return s.size, true
}

// advance moves the head past every finished slot and returns the position to acknowledge, if it moved to a new
// position. The caller holds mu and calls ack with the position while still holding it, so acknowledgements of a
// stream never overtake each other.
func (t *streamTrack) advance() (pos int64, ok bool) {
	moved := false
	for t.n > 0 {
		s := &t.ring[t.head]
		if s.left > 0 {
			break
		}
		pos, moved = s.pos, true
		t.head = (t.head + 1) & (len(t.ring) - 1)
		t.n--
		t.headSeq++
	}
	if !moved || (t.didAck && pos <= t.acked) {
		return 0, false
	}
	t.acked, t.didAck = pos, true
	return pos, true
}

// settleRun finishes, for one output, the events of evs whose done reports true, taking each stream's lock once
// per run of consecutive events of that stream, and acknowledges what became contiguous. It returns how many
// events and bytes left the queue because this was their last output.
func settleRun(evs []Event, done func(i int) bool) (events int, bytes int64) {
	var cur *Stream
	for i := range evs {
		if !done(i) {
			continue
		}
		s := evs[i].Stream
		if s != cur {
			if cur != nil {
				cur.ackLocked()
				cur.track.mu.Unlock()
			}
			cur = s
			cur.track.mu.Lock()
		}
		if size, last := cur.track.finish(evs[i].seq); last {
			events++
			bytes += size
		}
	}
	if cur != nil {
		cur.ackLocked()
		cur.track.mu.Unlock()
	}
	return events, bytes
}

// ackLocked calls the stream's ack if its head advanced. The caller holds s.track.mu.
func (s *Stream) ackLocked() {
	if pos, ok := s.track.advance(); ok && s.ack != nil {
		s.ack(pos)
	}
}
