package engine

// OutputIDs keeps, for streams whose positions change from one run to the next but whose event ids do not
// (Stream.ByID: an API stream), the ids of the events each output accepted beyond the stream's committed
// position, so that after a restart an output is not sent again an event it accepted while another output was
// failing. cmd/flicker implements it over the registry; the engine calls it only for streams with a Key and
// ByID, and only when the pipeline has two outputs or more.
//
// What is stored is always a true statement ("output O accepted the event with id X of the stream"), written
// after the fact, so a stale or lost entry costs duplicates, never a lost event. SaveID and DeleteID run under
// the stream's lock, DeleteID after the stream's acknowledgement that passed the id, so an implementation that
// queues them with the source's positions and commits the queue atomically (the registry's writer) never
// commits a deletion without the committed position that passed the id.
type OutputIDs interface {
	// LoadIDs returns the stored ids of a stream, each with the names of the outputs that accepted it. The
	// pipeline calls it once per stream, from Publish, before the stream's first event is queued, holding no
	// lock. An error is logged and read as no ids: every output then receives every event again (duplicates,
	// nothing lost).
	LoadIDs(input, key string) (map[string][]string, error)
	// SaveID records that output accepted (or dead-lettered) the stream's event id, which is beyond the
	// stream's committed position. Called under the stream's lock from the pipeline's sweep goroutine, and from
	// Run when it stops: it must only queue the change and return.
	SaveID(input, key, id, output string)
	// DeleteID forgets the stream's event id for every output: the committed position passed it, or it was
	// loaded and the stream went past where it would have come again. Called under the stream's lock from
	// output goroutines, right after the stream's acknowledgement: it must only queue the change and return.
	DeleteID(input, key, id string)
}

// idTrack is the per-output progress of a ByID stream, in its streamTrack and under its lock.
//
// Ids are saved by the pipeline's sweeps (Options.OutputIDsInterval apart), never on the acknowledgement path:
// an id is saved for an output when the output was done with its event at one sweep and the committed position
// has still not passed it at the next. Outputs that acknowledge within an interval of each other cause no store
// call at all; the acknowledgement path only deletes the ids of an earlier sweep once they are committed. When
// the pipeline stops, flush saves the rest; a kill -9 loses what the last two sweeps had not saved (the output
// receives those events again).
type idTrack struct {
	store OutputIDs
	input string
	key   string
	names []string // output names by index
	all   uint64   // one bit per output

	next  []uint64 // per output: sequence number of the first event not done for it yet
	held  []uint64 // per output: next as of the previous sweep; events below it were done then
	saved []uint64 // per output: every event below it is saved for the output or committed

	ents fifo[idEntry] // the pending events' ids in sequence order, the oldest being base's
	base uint64

	// loaded holds the stored ids not met yet in this run, with the outputs (one bit per index) that accepted
	// them; an id of an output no longer configured maps to 0.
	loaded map[string]uint64
	// fresh is the sequence number of the first event published after the last loaded id met that was not a
	// loaded id itself (valid when hasFresh): once it is committed the stream went past the ids stored by the
	// earlier run, and the loaded ids never met are forgotten.
	fresh    uint64
	hasFresh bool
}

// idEntry is one pending event of a ByID stream.
type idEntry struct {
	id     []byte // Event.ID: valid until the event is acknowledged
	str    string // id copied, once it is in the store (saved now or loaded)
	saved  uint64 // outputs it is stored for
	stored bool   // the store holds it: delete it when the committed position passes it
}

func newIDTrack(store OutputIDs, input, key string, names []string, loaded map[string][]string) *idTrack {
	n := len(names)
	it := &idTrack{store: store, input: input, key: key, names: names, all: 1<<n - 1,
		next: make([]uint64, n), held: make([]uint64, n), saved: make([]uint64, n)}
	if len(loaded) == 0 {
		return it
	}
	index := make(map[string]int, n)
	for i, name := range names {
		index[name] = i
	}
	it.loaded = make(map[string]uint64, len(loaded))
	for id, outs := range loaded {
		var mask uint64
		for _, name := range outs {
			if i, ok := index[name]; ok {
				mask |= 1 << i
			}
		}
		it.loaded[id] = mask
	}
	return it
}

// push records the event about to get sequence number seq and returns the outputs that accepted it in an earlier
// run (it is not sent to them). Like skipMask, never every output: delivering again is the safe answer then.
func (it *idTrack) push(seq uint64, id []byte) (skip uint64) {
	e := idEntry{id: id}
	if len(it.loaded) > 0 {
		if mask, ok := it.loaded[string(id)]; ok && id != nil {
			e.str, e.saved, e.stored = string(id), mask, true
			delete(it.loaded, e.str)
			it.hasFresh = false
			if mask != it.all {
				skip = mask
			}
		} else if !it.hasFresh {
			it.fresh, it.hasFresh = seq, true
		}
	}
	it.ents.push(e)
	return skip
}

// pushDone records a filtered event: done for every output (all), so its id is never saved. It is matched
// against the loaded ids like any other, but is no sign that the stream went past them: the earlier run may
// have saved the ids after it.
func (it *idTrack) pushDone(id []byte, all uint64) {
	e := idEntry{id: id, saved: all}
	if len(it.loaded) > 0 && id != nil {
		if _, ok := it.loaded[string(id)]; ok {
			e.str, e.stored = string(id), true
			delete(it.loaded, e.str)
			it.hasFresh = false
		}
	}
	it.ents.push(e)
}

// sweep saves, for every output, the ids of the events it was done with at the previous sweep and that are still
// beyond the committed position. The caller holds the stream's lock.
func (it *idTrack) sweep(t *streamTrack) {
	for o := range it.next {
		t.passDone(&it.next[o], 1<<o)
		it.save(t.headSeq, o, it.held[o])
		it.held[o] = it.next[o]
	}
}

// flush saves, for every output, the ids of every event it is done with beyond the committed position: the
// pipeline stops. The caller holds the stream's lock.
func (it *idTrack) flush(t *streamTrack) {
	for o := range it.next {
		t.passDone(&it.next[o], 1<<o)
		it.save(t.headSeq, o, it.next[o])
	}
}

// save stores output o's ids of the events from max(saved, head) to below end.
func (it *idTrack) save(head uint64, o int, end uint64) {
	from := max(it.saved[o], head)
	if from >= end {
		return
	}
	bit := uint64(1) << o
	for seq := from; seq < end; seq++ {
		e := it.ents.at(int(seq - it.base))
		if e.saved&bit != 0 || e.id == nil {
			continue // stored already, or without an id to store (then sent again: a duplicate)
		}
		if !e.stored {
			e.str, e.stored = string(e.id), true
		}
		e.saved |= bit
		it.store.SaveID(it.input, it.key, e.str, it.names[o])
	}
	it.saved[o] = end
}

// trim runs after the stream's acknowledgement: it drops the entries of the events the committed position passed
// (those below head), deleting the stored ones, and forgets the loaded ids not met once the first fresh event
// after them is committed. The caller holds the stream's lock.
func (it *idTrack) trim(head uint64) {
	for it.base < head && it.ents.len() > 0 {
		e, _ := it.ents.pop()
		it.base++
		if e.stored {
			it.store.DeleteID(it.input, it.key, e.str)
		}
	}
	if it.hasFresh && it.fresh < head && len(it.loaded) > 0 {
		for id := range it.loaded {
			it.store.DeleteID(it.input, it.key, id)
		}
		it.loaded = nil
		it.hasFresh = false
	}
}
