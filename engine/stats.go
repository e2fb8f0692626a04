package engine

import (
	"sync"
	"sync/atomic"
)

// Stats is a snapshot of the pipeline's counters, for metrics and tests. Counters only grow; Queue* and Held
// are gauges.
type Stats struct {
	EventsIn     uint64 // events published and queued
	BytesIn      uint64 // their message bytes
	Invalid      uint64 // events published without a stream: dropped
	Acknowledged uint64 // events done for every output, filtered ones included
	// Filtered counts the events published marked Event.Filtered (a processor dropped them): acknowledged in
	// order, sent to no output. FilteredByInput splits it by input name.
	Filtered        uint64
	FilteredByInput map[string]uint64
	QueueEvents     int   // events held now, from Publish until done everywhere
	QueueBytes      int64 // their Event.Size sum; at most the bound plus one event
	Outputs         []OutputStats
}

// OutputStats are one output's counters. The hidden writer of an output's dead-letter sink appears too, named
// "<output>.dead_letter", with DeadLetterOf set.
type OutputStats struct {
	Name         string
	DeadLetterOf string // for a dead-letter sink's writer: the output it serves
	Events       uint64 // events accepted by the sink (not counting dead letters)
	Bytes        uint64 // their message bytes
	Batches      uint64 // Write calls
	WriteErrors  uint64 // Write calls that returned an error
	Retried      uint64 // events the sink asked to retry (or that a failed Write left unmarked)
	Rejected     uint64 // events the sink rejected
	DeadLettered uint64 // rejected events of this output that its dead letter accepted
	Dropped      uint64 // rejected events with no dead letter to take them: counted, logged, done
	DeadLetterIn uint64 // dead letters of other outputs this sink accepted
	// Skipped counts events not sent to this output because it accepted them in an earlier run (per-output
	// positions, Options.OutputPositions).
	Skipped uint64
	Held    int64 // batches written and held by the sink, not released yet
}

type counters struct {
	eventsIn, bytesIn, invalid, acknowledged atomic.Uint64
}

type outputCounters struct {
	events, bytes, batches, writeErrors, retried, rejected, deadLettered, dropped, deadLetterIn, skipped atomic.Uint64
	held                                                                                                 atomic.Int64
}

// Stats returns the current counters. It is safe to call at any time from any goroutine, also after Run returned.
func (p *Pipeline) Stats() Stats {
	s := Stats{
		EventsIn:     p.stats.eventsIn.Load(),
		BytesIn:      p.stats.bytesIn.Load(),
		Invalid:      p.stats.invalid.Load(),
		Acknowledged: p.stats.acknowledged.Load(),
		Outputs:      make([]OutputStats, 0, len(p.all)),
	}
	s.FilteredByInput, s.Filtered = p.filtered.byName()
	s.QueueEvents, s.QueueBytes = p.q.depth()
	for _, o := range p.all {
		c := &o.stats
		s.Outputs = append(s.Outputs, OutputStats{
			Name: o.name, DeadLetterOf: o.deadLetterOf,
			Events: c.events.Load(), Bytes: c.bytes.Load(), Batches: c.batches.Load(),
			WriteErrors: c.writeErrors.Load(), Retried: c.retried.Load(), Rejected: c.rejected.Load(),
			DeadLettered: c.deadLettered.Load(), Dropped: c.dropped.Load(), DeadLetterIn: c.deadLetterIn.Load(),
			Skipped: c.skipped.Load(), Held: c.held.Load(),
		})
	}
	return s
}

// Output returns the stats of the output named name, and whether there is one.
func (s Stats) Output(name string) (OutputStats, bool) {
	for _, o := range s.Outputs {
		if o.Name == name {
			return o, true
		}
	}
	return OutputStats{}, false
}

// inputCounts is a counter per input, created on an input's first count.
type inputCounts struct {
	m sync.Map // *Input -> *atomic.Uint64
}

func (c *inputCounts) add(in *Input, n uint64) {
	v, ok := c.m.Load(in)
	if !ok {
		v, _ = c.m.LoadOrStore(in, new(atomic.Uint64))
	}
	v.(*atomic.Uint64).Add(n)
}

// byName returns the counts by input name (inputs of one name summed; "" for streams without an input) and their
// total; nil when nothing was counted.
func (c *inputCounts) byName() (counts map[string]uint64, total uint64) {
	c.m.Range(func(k, v any) bool {
		name := ""
		if in := k.(*Input); in != nil {
			name = in.Name
		}
		if counts == nil {
			counts = make(map[string]uint64)
		}
		n := v.(*atomic.Uint64).Load()
		counts[name] += n
		total += n
		return true
	})
	return counts, total
}
