package engine

import (
	"math/bits"
)

// OutputPositions keeps, per stream, the position of each output that is ahead of the stream's committed
// position, so that after a restart an output receives only the events it has not accepted: a healthy output
// does not receive again what it accepted while another output was failing. cmd/flicker implements it over the
// registry; the engine calls it only for streams with a Key, and only when the pipeline has two outputs or more.
//
// What is stored is always a true statement ("output O accepted every event of the stream up to position P"),
// written after the fact, so a stale or lost entry costs duplicates, never a lost event. Save and Clear run
// under the stream's lock, in the same order as the stream's acknowledgements, so an implementation that queues
// them with the source's positions and commits the queue atomically (the registry's writer) never commits an
// entry without the committed position it was ahead of.
type OutputPositions interface {
	// Load returns the stored positions of a stream, by output name. The pipeline calls it once per stream, from
	// Publish, before the stream's first event is queued, holding no lock. An error is logged and read as no
	// positions: every output then receives every event again (duplicates, nothing lost).
	Load(input, key string) (map[string]int64, error)
	// Save records that output accepted (or dead-lettered) every event of the stream up to pos, which is ahead of
	// the stream's committed position. Called from output goroutines under the stream's lock each time an output
	// that is ahead advances: it must only queue the value (the latest per stream and output wins) and return.
	Save(input, key, output string, pos int64)
	// Clear forgets the stream's positions: the committed position caught up with every output. Called like Save.
	Clear(input, key string)
}

// maxTrackedOutputs is how many outputs per-output positions can follow: each pending event keeps one bit per
// output. A pipeline with more outputs does not keep per-output positions (every output then receives every
// event again after a restart, as without OutputPositions).
const maxTrackedOutputs = 64

// outputTrack is the per-output progress of a keyed stream, in its streamTrack and under its lock. An output's
// position is the position after the last of a contiguous run of events done for it; the stream's committed
// position is the lowest of them.
type outputTrack struct {
	store OutputPositions
	input string
	key   string
	names []string // output names by index

	next  []uint64 // per output: sequence number of the first event not done for it yet
	pos   []int64  // per output: its position; valid where has is set
	has   []bool
	skip  []int64 // per output: the loaded position; events at or before it are done for the output at publish
	skips bool    // some output still has events to skip
	dirty uint64  // outputs whose position moved since the last settle
	// stored says whether the store may hold positions of the stream (loaded or saved since the last Clear).
	stored bool
}

func newOutputTrack(store OutputPositions, input, key string, names []string, loaded map[string]int64) *outputTrack {
	n := len(names)
	ot := &outputTrack{store: store, input: input, key: key, names: names,
		next: make([]uint64, n), pos: make([]int64, n), has: make([]bool, n), skip: make([]int64, n)}
	for i, name := range names {
		p, ok := loaded[name]
		if !ok {
			continue
		}
		ot.pos[i], ot.has[i], ot.skip[i] = p, true, p
		ot.skips, ot.stored = true, true
	}
	if len(loaded) > 0 {
		// Entries of outputs no longer configured are cleared once the others catch up.
		ot.stored = true
	}
	return ot
}

// skipMask returns the outputs (one bit per index) that accepted the event ending at pos in an earlier run. It
// never returns every output: the committed position is the lowest output's, so some output always lacks the
// event; if stored positions said otherwise, delivering again is the safe answer.
func (ot *outputTrack) skipMask(pos int64) uint64 {
	if !ot.skips {
		return 0
	}
	var mask uint64
	left := false
	for i, p := range ot.skip {
		if pos <= p {
			mask |= 1 << i
			left = true
		}
	}
	if !left {
		ot.skips = false // positions only grow within a stream: nothing more to skip
		return 0
	}
	if bits.OnesCount64(mask) == len(ot.skip) {
		return 0
	}
	return mask
}

// advance moves every output's cursor past the events done for it and saves the positions of the outputs now
// ahead of committed (the stream's acknowledged position, valid when didAck). It runs before the ring's head
// moves: the head never passes an event some output's cursor has not passed. The caller holds the stream's lock.
func (ot *outputTrack) advance(t *streamTrack) {
	for o := range ot.next {
		// Positions grow within a stream: the last event passed has the highest.
		if pos, ok := t.passDone(&ot.next[o], 1<<o); ok && (!ot.has[o] || pos > ot.pos[o]) {
			ot.pos[o], ot.has[o] = pos, true
			ot.dirty |= 1 << o
		}
	}
}

// settle saves the outputs whose position moved and is ahead of the committed position, or clears the stream's
// entries once no output is ahead. The caller holds the stream's lock and has acknowledged committed.
func (ot *outputTrack) settle(committed int64, didAck bool) {
	ahead := false
	for o := range ot.pos {
		if !ot.has[o] || (didAck && ot.pos[o] <= committed) {
			continue
		}
		ahead = true
		if ot.dirty&(1<<o) != 0 {
			ot.store.Save(ot.input, ot.key, ot.names[o], ot.pos[o])
			ot.stored = true
		}
	}
	ot.dirty = 0
	if !ahead && ot.stored {
		ot.store.Clear(ot.input, ot.key)
		ot.stored = false
	}
}

// rekey moves the stream's stored positions to key: Clear under the old key, then every position ahead of the
// committed one saved under the new key at once (not at the next acknowledgement: a crash before it would leave
// the new key without them). The caller holds the stream's lock.
func (ot *outputTrack) rekey(key string, committed int64, didAck bool) {
	if ot.stored {
		ot.store.Clear(ot.input, ot.key)
		ot.stored = false
	}
	ot.key = key
	for o := range ot.pos {
		if ot.has[o] && (!didAck || ot.pos[o] > committed) {
			ot.store.Save(ot.input, ot.key, ot.names[o], ot.pos[o])
			ot.stored = true
		}
	}
	ot.dirty = 0
}
