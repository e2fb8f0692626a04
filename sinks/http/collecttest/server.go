package collecttest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Server is an httptest server collecting the events the http output sends. See the package documentation.
type Server struct {
	srv      *httptest.Server
	onAccept func(msgs []string)
	onLost   func(msgs []string)
	refuse   func(msgs []string) string
	failWith func(n int) int
	closed   chan struct{} // closed at cleanup: stalled requests end without an answer

	requests atomic.Int64 // requests received

	mu       sync.Mutex
	mode     Mode
	rng      *rand.Rand    // FailFraction's draws
	changed  chan struct{} // closed and replaced at every mode change: releases stalled requests
	failNext []int         // statuses answered to the next requests, before the mode applies
	counts   map[string]int
	answers  map[int]int // requests answered, by status
	stalled  int         // requests held now
}

// Option configures a Server at Start.
type Option func(*Server)

// OnAccept sets a function called once per accepted request with its messages, in body order, before the 2xx
// is written. It may be called from several requests at once.
func OnAccept(f func(msgs []string)) Option { return func(s *Server) { s.onAccept = f } }

// OnReplyLost sets a function called after OnAccept for an accepted request whose client went away before its
// answer was written (a client that timed out): the client does not know the messages arrived and sends them
// again. It may be called from several requests at once.
func OnReplyLost(f func(msgs []string)) Option { return func(s *Server) { s.onLost = f } }

// Refuse sets a function that, given an otherwise accepted request's messages, returns a text to answer 400 with
// (the server refuses some event without saying which), or "" to accept.
func Refuse(f func(msgs []string) string) Option { return func(s *Server) { s.refuse = f } }

// FailWith sets a function called for every request with its number (from 1, in arrival order) after its body
// is read; a non-zero status it returns answers the request, before FailNext and the mode apply.
func FailWith(f func(n int) int) Option { return func(s *Server) { s.failWith = f } }

// Start starts a healthy collector on 127.0.0.1, closed at the test's cleanup.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{closed: make(chan struct{}), changed: make(chan struct{}), counts: map[string]int{},
		answers: map[int]int{}, mode: Mode{Kind: KindHealthy}}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	t.Cleanup(func() { close(s.closed) }) // runs first: Close waits for the stalled handlers
	return s
}

// URL is the collector's URL; it takes requests on every path.
func (s *Server) URL() string { return s.srv.URL }

// Count is how many times msg was accepted.
func (s *Server) Count(msg string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[msg]
}

// Total is how many events were accepted, duplicates included.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.counts {
		n += c
	}
	return n
}

// Messages returns how many times each message was accepted.
func (s *Server) Messages() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.counts)
}

// Requests is how many requests arrived, stalled ones included.
func (s *Server) Requests() int { return int(s.requests.Load()) }

// Answers returns how many requests were answered with each status.
func (s *Server) Answers() map[int]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.answers)
}

// Answered is how many requests were answered with status.
func (s *Server) Answered(status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answers[status]
}

// Stalled is how many requests are held now.
func (s *Server) Stalled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stalled
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(s.requests.Add(1))
	// Read the body before anything else: only then does the server notice a client that went away (a flicker
	// killed) and end the request's context, so that a stalled request ends with it.
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		s.answer(w, http.StatusBadRequest, fmt.Sprintf("read body: %v", err))
		return
	}
	var status int
	var retryAfter time.Duration
	ok := true
	if s.failWith != nil {
		status = s.failWith(n)
	}
	if status == 0 {
		status, retryAfter, ok = s.decide(r)
	}
	if !ok {
		// The client went away or the server closed while the request was stalled: drop the connection
		// without an answer (returning would answer 200).
		panic(http.ErrAbortHandler)
	}
	if status != 0 {
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
		}
		s.answer(w, status, "injected failure")
		return
	}
	msgs, err := messages(raw, r.Header)
	if err != nil {
		s.answer(w, http.StatusBadRequest, err.Error())
		return
	}
	if s.refuse != nil {
		if why := s.refuse(msgs); why != "" {
			s.answer(w, http.StatusBadRequest, why)
			return
		}
	}
	s.mu.Lock()
	for _, m := range msgs {
		s.counts[m]++
	}
	s.answers[http.StatusOK]++
	s.mu.Unlock()
	if s.onAccept != nil {
		s.onAccept(msgs)
	}
	w.WriteHeader(http.StatusOK)
	if s.onLost != nil && !answered(w, r) {
		s.onLost(msgs)
	}
}

// answered flushes the answer and reports whether its client was still there: the request's context ends when
// the client closes its connection (a timeout) while the handler runs.
func answered(w http.ResponseWriter, r *http.Request) bool {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	return r.Context().Err() == nil
}

// decide returns the status to answer under the current mode (0: accept) and, for 429, the Retry-After. A stall
// waits for the next mode change and decides again; ok is false when the client or the server went away first.
func (s *Server) decide(r *http.Request) (status int, retryAfter time.Duration, ok bool) {
	for {
		s.mu.Lock()
		if len(s.failNext) > 0 {
			status, s.failNext = s.failNext[0], s.failNext[1:]
			s.mu.Unlock()
			return status, 0, true
		}
		m, changed := s.mode, s.changed
		switch m.Kind {
		case KindFail:
			status = m.Status
		case KindTooMany:
			status, retryAfter = http.StatusTooManyRequests, m.RetryAfter
		case KindFailFraction:
			if s.rng.Float64() < m.Fraction {
				status = m.Status
			}
		case KindStall:
			s.stalled++
		}
		s.mu.Unlock()
		if m.Kind != KindStall {
			return status, retryAfter, true
		}
		select {
		case <-changed:
		case <-r.Context().Done():
		case <-s.closed:
		}
		s.mu.Lock()
		s.stalled--
		s.mu.Unlock()
		select {
		case <-r.Context().Done():
			return 0, 0, false
		case <-s.closed:
			return 0, 0, false
		default:
		}
	}
}

func (s *Server) answer(w http.ResponseWriter, status int, text string) {
	s.mu.Lock()
	s.answers[status]++
	s.mu.Unlock()
	http.Error(w, text, status)
}

// messages returns the "message" of every event of a body: NDJSON, or one JSON array when the Content-Type is
// application/json, gzip-compressed when the Content-Encoding says so.
func messages(raw []byte, h http.Header) ([]string, error) {
	var body io.Reader = bytes.NewReader(raw)
	if h.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		body = zr
	}
	type event struct {
		Message string `json:"message"`
	}
	var msgs []string
	if strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		var events []event
		if err := json.NewDecoder(body).Decode(&events); err != nil {
			return nil, fmt.Errorf("json array body: %w", err)
		}
		for _, ev := range events {
			msgs = append(msgs, ev.Message)
		}
		return msgs, nil
	}
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 8<<20)
	for n := 1; sc.Scan(); n++ {
		var ev event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("ndjson line %d: %w", n, err)
		}
		msgs = append(msgs, ev.Message)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("ndjson body: %w", err)
	}
	return msgs, nil
}
