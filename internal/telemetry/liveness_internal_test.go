package telemetry

import (
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
)

// TestLivenessRule walks a fake clock through samples of the pipeline's counters: only work that nobody moves for
// longer than the bound is wedged; a failing output (its write errors grow) and a sink holding a batch are not.
func TestLivenessRule(t *testing.T) {
	const bound = time.Minute
	queued := func(writeErrors uint64, held int64) engine.Stats {
		return engine.Stats{EventsIn: 10, QueueEvents: 10,
			Outputs: []engine.OutputStats{{Name: "out", Batches: 1 + writeErrors, WriteErrors: writeErrors, Held: held}}}
	}
	type step struct {
		after  time.Duration // since the previous sample
		stats  engine.Stats
		wedged bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"idle: nothing queued never wedges", []step{
			{0, engine.Stats{EventsIn: 5, Acknowledged: 5}, false},
			{time.Hour, engine.Stats{EventsIn: 5, Acknowledged: 5}, false},
		}},
		{"an output down: every failed attempt is progress", []step{
			{0, queued(1, 0), false},
			{50 * time.Second, queued(2, 0), false},
			{50 * time.Second, queued(3, 0), false},
			{50 * time.Second, queued(4, 0), false},
		}},
		{"a sink holding a batch owns the work", []step{
			{0, queued(0, 1), false},
			{time.Hour, queued(0, 1), false},
		}},
		{"queued and frozen past the bound is wedged, and recovers when anything moves", []step{
			{0, queued(0, 0), false},
			{bound, queued(0, 0), false}, // not longer than the bound yet
			{time.Second, queued(0, 0), true},
			{time.Hour, queued(0, 0), true},
			{time.Second, queued(1, 0), false},
		}},
		{"a frozen stretch counts from the first sample that saw it", []step{
			{0, queued(0, 0), false},
			{30 * time.Second, queued(1, 0), false},
			{40 * time.Second, queued(1, 0), false}, // 40s frozen, not 70s
			{21 * time.Second, queued(1, 0), true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1_000_000, 0)
			var current engine.Stats
			l := &liveness{stats: func() engine.Stats { return current }, bound: bound, now: func() time.Time { return now }}
			for i, s := range tt.steps {
				now = now.Add(s.after)
				current = s.stats
				if _, wedged, _ := l.stalled(); wedged != s.wedged {
					t.Fatalf("step %d: wedged = %v, want %v", i, wedged, s.wedged)
				}
			}
		})
	}
}

// TestLivenessOff: without a bound or a pipeline, /healthz never reports a wedge.
func TestLivenessOff(t *testing.T) {
	frozen := func() engine.Stats { return engine.Stats{EventsIn: 1, QueueEvents: 1} }
	now := time.Unix(0, 0)
	clock := func() time.Time { now = now.Add(time.Hour); return now }
	for _, l := range []*liveness{{stats: frozen, now: clock}, {bound: time.Second, now: clock}} {
		for range 3 {
			if _, wedged, _ := l.stalled(); wedged {
				t.Fatal("wedged with the rule off")
			}
		}
	}
}

// TestLivenessReportsOnce: a wedge is reported first once, and again only after the pipeline moved in between.
func TestLivenessReportsOnce(t *testing.T) {
	now := time.Unix(0, 0)
	current := engine.Stats{EventsIn: 1, QueueEvents: 1}
	l := &liveness{stats: func() engine.Stats { return current }, bound: time.Second, now: func() time.Time { return now }}
	var firsts []bool
	for _, moved := range []bool{false, false, false, false, true, false, false} {
		if moved {
			current.EventsIn++
		}
		now = now.Add(2 * time.Second)
		_, _, first := l.stalled()
		firsts = append(firsts, first)
	}
	// 0: the first sample; 1: wedged, reported; 2, 3: still wedged; 4: moved; 5: wedged again, reported; 6: still.
	want := []bool{false, true, false, false, false, true, false}
	for i := range want {
		if firsts[i] != want[i] {
			t.Fatalf("first = %v, want %v", firsts, want)
		}
	}
}
