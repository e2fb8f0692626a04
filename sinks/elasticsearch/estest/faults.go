package estest

import (
	"bytes"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
)

// runtimeFaults are the modes a chaos harness switches while flicker runs, guarded by Server.mu.
type runtimeFaults struct {
	failAll      int           // answer every request this status; 0: off
	stall        bool          // hold every request until the mode changes or its client goes away
	itemFraction float64       // answer this fraction of items 429, drawn from itemRNG
	itemRNG      *rand.Rand    // seeded by FailItemFraction
	changed      chan struct{} // closed and replaced at every change: releases stalled requests
	stalled      int           // requests held now
}

// changeMode applies f to the runtime modes and releases the stalled requests, which are decided again.
func (e *Server) changeMode(f func(m *runtimeFaults)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f(&e.runtime)
	close(e.runtime.changed)
	e.runtime.changed = make(chan struct{})
}

// FailItemFraction answers a fraction p of the items 429 es_rejected_execution_exception, as a cluster whose
// write queue is full does, and indexes the others; 0 turns it off. The draws come from a generator seeded with
// seed, one per item in the order the items are applied: the same sequence of items fails the same way in
// every run. Items failed by FailItem or AlwaysFail take no draw.
func (e *Server) FailItemFraction(p float64, seed uint64) {
	e.changeMode(func(m *runtimeFaults) {
		m.itemFraction, m.itemRNG = p, rand.New(rand.NewPCG(seed, seed))
	})
}

// FailAll answers every request status with Elasticsearch's error body until told otherwise (Healthy, Stall, or
// FailAll(0)); it ends a Stall. Answers queued by FailRequests and AnswerNext come first.
func (e *Server) FailAll(status int) {
	e.changeMode(func(m *runtimeFaults) { m.failAll, m.stall = status, false })
}

// Stall holds every request, its body read, before any action runs, until the mode changes (then it is decided
// again) or its client goes away (then it ends without an answer). It ends a FailAll. Unlike HangAfter it
// indexes nothing.
func (e *Server) Stall() {
	e.changeMode(func(m *runtimeFaults) { m.failAll, m.stall = 0, true })
}

// Healthy ends FailAll, Stall and FailItemFraction; stalled requests proceed. Faults queued for chosen _ids or
// the next requests, and HangAfter, stay.
func (e *Server) Healthy() {
	e.changeMode(func(m *runtimeFaults) { m.failAll, m.stall, m.itemFraction = 0, false, 0 })
}

// Stalled is how many requests Stall holds now.
func (e *Server) Stalled() (n int) { e.locked(func() { n = e.runtime.stalled }); return n }

// Deliveries returns, for every "message", how many times a document holding it was answered 2xx: every
// delivery, also when a replay indexed the same _id again.
func (e *Server) Deliveries() (d map[string]int) {
	e.locked(func() { d = maps.Clone(e.deliveries) })
	return d
}

// runtimeFault returns the status FailAll answers (0: none), after waiting out a stall; ok is false when the
// client or the server went away while the request was stalled.
func (e *Server) runtimeFault(r *http.Request) (status int, ok bool) {
	read := false
	for {
		var stall bool
		var changed chan struct{}
		e.locked(func() {
			status, stall, changed = e.runtime.failAll, e.runtime.stall, e.runtime.changed
			if stall && status == 0 {
				e.runtime.stalled++
			}
		})
		if !stall || status != 0 {
			return status, true
		}
		if !read { // read the body first: only then does the server notice a client that went away
			body, err := io.ReadAll(r.Body)
			r.Body, read = io.NopCloser(bytes.NewReader(body)), true
			if err != nil {
				e.locked(func() { e.runtime.stalled-- })
				return 0, false
			}
		}
		select {
		case <-changed:
		case <-r.Context().Done():
		case <-e.release:
		}
		e.locked(func() { e.runtime.stalled-- })
		select {
		case <-r.Context().Done():
			return 0, false
		case <-e.release:
			return 0, false
		default:
		}
	}
}
