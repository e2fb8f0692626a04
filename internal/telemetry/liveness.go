package telemetry

import (
	"sync"
	"time"

	"github.com/flickerlog/flicker/engine"
)

// liveness decides what /healthz answers. The pipeline is wedged when, for longer than the stall bound, it held
// events that no sink was holding (so the engine, not a sink, owned them) and none of its counters moved: nothing
// was published, acknowledged, written, failed, retried or rejected. An output that is down is not wedged: each
// attempt to write to it counts (a failed Write, a retry), and the waits between attempts are at most the largest
// retry.max, which the caller adds to the bound. A sink holding batches (S3 building an object, retrying its
// upload) owns the work and is never wedged by this rule. What it catches is a goroutine of the pipeline that no
// longer returns: a Write blocked in a syscall that no timeout covers, a deadlock. Restarting helps there and
// nowhere else, which is what a liveness probe is for.
//
// It samples on each request: the time of the first request that saw the current counters is when progress was
// last seen, and counters only grow, so two equal samples mean nothing happened in between. No goroutine needed.
type liveness struct {
	stats func() engine.Stats // nil: always alive
	bound time.Duration       // 0: always alive
	now   func() time.Time

	mu     sync.Mutex
	last   progress
	since  time.Time // when last was first seen
	wedged bool      // the last answer, so a wedge is logged once
}

// progress is what moves when the pipeline does anything.
type progress struct {
	in, acked, invalid uint64
	outputs            uint64 // sum of every output's per-call and per-event counters
}

func sample(st engine.Stats) (p progress, work bool) {
	p = progress{in: st.EventsIn, acked: st.Acknowledged, invalid: st.Invalid}
	held := false
	for _, o := range st.Outputs {
		p.outputs += o.Batches + o.WriteErrors + o.Events + o.Retried + o.Rejected + o.DeadLettered + o.Dropped +
			o.DeadLetterIn + o.Skipped
		held = held || o.Held > 0
	}
	return p, st.QueueEvents > 0 && !held
}

// stalled reports how long the pipeline has held work without progress, whether that is a wedge (longer than the
// bound), and whether this is the first answer that says so since the last one that did not.
func (l *liveness) stalled() (d time.Duration, wedged, first bool) {
	if l.stats == nil || l.bound <= 0 {
		return 0, false, false
	}
	p, work := sample(l.stats())
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if p != l.last || !work || l.since.IsZero() {
		l.last, l.since = p, now
	}
	d = now.Sub(l.since)
	wedged = d > l.bound
	first = wedged && !l.wedged
	l.wedged = wedged
	return d, wedged, first
}
