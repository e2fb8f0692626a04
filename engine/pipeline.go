package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Pipeline moves events from sources to outputs: a byte-bounded queue, a batcher, one worker per output, retries,
// dead letters and ordered per-stream acknowledgement. cmd/flicker builds one with New and calls Run once.
type Pipeline struct {
	opts  Options
	log   zerolog.Logger
	q     queue
	batch *batcher
	outs  []*output // configured outputs, in Options order
	all   []*output // outs, then the hidden writers of dead-letter sinks
	works sync.Pool
	stats counters
	// filtered counts the filtered events published, per input.
	filtered inputCounts
	// positions keeps per-output positions (Options.OutputPositions) when there are 2 to 64 outputs; else nil.
	positions   OutputPositions
	outputNames []string
	// ids keeps per-output event ids (Options.OutputIDs) under the same conditions; idStreams are the streams
	// that use it, which Run's sweep goroutine visits every OutputIDsInterval and flushIDs once it stops.
	ids       OutputIDs
	idMu      sync.Mutex
	idStreams []*Stream

	ran         atomic.Bool
	stopPublish chan struct{} // closed once the sources stopped: a stray Publish gets ErrStopped
	stopWorkers chan struct{} // closed once drained or the budget is spent
	abort       chan struct{} // closed by Abort: the drain budget is spent at once
	abortOnce   sync.Once

	closeMu  sync.RWMutex // settle holds it for reading; Run takes it to set finished
	finished bool         // Run is returning: late results are ignored
}

// New validates opts and builds a pipeline. Errors name the invalid setting: a negative limit, no outputs, an
// output without a name or sink, a duplicate name, a dead-letter output that does not exist, both a dead-letter
// sink and output, or dead-letter outputs forming a cycle.
func New(opts Options) (*Pipeline, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	log := opts.Logger.With().Str("component", "engine").Logger()
	p := &Pipeline{
		opts:        opts,
		log:         log,
		q:           queue{maxEvents: opts.Queue.MaxEvents, maxBytes: opts.Queue.MaxBytes},
		stopPublish: make(chan struct{}),
		stopWorkers: make(chan struct{}),
		abort:       make(chan struct{}),
	}
	maxEvents := opts.Batch.MaxEvents
	p.works.New = func() any {
		w := &work{}
		w.b.status = make([]Status, 0, maxEvents)
		w.b.errs = make([]error, 0, maxEvents)
		w.b.release = w.released
		return w
	}
	byName := make(map[string]*output, len(opts.Outputs))
	for i, oc := range opts.Outputs {
		o := p.newOutput(oc.Name, oc.Sink, oc.Retry)
		o.idx = i
		byName[oc.Name] = o
		p.outs = append(p.outs, o)
		p.outputNames = append(p.outputNames, oc.Name)
	}
	switch n := len(p.outs); {
	case (opts.OutputPositions == nil && opts.OutputIDs == nil) || n < 2:
	case n > maxTrackedOutputs:
		log.Warn().Int("outputs", n).Int("max", maxTrackedOutputs).
			Msg("too many outputs for per-output positions: after a restart every output receives what was not committed")
	default:
		p.positions, p.ids = opts.OutputPositions, opts.OutputIDs
	}
	p.all = append(p.all, p.outs...)
	for i, oc := range opts.Outputs {
		switch {
		case oc.DeadLetter != nil:
			dl := p.newOutput(oc.Name+".dead_letter", oc.DeadLetter, oc.Retry)
			dl.deadLetterOf = oc.Name
			p.outs[i].deadLetter = dl
			p.all = append(p.all, dl)
		case oc.DeadLetterOutput != "":
			p.outs[i].deadLetter = byName[oc.DeadLetterOutput]
		}
	}
	p.batch = newBatcher(opts.Batch, p.outs)
	return p, nil
}

func (p *Pipeline) newOutput(name string, sink Sink, retry RetryPolicy) *output {
	retry.Initial = orDefault(retry.Initial, DefaultRetryInitial)
	retry.Max = max(orDefault(retry.Max, DefaultRetryMax), retry.Initial)
	flusher, _ := sink.(Flusher)
	return &output{
		p:       p,
		idx:     -1,
		flusher: flusher,
		name:    name,
		sink:    sink,
		retry:   retry,
		log:     p.log.With().Str("output", name).Logger(),
		wake:    make(chan struct{}, 1),
	}
}

