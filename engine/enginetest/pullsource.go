package enginetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/flickerlog/flicker/engine"
)

// PullSource is a pull source over fixed in-memory streams, like a file source over files that do not grow.
// Event i of a stream has Offset i and Pos i+1; the stream's Key is its name, as positions are the same in every
// run (per-output positions apply). It remembers every stream's acknowledged position; Resume returns
// a source that starts from them, like a restart with a registry. Streams are published interleaved, a few
// events of each in turn, so batches mix streams.
type PullSource struct {
	in      *engine.Input
	names   []string
	content map[string][][]byte
	state   *ackState
	// Chunk is how many events of one stream go in a row into a Publish call; default 7.
	Chunk int
	// Follow keeps Run waiting for ctx after publishing everything, like a source tailing files; by default Run
	// returns nil then (once mode).
	Follow bool
	// Time is every event's time; default 2026-01-02T03:04:05Z.
	Time time.Time
	// ByID makes the streams like an API source's: every event carries an id (IDOf), and positions count from
	// 1 in every run, so a position names a different event after a restart; the streams are ByID.
	ByID bool
	// Filter, when set, marks the events whose message it reports true engine.Event.Filtered, as a processor
	// that dropped them would (their Message stays set, so a sink that saw one would tell).
	Filter func(msg []byte) bool
}

type ackState struct {
	mu     sync.Mutex
	acked  map[string]int64
	errors []string
}

// NewPullSource returns a source over streams: name -> messages in order. Stream paths are the names.
func NewPullSource(in *engine.Input, streams map[string][][]byte) *PullSource {
	names := make([]string, 0, len(streams))
	for n := range streams {
		names = append(names, n)
	}
	slices.Sort(names)
	return &PullSource{in: in, names: names, content: streams, Chunk: 7,
		state: &ackState{acked: make(map[string]int64)},
		Time:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

// Resume returns a new source over the same streams starting at the positions acknowledged so far, sharing the
// acknowledgement state.
func (s *PullSource) Resume() *PullSource {
	c := *s
	return &c
}

// ResumeWith is Resume over streams that extend the source's (the same messages first, then more), like an API
// that got new events while flicker was stopped.
func (s *PullSource) ResumeWith(streams map[string][][]byte) *PullSource {
	c := NewPullSource(s.in, streams)
	c.state, c.Chunk, c.Follow, c.Time, c.ByID, c.Filter = s.state, s.Chunk, s.Follow, s.Time, s.ByID, s.Filter
	return c
}

// IDOf is the id of event i of stream name when the source is ByID.
func IDOf(name string, i int) []byte { return fmt.Appendf(nil, "%s-%d", name, i) }

// Acked returns the acknowledged position of stream name: how many of its events are done.
func (s *PullSource) Acked(name string) int64 {
	s.state.mu.Lock()
	defer s.state.mu.Unlock()
	return s.state.acked[name]
}

// AckErrors returns the contract violations seen in acknowledgements: positions not strictly increasing or past
// the end of the stream. The engine promises none.
func (s *PullSource) AckErrors() []string {
	s.state.mu.Lock()
	defer s.state.mu.Unlock()
	return slices.Clone(s.state.errors)
}

// Run implements engine.Source.
func (s *PullSource) Run(ctx context.Context, pub engine.Publisher) error {
	type cursor struct {
		st   *engine.Stream
		msgs [][]byte
		next int
		base int64
	}
	curs := make([]*cursor, 0, len(s.names))
	for _, name := range s.names {
		from := int(s.Acked(name))
		var base int64 // added to a position to give the events done
		if s.ByID {
			base = int64(from)
		}
		st := engine.NewStream(s.in, s.ackFunc(name, base))
		st.Path, st.Key, st.ByID = name, name, s.ByID
		st.IDSeed = engine.SeedID([]byte(s.in.Name), []byte(name))
		curs = append(curs, &cursor{st: st, msgs: s.content[name], next: from, base: base})
	}
	chunk := max(1, s.Chunk)
	var evs []engine.Event
	for {
		evs = evs[:0]
		for _, c := range curs {
			for k := 0; k < chunk && c.next < len(c.msgs); k++ {
				ev := engine.Event{Time: s.Time, Message: c.msgs[c.next], Stream: c.st,
					Offset: int64(c.next), Pos: int64(c.next+1) - c.base}
				if s.ByID {
					ev.ID = IDOf(c.st.Path, c.next)
				}
				ev.Filtered = s.Filter != nil && s.Filter(ev.Message)
				evs = append(evs, ev)
				c.next++
			}
		}
		if len(evs) == 0 {
			break
		}
		if err := pub.Publish(ctx, evs); err != nil {
			return err
		}
	}
	if s.Follow {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

// ackFunc records the acknowledgements of stream name, whose positions are the events done less base.
func (s *PullSource) ackFunc(name string, base int64) func(int64) {
	total := int64(len(s.content[name]))
	return func(pos int64) {
		pos += base
		s.state.mu.Lock()
		defer s.state.mu.Unlock()
		prev := s.state.acked[name]
		if pos <= prev || pos > total {
			s.state.errors = append(s.state.errors, fmt.Sprintf("stream %s: ack %d after %d (of %d)", name, pos, prev, total))
			return
		}
		s.state.acked[name] = pos
	}
}
