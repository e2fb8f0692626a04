package engine

import (
	"testing"
)

// TestTrackerAcknowledgesHighestContiguousOnce finishes events out of order and checks that acks come in order,
// once per advance, at the highest contiguous position.
func TestTrackerAcknowledgesHighestContiguousOnce(t *testing.T) {
	var acks []int64
	s := NewStream(&Input{Name: "t"}, func(pos int64) { acks = append(acks, pos) })
	const n = 40 // more than minRing: the ring grows with events pending
	s.track.mu.Lock()
	for i := range n {
		if seq, _ := s.track.push(int64(10*(i+1)), 200, nil, 2); seq != uint64(i) {
			t.Fatalf("seq %d for event %d", seq, i)
		}
	}
	s.track.mu.Unlock()
	finish := func(seqs ...int) {
		evs := make([]Event, len(seqs))
		for i, q := range seqs {
			evs[i] = Event{Stream: s, seq: uint64(q)}
		}
		settleRun(evs, 0, func(int) bool { return true })
	}
	steps := []struct {
		seqs []int
		want []int64 // acks so far
	}{
		{[]int{1, 2, 3}, nil},                  // one output done with 1..3: nothing
		{[]int{1, 2, 3}, nil},                  // both done with 1..3, 0 still pending
		{[]int{0}, nil},                        // one output done with 0
		{[]int{0}, []int64{40}},                // 0..3 done: ack position of event 3
		{[]int{5, 5, 4}, []int64{40}},          // 5 done, 4 half
		{[]int{4}, []int64{40, 60}},            // 4..5 done
		{seqRange(6, n), []int64{40, 60}},      // one output done with the rest
		{seqRange(6, n), []int64{40, 60, 400}}, // all done: one ack for the whole run
	}
	for i, st := range steps {
		finish(st.seqs...)
		if len(acks) != len(st.want) {
			t.Fatalf("step %d: acks %v, want %v", i, acks, st.want)
		}
		for k := range acks {
			if acks[k] != st.want[k] {
				t.Fatalf("step %d: acks %v, want %v", i, acks, st.want)
			}
		}
	}
	if s.track.n != 0 {
		t.Fatalf("%d events still pending", s.track.n)
	}
}

func seqRange(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

// BenchmarkTracker measures publishing and settling events of one stream for two outputs, in runs of 256:
// go test -bench Tracker -benchmem ./engine/.
func BenchmarkTracker(b *testing.B) {
	var acked int64
	s := NewStream(&Input{Name: "t"}, func(pos int64) { acked = pos })
	evs := make([]Event, 256)
	for i := range evs {
		evs[i].Stream = s
	}
	done := func(int) bool { return true }
	b.ReportAllocs()
	for n := 0; n < b.N; n += len(evs) {
		s.track.mu.Lock()
		for i := range evs {
			evs[i].seq, _ = s.track.push(int64(n+i+1), 200, nil, 2)
		}
		s.track.mu.Unlock()
		settleRun(evs, 0, done)
		settleRun(evs, 1, done)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if acked == 0 {
		b.Fatal("nothing acknowledged")
	}
}
