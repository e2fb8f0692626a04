package collecttest

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Kinds of fault mode.
const (
	KindHealthy      = "healthy"       // accept every request
	KindFail         = "fail"          // answer every request Status
	KindTooMany      = "too_many"      // answer every request 429 with Retry-After: RetryAfter (whole seconds, rounded up)
	KindStall        = "stall"         // hold every request until the mode changes or its client goes away
	KindFailFraction = "fail_fraction" // answer a seeded Fraction of requests Status, accept the others
)

// Mode is the collector's fault mode.
type Mode struct {
	Kind       string
	Status     int           // KindFail, KindFailFraction
	RetryAfter time.Duration // KindTooMany
	Fraction   float64       // KindFailFraction
	Seed       uint64        // KindFailFraction
}

func (m Mode) String() string {
	switch m.Kind {
	case KindFail:
		return fmt.Sprintf("fail %d", m.Status)
	case KindTooMany:
		return fmt.Sprintf("429 retry-after %s", m.RetryAfter)
	case KindFailFraction:
		return fmt.Sprintf("fail %d for %.2f of requests (seed %d)", m.Status, m.Fraction, m.Seed)
	}
	return m.Kind
}

// Mode returns the current mode.
func (s *Server) Mode() Mode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mode
}

// setMode switches the mode and releases the stalled requests, which are decided again under m.
func (s *Server) setMode(m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
	if m.Kind == KindFailFraction {
		s.rng = rand.New(rand.NewPCG(m.Seed, m.Seed))
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// Healthy accepts every request from now on, stalled ones included.
func (s *Server) Healthy() { s.setMode(Mode{Kind: KindHealthy}) }

// Fail answers every request status (500, 503...) from now on.
func (s *Server) Fail(status int) { s.setMode(Mode{Kind: KindFail, Status: status}) }

// TooMany answers every request 429 with a Retry-After of retryAfter, as a rate-limited collector does.
func (s *Server) TooMany(retryAfter time.Duration) {
	s.setMode(Mode{Kind: KindTooMany, RetryAfter: retryAfter})
}

// Stall holds every request, its body read, until the mode changes (then it is answered under the new mode) or
// its client goes away (then it ends without an answer).
func (s *Server) Stall() { s.setMode(Mode{Kind: KindStall}) }

// FailFraction answers a fraction p of the requests status and accepts the others. The draws come from a
// generator seeded with seed: the n-th request decided in this mode fails or not the same way in every run.
func (s *Server) FailFraction(p float64, status int, seed uint64) {
	s.setMode(Mode{Kind: KindFailFraction, Status: status, Fraction: p, Seed: seed})
}

// FailNext answers the next n requests status, before the mode applies to the requests after them.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, status)
	}
}
