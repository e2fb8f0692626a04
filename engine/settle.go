package engine

import (
	"errors"
	"fmt"
)

// errNoReason stands for the reason of a sink that rejected an event with a nil error.
var errNoReason = errors.New("rejected without a reason")

// settle processes the results of a written batch: accepted events are done for the batch's origin output;
// retries are copied into a retry batch of this output; rejected events go to this output's dead letter, or,
// without one, are counted, logged and done. Then the work is recycled. It runs in the worker goroutine, or in
// the sink's goroutine that released a held batch.
func (o *output) settle(w *work) {
	p := o.p
	p.closeMu.RLock()
	defer p.closeMu.RUnlock()
	if p.finished {
		// Run has returned: the events stay unacknowledged, as promised to the caller.
		return
	}
	if err := w.b.asyncErr; err != nil && w.err == nil {
		// A SinkPool member failed after Write returned: the same as a Write error.
		w.err = err
		o.writeFailed(err, len(w.b.Events), true)
	}
	evs, status := w.b.Events, w.b.status
	var retries, rejects, accepted int
	var acceptedBytes int64
	for i := range evs {
		st := status[i]
		if st == unmarked {
			st = Accepted
			if w.err != nil {
				st = Retry
				w.b.errs[i] = w.err
			}
			status[i] = st
		}
		switch st {
		case Accepted:
			accepted++
			acceptedBytes += int64(len(evs[i].Message))
		case Retry:
			retries++
		default:
			status[i] = Rejected
			rejects++
		}
	}

	var retry *work
	if retries > 0 {
		retry = p.copyWork(w, Retry, nil)
		o.stats.retried.Add(uint64(retries))
	}
	target := o.deadLetter
	if rejects > 0 {
		o.stats.rejected.Add(uint64(rejects))
		if target != nil {
			target.push(p.copyWork(w, Rejected, o), false)
		} else {
			o.dropRejected(w)
		}
	}

	events, bytes := settleRun(evs, w.origin.idx, func(i int) bool {
		return status[i] == Accepted || (status[i] == Rejected && target == nil)
	})
	p.q.release(events, bytes)
	p.stats.acknowledged.Add(uint64(events))

	if w.kind == kindDeadLetter {
		o.stats.deadLetterIn.Add(uint64(accepted))
		w.origin.stats.deadLettered.Add(uint64(accepted))
	} else {
		o.stats.events.Add(uint64(accepted))
		o.stats.bytes.Add(uint64(acceptedBytes))
	}

	o.mu.Lock()
	if retries > 0 {
		o.streak++
	} else {
		o.streak = 0
	}
	o.mu.Unlock()
	if retry != nil {
		o.push(retry, true)
	}
	p.putWork(w)
}

// copyWork copies the events of w that have status st into a new work item with w's origin: a retry for w's
// output (kind unchanged for dead letters), or, when rejectedBy is set, a dead-letter batch whose reasons name
// the rejecting output.
func (p *Pipeline) copyWork(w *work, st Status, rejectedBy *output) *work {
	c := p.getWork(nil)
	c.origin = w.origin
	c.out = w.out
	c.kind = w.kind
	if c.kind == kindChunk {
		c.kind = kindRetry
	}
	if rejectedBy != nil {
		c.out = rejectedBy.deadLetter
		c.kind = kindDeadLetter
	}
	for i := range w.b.Events {
		if w.b.status[i] != st {
			continue
		}
		c.own = append(c.own, w.b.Events[i])
		switch {
		case rejectedBy != nil:
			reason := w.b.errs[i]
			if reason == nil {
				reason = errNoReason
			}
			c.rsn = append(c.rsn, fmt.Errorf("output %s: %w", rejectedBy.name, reason))
		case w.kind == kindDeadLetter:
			c.rsn = append(c.rsn, w.b.reasons[i])
		}
	}
	c.setEvents(c.own)
	if c.kind == kindDeadLetter {
		c.b.reasons = c.rsn
	}
	return c
}

// dropRejected counts and logs (rate-limited) the rejected events of w when this output has no dead letter: they
// are done.
func (o *output) dropRejected(w *work) {
	for i := range w.b.Events {
		if w.b.status[i] != Rejected {
			continue
		}
		o.stats.dropped.Add(1)
		ev := &w.b.Events[i]
		if f := ev.Stream.Dropped; f != nil {
			reason := w.b.errs[i]
			if reason == nil {
				reason = errNoReason
			}
			f(ev.Pos, fmt.Errorf("output %s: %w", o.name, reason))
		}
		ok, suppressed := o.dropLog.allow()
		if !ok {
			continue
		}
		input := ""
		if ev.Stream.Input != nil {
			input = ev.Stream.Input.Name
		}
		e := o.log.Warn().Err(w.b.errs[i]).Str("input", input).Str("path", ev.Stream.Path).
			Int64("offset", ev.Offset).Int64("suppressed", suppressed)
		if w.kind == kindDeadLetter {
			e = e.Str("dead_letter_of", w.origin.name).AnErr("reason", w.b.reasons[i])
		}
		e.Msg("event rejected and no dead letter configured: dropped")
	}
}
