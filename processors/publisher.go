package processors

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flickerlog/flicker/engine"
)

// processor is what the Publisher runs over one input's events: a *Chain (a fake in tests).
type processor interface {
	Process(ev *engine.Event) bool
}

// readTimeProcessor is a processor that takes the read time (event.ingested) from the Publisher, not from
// ev.Time: container and API sources set ev.Time to the record's own time.
type readTimeProcessor interface {
	processAt(ev *engine.Event, read time.Time) bool
}

// Publisher is the engine.Publisher decorator that runs each input's chain over its events before handing them
// to the pipeline (DESIGN.md section 2, item 7). It works on its own copy of the events, never on the caller's
// slice: a source whose Publish was refused publishes the same events again, and they must not be processed
// twice. A dropped event is handed on marked engine.Event.Filtered with its Message, Extra and LogExtra let go,
// so that its position is acknowledged in order; their length, and that of the bytes the chain replaced in a
// kept event, is added to engine.Event.Held, since the source keeps them until the acknowledgement. Events of inputs without a chain pass untouched; a call with
// none of its events under a chain is handed on as it is. Publish may be called from many goroutines at once.
//
// A call of at least two chunks' worth of events (minChunk) is processed in chunks in parallel, by the caller's
// goroutine and short-lived helpers, at most one per spare core: the chain costs many times the reading, so a
// reader alone would keep one core busy and leave the others idle. The call waits for its helpers, so the
// events are handed on whole and in order, within the call as engine.Publisher promises, and nothing outlives
// the call.
type Publisher struct {
	next    engine.Publisher
	chains  map[string]processor // by input name
	bufs    sync.Pool            // *[]engine.Event, one per Publish in flight
	helpers int                  // goroutines a call may start besides its own
}

// minChunk is the fewest events worth handing to a helper: below it, starting one costs about what it saves.
const minChunk = 64

// chunksPerWorker is how many chunks a call is cut into per goroutine taking part.
const chunksPerWorker = 4

// NewPublisher returns next decorated with chains, by input name. When next is an engine.TryPublisher, so is
// the result (push sources need it).
func NewPublisher(next engine.Publisher, chains map[string]*Chain) engine.Publisher {
	m := make(map[string]processor, len(chains))
	for name, c := range chains {
		if c != nil {
			m[name] = c
		}
	}
	return newPublisher(next, m)
}

func newPublisher(next engine.Publisher, chains map[string]processor) engine.Publisher {
	p := &Publisher{next: next, chains: chains, helpers: runtime.GOMAXPROCS(0) - 1}
	if try, ok := next.(engine.TryPublisher); ok {
		return tryPublisher{Publisher: p, try: try}
	}
	return p
}

// Publish implements engine.Publisher.
func (p *Publisher) Publish(ctx context.Context, events []engine.Event) error {
	buf := p.process(events)
	if buf == nil {
		return p.next.Publish(ctx, events)
	}
	defer p.put(buf)
	return p.next.Publish(ctx, *buf)
}

// process returns a copy of events with the chains run over it, or nil when no event is under a chain. The
// caller puts the copy back once the wrapped Publisher returned: the pipeline keeps copies of the events, not
// the slice.
func (p *Publisher) process(events []engine.Event) *[]engine.Event {
	var in *engine.Input
	var chain processor
	first := -1
	for i := range events {
		s := events[i].Stream
		if s == nil {
			continue
		}
		if s.Input != in {
			in, chain = s.Input, p.chainOf(s.Input)
		}
		if chain != nil {
			first = i
			break
		}
	}
	if first < 0 {
		return nil
	}
	buf, _ := p.bufs.Get().(*[]engine.Event)
	if buf == nil {
		buf = new([]engine.Event)
	}
	*buf = append((*buf)[:0], events...)
	p.spread((*buf)[first:], time.Now())
	return buf
}