// Run runs the pipeline once: it starts the output workers, then every source's Run in its own goroutine. When
// ctx is cancelled, or every source returned nil (once mode), or a source failed, it stops the sources, cuts the
// last batch and drains: it waits until every queued event is done for every output, or until DrainTimeout after
// ctx was cancelled (or the source failed), when the outputs' Write contexts are cancelled and what was not
// delivered stays unacknowledged. Then it closes the sinks and returns, after every goroutine it started ended.
//
// It returns nil after a clean stop, the errors of failed sources (other than context cancellation) wrapped with
// the source, and the sinks' Close errors wrapped with the output, all joined. A second call returns ErrReused.
// Streams belong to the run that got their events: a source makes new streams for its next run, since a stream
// whose events were abandoned keeps waiting for them.
func (p *Pipeline) Run(ctx context.Context, sources []Source) error {
	if !p.ran.CompareAndSwap(false, true) {
		return ErrReused
	}
	// Writes outlive ctx by the drain budget: they get a context that ends when the budget is spent.
	writeCtx, spend := context.WithCancel(context.WithoutCancel(ctx))
	defer spend()

	var workers sync.WaitGroup
	for _, o := range p.all {
		workers.Go(func() { o.run(writeCtx, p.stopWorkers, p.stopPublish) })
	}
	var ager sync.WaitGroup
	ager.Go(p.batch.ageLoop)
	stopSweeps := make(chan struct{})
	var sweeper sync.WaitGroup
	if p.ids != nil {
		sweeper.Go(func() { p.sweepIDs(stopSweeps) })
	}

	failed := make(chan struct{}) // closed at the first source failure: the drain budget starts then
	returned := make(chan struct{})
	var budget sync.WaitGroup
	budget.Go(func() { p.spendBudget(ctx, failed, returned, spend) })

	errs := p.runSources(ctx, sources, failed)

	p.batch.stop()
	close(p.stopPublish)
	ager.Wait()
	if !p.q.waitEmpty(writeCtx) {
		events, bytes := p.q.depth()
		p.log.Warn().Int("events", events).Int64("bytes", bytes).Dur("drain_timeout", p.opts.DrainTimeout).
			Msg("drain budget spent: undelivered events stay unacknowledged")
	}
	close(p.stopWorkers)
	workers.Wait()

	p.closeMu.Lock()
	p.finished = true
	p.closeMu.Unlock()
	close(stopSweeps)
	sweeper.Wait()
	p.flushIDs()

	closeCtx := writeCtx
	if writeCtx.Err() != nil {
		// The drain budget is spent (an output was down): the outputs that kept up still close cleanly.
		var cancel context.CancelFunc
		closeCtx, cancel = context.WithTimeout(context.WithoutCancel(ctx), p.opts.CloseTimeout)
		defer cancel()
	}
	for _, o := range p.all {
		if err := o.sink.Close(closeCtx); err != nil {
			errs = append(errs, fmt.Errorf("close output %s: %w", o.name, err))
		}
	}
	close(returned)
	budget.Wait()
	return errors.Join(errs...)
}

// runSources runs every source in its own goroutine and waits until all returned. The first failure cancels the
// others and closes failed.
func (p *Pipeline) runSources(ctx context.Context, sources []Source, failed chan struct{}) []error {
	srcCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan error, len(sources))
	pub := (*publisher)(p)
	for i, s := range sources {
		go func() {
			err := s.Run(srcCtx, pub)
			if err != nil && !(errors.Is(err, context.Canceled) && srcCtx.Err() != nil) {
				err = fmt.Errorf("source %s: %w", sourceName(i, s), err)
			} else {
				err = nil
			}
			results <- err
		}()
	}
	var errs []error
	for range sources {
		if err := <-results; err != nil {
			if errs == nil {
				p.log.Warn().Err(err).Msg("source failed: draining and stopping the pipeline")
				close(failed)
				cancel()
			}
			errs = append(errs, err)
		}
	}
	return errs
}

