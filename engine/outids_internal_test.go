package engine

import (
	"fmt"
	"maps"
	"slices"
	"testing"
)

// idCalls records the calls an idTrack makes to its store.
type idCalls struct {
	saves   []string // id/output
	deletes []string
}

func (c *idCalls) LoadIDs(string, string) (map[string][]string, error) { return nil, nil }
func (c *idCalls) SaveID(_, _, id, output string)                      { c.saves = append(c.saves, id+"/"+output) }
func (c *idCalls) DeleteID(_, _, id string)                            { c.deletes = append(c.deletes, id) }

// idStream is a ByID stream of two outputs, a and b, tracked by ids over calls, with loaded as stored ids.
func idStream(calls *idCalls, loaded map[string][]string) *Stream {
	s := NewStream(&Input{Name: "in"}, func(int64) {})
	s.Key, s.ByID = "k", true
	s.track.ids = newIDTrack(calls, "in", "k", []string{"a", "b"}, loaded)
	return s
}

// publish pushes events with ids (nil: without an id) and returns them with their sequence numbers, and the
// outputs that skip each.
func publish(s *Stream, ids ...string) (evs []Event, skips []uint64) {
	s.track.mu.Lock()
	defer s.track.mu.Unlock()
	for _, id := range ids {
		ev := Event{Stream: s, ID: []byte(id), Pos: int64(s.track.nextSeq) + 1}
		var skip uint64
		ev.seq, skip = s.track.push(ev.Pos, 200, ev.ID, 2)
		evs = append(evs, ev)
		skips = append(skips, skip)
	}
	return evs, skips
}

func settleAll(evs []Event, output int) { settleRun(evs, output, func(int) bool { return true }) }

func ids(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

func with(ids []string, suffix string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id + suffix
	}
	return out
}

// TestIDTrackSavesWhatWaitedASweep: outputs that acknowledge a stream between the same two sweeps cause no store
// call; an id is saved when its output was done with it at one sweep and the committed position has not passed
// it at the next, and deleted when it does; flush saves the rest.
func TestIDTrackSavesWhatWaitedASweep(t *testing.T) {
	calls := &idCalls{}
	s := idStream(calls, nil)
	sweep := func() {
		s.track.mu.Lock()
		s.track.ids.sweep(&s.track)
		s.track.mu.Unlock()
	}
	batch1, _ := publish(s, ids("e", 0, 4)...)
	settleAll(batch1, 0)
	settleAll(batch1, 1)
	sweep()
	batch2, _ := publish(s, ids("e", 4, 8)...)
	settleAll(batch2, 0)
	sweep() // a is ahead at this sweep, b catches up before the next one
	settleAll(batch2, 1)
	sweep()
	if len(calls.saves)+len(calls.deletes) != 0 {
		t.Fatalf("outputs in step: saves %v, deletes %v; want no call", calls.saves, calls.deletes)
	}

	// a runs ahead by batch 3 over two sweeps: it is saved at the second; b catches up: deleted.
	batch3, _ := publish(s, ids("e", 8, 12)...)
	settleAll(batch3, 0)
	sweep()
	if len(calls.saves) != 0 {
		t.Fatalf("saved %v at the first sweep that saw them done", calls.saves)
	}
	sweep()
	if want := with(ids("e", 8, 12), "/a"); !slices.Equal(calls.saves, want) {
		t.Fatalf("saves %v, want %v: batch 3 was done at the previous sweep", calls.saves, want)
	}
	sweep()
	if len(calls.saves) != 4 {
		t.Fatalf("saves %v: an id saved twice", calls.saves)
	}
	settleAll(batch3, 1)
	if want := ids("e", 8, 12); !slices.Equal(calls.deletes, want) {
		t.Fatalf("deletes %v, want %v", calls.deletes, want)
	}

	// The pipeline stops with a ahead by a batch no second sweep saw: flush saves it.
	batch4, _ := publish(s, ids("e", 12, 16)...)
	settleAll(batch4, 0)
	sweep()
	s.track.mu.Lock()
	s.track.ids.flush(&s.track)
	s.track.mu.Unlock()
	if want := with(ids("e", 8, 16), "/a"); !slices.Equal(calls.saves, want) {
		t.Fatalf("saves %v after flush, want %v", calls.saves, want)
	}
}

// TestIDTrackLoadedIDs: a loaded id is not sent to the outputs that accepted it (unless all of them did: then
// to everybody), an id never seen goes to everybody, stored ids are deleted when the committed position passes
// them, and once a fresh event after the last loaded id met is committed, the loaded ids never met are
// forgotten.
func TestIDTrackLoadedIDs(t *testing.T) {
	calls := &idCalls{}
	s := idStream(calls, map[string][]string{
		"x": {"a"}, "y": {"a", "b"}, "z": {"b"}, "late": {"a"}, "old": {"removed-output"},
	})
	evs, skips := publish(s, "x", "y", "w", "z")
	if want := []uint64{1, 0, 0, 2}; !slices.Equal(skips, want) {
		t.Fatalf("skip masks %v, want %v (x skipped by a, y by nobody, w by nobody, z by b)", skips, want)
	}
	settleRun(evs, 0, func(i int) bool { return skips[i]&1 == 0 })
	if len(calls.deletes) != 0 {
		t.Fatalf("deleted %v before b was done", calls.deletes)
	}
	settleRun(evs[:3], 1, func(i int) bool { return skips[i]&2 == 0 })
	// Everything is committed (z was done for b at publish); w was fresh, but a loaded id (z) came after it:
	// the loaded ids not met yet (late, old) are kept.
	if got, want := slices.Sorted(slices.Values(calls.deletes)), []string{"x", "y", "z"}; !slices.Equal(got, want) {
		t.Fatalf("deletes %v, want %v", got, want)
	}
	// v is fresh after the last loaded id met: once it is committed, late and old are forgotten.
	evs2, _ := publish(s, "v")
	settleAll(evs2, 0)
	if len(calls.deletes) != 3 {
		t.Fatalf("deletes %v before v was committed", calls.deletes)
	}
	settleAll(evs2, 1)
	if got, want := slices.Sorted(slices.Values(calls.deletes)), []string{"late", "old", "x", "y", "z"}; !slices.Equal(got, want) {
		t.Fatalf("deletes %v, want %v", got, want)
	}
	if len(s.track.ids.loaded) != 0 {
		t.Fatalf("loaded ids kept: %v", slices.Collect(maps.Keys(s.track.ids.loaded)))
	}
	evs3, skips3 := publish(s, "late")
	if skips3[0] != 0 {
		t.Fatal("a forgotten loaded id was skipped")
	}
	settleAll(evs3, 0)
	settleAll(evs3, 1)
	if len(calls.deletes) != 5 {
		t.Fatalf("deletes %v: an id never stored was deleted", calls.deletes)
	}
	if len(calls.saves) != 0 {
		t.Fatalf("saved %v: every output was done in step or loaded", calls.saves)
	}
}