// spread runs the chains over evs, read at read, in chunks in parallel when there are enough events for more
// than one. The chunks are more than the goroutines and taken in turn, so that one that gets less CPU (the
// machine is shared) holds the call up by one chunk at most.
func (p *Publisher) spread(evs []engine.Event, read time.Time) {
	workers := min(p.helpers+1, len(evs)/minChunk)
	if workers <= 1 {
		p.run(evs, read)
		return
	}
	size := max((len(evs)+chunksPerWorker*workers-1)/(chunksPerWorker*workers), minChunk)
	var next atomic.Int64 // the start of the next chunk to take, in chunks
	take := func() {
		for {
			start := int(next.Add(1)-1) * size
			if start >= len(evs) {
				return
			}
			p.run(evs[start:min(start+size, len(evs))], read)
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(take)
	}
	take()
	wg.Wait()
}

// run runs the chains over evs in place, marking the dropped events Filtered. read is when the events were
// read: one time.Now() per Publish call, not one per event.
func (p *Publisher) run(evs []engine.Event, read time.Time) {
	var in *engine.Input
	var chain processor
	for i := range evs {
		ev := &evs[i]
		if ev.Stream == nil || ev.Filtered {
			continue
		}
		if ev.Stream.Input != in {
			in, chain = ev.Stream.Input, p.chainOf(ev.Stream.Input)
		}
		if chain == nil {
			continue
		}
		msg, extra, logExtra := ev.Message, ev.Extra, ev.LogExtra
		if runChain(chain, ev, read) {
			// The source keeps the bytes the chain replaced until the event is acknowledged.
			ev.Held += released(msg, ev.Message) + released(extra, ev.Extra) + released(logExtra, ev.LogExtra)
			continue
		}
		ev.Filtered = true
		ev.Held += int64(len(msg) + len(extra) + len(logExtra))
		ev.Message, ev.Extra, ev.LogExtra, ev.ExtraReplacesStream = nil, nil, nil, false
	}
}

// runChain runs chain over ev, with read as its read time when chain takes one.
func runChain(chain processor, ev *engine.Event, read time.Time) bool {
	if at, ok := chain.(readTimeProcessor); ok {
		return at.processAt(ev, read)
	}
	return chain.Process(ev)
}

// released returns the length of was when the event let go of it for now: the bytes now holds are not was's.
func released(was, now []byte) int64 {
	if len(was) == 0 || len(now) > 0 && &now[0] == &was[0] {
		return 0
	}
	return int64(len(was))
}

func (p *Publisher) chainOf(in *engine.Input) processor {
	if in == nil {
		return nil
	}
	return p.chains[in.Name]
}

// put recycles buf, cleared so that the pool does not keep the events' bytes reachable.
func (p *Publisher) put(buf *[]engine.Event) {
	clear(*buf)
	*buf = (*buf)[:0]
	p.bufs.Put(buf)
}

// tryPublisher is the Publisher over a pipeline that also queues requests whole (engine.TryPublisher).
type tryPublisher struct {
	*Publisher
	try engine.TryPublisher
}

// TryPublish implements engine.TryPublisher.
func (p tryPublisher) TryPublish(events []engine.Event) (bool, error) {
	buf := p.process(events)
	if buf == nil {
		return p.try.TryPublish(events)
	}
	defer p.put(buf)
	return p.try.TryPublish(*buf)
}

// TryPublishWait implements engine.TryPublisher.
func (p tryPublisher) TryPublishWait(ctx context.Context, events []engine.Event, wait time.Duration) (bool, error) {
	buf := p.process(events)
	if buf == nil {
		return p.try.TryPublishWait(ctx, events, wait)
	}
	defer p.put(buf)
	return p.try.TryPublishWait(ctx, *buf, wait)
}

// WrapSources returns sources, each running with its Publisher decorated with chains (by input name). Without
// chains it returns sources as they are.
func WrapSources(sources []engine.Source, chains map[string]*Chain) []engine.Source {
	if len(chains) == 0 {
		return sources
	}
	wrapped := make([]engine.Source, len(sources))
	for i, src := range sources {
		wrapped[i] = processedSource{src: src, chains: chains}
	}
	return wrapped
}

// processedSource runs a source with its Publisher decorated.
type processedSource struct {
	src    engine.Source
	chains map[string]*Chain
}

func (s processedSource) Run(ctx context.Context, pub engine.Publisher) error {
	return s.src.Run(ctx, NewPublisher(pub, s.chains))
}

// String names the wrapped source in the engine's errors.
func (s processedSource) String() string {
	if n, ok := s.src.(fmt.Stringer); ok {
		return n.String()
	}
	return fmt.Sprintf("%T", s.src)
}