// spendBudget cancels the writes DrainTimeout after ctx ended or a source failed, unless Run returned first.
func (p *Pipeline) spendBudget(ctx context.Context, failed, returned <-chan struct{}, spend func()) {
	select {
	case <-ctx.Done():
	case <-failed:
	case <-p.abort:
		spend()
		return
	case <-returned:
		return
	}
	t := time.NewTimer(p.opts.DrainTimeout)
	defer t.Stop()
	select {
	case <-t.C:
		spend()
	case <-p.abort:
		spend()
	case <-returned:
	}
}

// Abort ends the drain at once: the outputs' Write contexts are cancelled and what was not delivered stays
// unacknowledged (so it is never checkpointed). For an instance that must stop without delivering more, such as
// one fenced by another writer; cancel Run's ctx as well to stop the sources. Safe to call at any time, more than
// once.
func (p *Pipeline) Abort() {
	p.abortOnce.Do(func() { close(p.abort) })
}

func sourceName(i int, s Source) string {
	if n, ok := s.(fmt.Stringer); ok {
		return n.String()
	}
	return fmt.Sprintf("%d (%T)", i, s)
}

// publisher is the Pipeline seen by sources.
type publisher Pipeline

// Publish implements Publisher: it reserves queue room (blocking while the queue is full), then appends the
// events to the current batch. It returns ctx.Err() when ctx ends while waiting, and ErrStopped once the pipeline
// stopped taking events; events from the first one not queued on are not published.
func (pub *publisher) Publish(ctx context.Context, events []Event) error {
	p := (*Pipeline)(pub)
	if p.positions != nil || p.ids != nil {
		p.loadPositions(events)
	}
	for len(events) > 0 {
		n, err := p.q.acquire(ctx, p.stopPublish, events, p.batch.flush)
		if err != nil {
			return err
		}
		invalid, freed, ok := p.batch.add(events[:n])
		if !ok {
			p.q.release(n, p.sizeOf(events[:n]))
			return ErrStopped
		}
		p.queued(events[:n], invalid, freed)
		events = events[n:]
	}
	return nil
}

// queued gives back the room of the events of evs that add did not keep (invalid, and filtered ones acknowledged
// at once) and counts evs.
func (p *Pipeline) queued(evs []Event, invalid, freed room) {
	p.q.release(invalid.events+freed.events, invalid.bytes+freed.bytes)
	p.stats.acknowledged.Add(uint64(freed.events))
	if invalid.events > 0 {
		p.stats.invalid.Add(uint64(invalid.events))
		p.log.Warn().Int("events", invalid.events).Msg("events without a stream dropped")
	}
	var bytes int
	var in *Input
	var filtered uint64 // of input in, not counted yet
	for i := range evs {
		ev := &evs[i]
		bytes += len(ev.Message)
		if !ev.Filtered || ev.Stream == nil {
			continue
		}
		if ev.Stream.Input != in && filtered > 0 {
			p.filtered.add(in, filtered)
			filtered = 0
		}
		in = ev.Stream.Input
		filtered++
	}
	if filtered > 0 {
		p.filtered.add(in, filtered)
	}
	p.stats.eventsIn.Add(uint64(len(evs) - invalid.events))
	p.stats.bytesIn.Add(uint64(bytes))
}

