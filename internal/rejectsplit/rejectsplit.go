// Package rejectsplit bounds what an output spends finding the events a server refuses. A server that answers
// a request of many events with 400 does not say which of them it refused, so the http and elasticsearch outputs
// split such a request in halves, recursively, until the events refused alone are isolated: only those are
// rejected, the others are delivered. Isolating k bad events among n costs about 2k*log2(n) requests; an endpoint
// that refuses everything (a misconfiguration) would cost 2n-1 requests per batch. Two bounds keep that in check:
//
//   - A batch spends at most BatchRequests requests on halves; a range still refused whole then is rejected whole.
//   - After RejectAllAfter requests in a row answered 400, none accepted in between, the endpoint is taken to
//     refuse everything: a 400 rejects its request whole, without splitting, until a request is accepted again or
//     RejectAllMemory has passed.
package rejectsplit

import (
	"fmt"
	"time"

	"github.com/rs/zerolog"
)

const (
	// BatchRequests caps the requests one batch spends on halves of requests answered 400: enough to isolate
	// about six bad events among 2,048.
	BatchRequests = 128
	// RejectAllAfter is how many requests answered 400 in a row, none accepted in between, make the endpoint
	// taken to refuse everything.
	RejectAllAfter = 128
	// RejectAllMemory is how long that conclusion holds before a 400 is split again, in case it was a run of bad
	// events rather than the endpoint.
	RejectAllMemory = time.Minute
)

// Budget tracks one sink's splitting. Its methods are called by the sink's Write only, one at a time.
type Budget struct {
	log       zerolog.Logger
	now       func() time.Time
	left      int       // requests the current batch may still spend on halves
	inARow    int       // requests answered 400 since one was accepted
	rejectAll time.Time // when inARow reached RejectAllAfter; zero when it has not
}

// New returns a Budget that logs on log when it concludes that the endpoint refuses everything.
func New(log zerolog.Logger) *Budget {
	return &Budget{log: log, now: time.Now, left: BatchRequests}
}

// StartBatch gives a new batch its BatchRequests.
func (b *Budget) StartBatch() { b.left = BatchRequests }

// Accepted records a request the server took (2xx): the endpoint does not refuse everything.
func (b *Budget) Accepted() { b.inARow, b.rejectAll = 0, time.Time{} }

// Refused records a request of events events answered 400 and reports whether to send its halves instead. When
// a request of several events is not to be split, whole says why, for the rejection reason of its events.
func (b *Budget) Refused(events int) (split bool, whole string) {
	b.inARow++
	refusesAll := b.refusesAll()
	switch {
	case events < 2:
		return false, ""
	case refusesAll:
		return false, fmt.Sprintf("not split: the server refused the last %d requests", b.inARow)
	case b.left < 2:
		return false, fmt.Sprintf("not split further: the batch spent its %d requests on halves", BatchRequests)
	}
	b.left -= 2
	return true, ""
}

// refusesAll reports whether the endpoint is taken to refuse everything, concluding it (once, logged) when
// RejectAllAfter requests in a row were refused, and dropping the conclusion after RejectAllMemory.
func (b *Budget) refusesAll() bool {
	if b.inARow < RejectAllAfter {
		return false
	}
	now := b.now()
	if b.rejectAll.IsZero() {
		b.rejectAll = now
		b.log.Warn().Int("refused_in_a_row", b.inARow).Dur("for", RejectAllMemory).
			Msg("the server refused every request (400): requests it refuses are no longer split to find the " +
				"bad events, all their events are rejected; check the output's url and format")
		return true
	}
	if now.Sub(b.rejectAll) < RejectAllMemory {
		return true
	}
	// Give splitting another chance: a run of bad events may have looked like a misconfiguration.
	b.inARow, b.rejectAll = 1, time.Time{}
	return false
}