// loadPositions gives every keyed stream of evs met for the first time its per-output positions (or, for a ByID
// stream, ids), before any of its events is queued. The store is read outside every lock; a stream's events come
// from one source goroutine, and the flag is checked again under the lock in case two raced. Once loaded, a
// stream costs one atomic load per run of its events in a Publish.
func (p *Pipeline) loadPositions(evs []Event) {
	var last *Stream
	for i := range evs {
		s := evs[i].Stream
		if s == nil || s == last || s.Key == "" {
			continue
		}
		last = s
		if s.track.loaded.Load() {
			continue
		}
		input := ""
		if s.Input != nil {
			input = s.Input.Name
		}
		if s.ByID {
			p.loadIDs(s, input)
			continue
		}
		if p.positions == nil {
			s.track.loaded.Store(true) // nothing to follow; a racing Publish stores the same
			continue
		}
		s.track.mu.Lock()
		key := cmp.Or(s.track.loadKey, s.Key)
		s.track.mu.Unlock()
		stored, err := p.positions.Load(input, key)
		if err != nil {
			p.log.Warn().Err(err).Str("input", input).Str("path", s.Path).
				Msg("per-output positions unreadable: every output receives the stream's uncommitted events")
			stored = nil
		}
		s.track.mu.Lock()
		if !s.track.loaded.Load() {
			s.track.outs = newOutputTrack(p.positions, input, key, p.outputNames, stored)
			if key != s.Key { // rekeyed before this first Publish: the stored positions move now
				s.track.outs.rekey(s.Key, s.track.acked, s.track.didAck)
			}
			s.track.loadKey = ""
			s.track.loaded.Store(true)
		}
		s.track.mu.Unlock()
	}
}

// loadIDs gives a ByID stream its stored ids, like loadPositions. Without OutputIDs it follows nothing: its
// positions must never be taken for per-output positions.
func (p *Pipeline) loadIDs(s *Stream, input string) {
	if p.ids == nil {
		s.track.loaded.Store(true)
		return
	}
	stored, err := p.ids.LoadIDs(input, s.Key)
	if err != nil {
		p.log.Warn().Err(err).Str("input", input).
			Msg("per-output event ids unreadable: every output receives the stream's uncommitted events")
		stored = nil
	}
	s.track.mu.Lock()
	if s.track.loaded.Load() {
		s.track.mu.Unlock()
		return
	}
	s.track.ids = newIDTrack(p.ids, input, s.Key, p.outputNames, stored)
	s.track.loaded.Store(true)
	s.track.mu.Unlock()
	p.idMu.Lock()
	p.idStreams = append(p.idStreams, s)
	p.idMu.Unlock()
}

// sweepIDs saves the ids of outputs ahead on every ByID stream each OutputIDsInterval (idTrack.sweep), until stop
// closes. Run owns it.
func (p *Pipeline) sweepIDs(stop <-chan struct{}) {
	tick := time.NewTicker(p.opts.OutputIDsInterval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		p.idMu.Lock()
		streams := p.idStreams[:len(p.idStreams):len(p.idStreams)] // appends after this go to a new array
		p.idMu.Unlock()
		for _, s := range streams {
			s.track.mu.Lock()
			s.track.ids.sweep(&s.track)
			s.track.mu.Unlock()
		}
	}
}

// flushIDs saves, on every ByID stream, the ids of outputs ahead that no sweep saved (idTrack.flush). Run calls
// it once no result is settled any more, before it returns, so the caller's final registry commit includes them.
func (p *Pipeline) flushIDs() {
	p.idMu.Lock()
	defer p.idMu.Unlock()
	for _, s := range p.idStreams {
		s.track.mu.Lock()
		s.track.ids.flush(&s.track)
		s.track.mu.Unlock()
	}
}

func (p *Pipeline) sizeOf(evs []Event) int64 {
	var s int64
	for i := range evs {
		s += evs[i].Size()
	}
	return s
}

// getWork takes a work item from the pool with events evs (nil for an item whose owned events follow).
func (p *Pipeline) getWork(evs []Event) *work {
	w := p.works.Get().(*work)
	w.setEvents(evs)
	return w
}

// setEvents points the batch at evs and sizes its result arrays.
func (w *work) setEvents(evs []Event) {
	w.b.Events = evs
	w.b.status = w.b.status[:len(evs)]
	w.b.errs = w.b.errs[:len(evs)]
}

// putWork recycles w once its results are settled, and its chunk once every output settled it.
func (p *Pipeline) putWork(w *work) {
	if c := w.chunk; c != nil && c.refs.Add(-1) == 0 {
		p.batch.putChunk(c)
	}
	clear(w.b.errs)
	clear(w.own)
	clear(w.rsn)
	w.own, w.rsn = w.own[:0], w.rsn[:0]
	w.b.Events, w.b.reasons = nil, nil
	w.chunk, w.out, w.origin, w.err = nil, nil, nil, nil
	p.works.Put(w)
}
