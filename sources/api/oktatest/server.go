package oktatest

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// LogsPath is the System Log endpoint's path.
const LogsPath = "/api/v1/logs"

// Defaults of Options.
const (
	DefaultRateLimit  = 600
	DefaultRateWindow = time.Minute
	DefaultMaxLimit   = 1000
	DefaultLateBy     = 2 * time.Minute
)

// Options configure the emulated org. The zero value is a healthy org with the default rate limit.
type Options struct {
	Token       string        // the valid API token: "Authorization: SSWS <Token>"; anything else is a 401 E0000011
	Bearer      bool          // also accept "Authorization: Bearer <Token>" (an OAuth 2.0 access token)
	RateLimit   int           // requests allowed per window (X-Rate-Limit-Limit); default 600
	RateWindow  time.Duration // the window, rounded up to whole seconds; Reset is its end; default 60s
	MaxLimit    int           // the largest page (limit parameter); default 1000; the default limit is 100
	FailEvery   int           // every Nth request within budget and authorized answers 500 E0000009; 0 never
	Delay       time.Duration // every response is delayed this long (a slow server)
	JoinLinks   bool          // self and next in one comma-joined Link header; default separate header lines
	ItemPadding int           // bytes of padding in every event (debugContext.debugData.padding); 0 none
	LateEvery   int           // every Nth event is persisted LateBy after it was published; 0 never
	LateBy      time.Duration // how late a late event is; default 2m
	Now         func() time.Time
}

// Stats count what the emulator answered.
type Stats struct {
	Requests   int // every request
	Pages      int // 200 answers with a JSON array
	EmptyPages int // of which empty
	Events     int // events returned, repeats included

	RateLimited  int // 429 answered: the request came while the window's budget was spent
	OverBudget   int // requests after a 429 and before the window reset (a client hammering)
	ServerErrors int // 500 answered (FailEvery or Inject)
	Unauthorized int // 401 answered
	BadRequests  int // 400 answered
	Faults       int // injected faults answered, 500s included

	MaxRequestsPerWindow int // the most requests that arrived in one rate window, refused ones included
}

// Fault is a failure Server.Inject makes the next requests answer.
type Fault int

const (
	FaultServerError Fault = iota + 1 // 500 E0000009
	FaultForbidden                    // 403 E0000006, as for a token without okta.logs.read
	FaultTruncated                    // 200 with a JSON array cut in the middle
	FaultNotArray                     // 200 with a JSON object instead of an array
	FaultHTML                         // 502 with an HTML page, as from a proxy in front of the API
	FaultReset                        // the connection is closed in the middle of a 200 body
)

// Server is a running emulator.
type Server struct {
	URL string // base URL (http://127.0.0.1:port); the endpoint is URL + LogsPath

	opts    Options
	srv     *httptest.Server
	closing chan struct{}
	once    sync.Once

	mu       sync.Mutex
	token    string
	delay    time.Duration
	events   []*event // persistence order; events[i].seq == i+1
	byUUID   map[string]*event
	passed   int // requests within budget and authorized, for FailEvery
	faults   []Fault
	window   rateWindow
	stats    Stats
	log      []string  // request URIs in arrival order
	lastSeen time.Time // the latest persistence time: persistence time never goes back
}

// Start runs an emulator on 127.0.0.1; it is closed in t.Cleanup.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.RateLimit <= 0 {
		opts.RateLimit = DefaultRateLimit
	}
	if opts.RateWindow <= 0 {
		opts.RateWindow = DefaultRateWindow
	}
	opts.RateWindow = (opts.RateWindow + time.Second - 1).Truncate(time.Second)
	if opts.MaxLimit <= 0 {
		opts.MaxLimit = DefaultMaxLimit
	}
	if opts.LateBy <= 0 {
		opts.LateBy = DefaultLateBy
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:    opts,
		closing: make(chan struct{}),
		token:   opts.Token,
		delay:   opts.Delay,
		byUUID:  make(map[string]*event),
		window:  rateWindow{size: opts.RateWindow, limit: opts.RateLimit},
	}
	mux := http.NewServeMux()
	mux.HandleFunc(LogsPath, s.serveLogs)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.Close)
	return s
}

// Close stops the server, also in the middle of delayed responses. Later requests fail to connect.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// Endpoint is the System Log URL, URL + "/api/v1/logs".
func (s *Server) Endpoint() string { return s.URL + LogsPath }

// Add persists n new events now and returns their uuids in persistence order. They are published now, except
// every LateEvery-th event, published LateBy earlier. Events of one call share a published millisecond, as in a
// burst, so equal timestamps straddle page boundaries.
func (s *Server) Add(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now().UTC()
	if now.Before(s.lastSeen) {
		now = s.lastSeen
	}
	s.lastSeen = now
	uuids := make([]string, 0, n)
	for range n {
		seq := int64(len(s.events)) + 1
		published := now.Truncate(time.Millisecond)
		if s.opts.LateEvery > 0 && seq%int64(s.opts.LateEvery) == 0 {
			published = published.Add(-s.opts.LateBy)
		}
		id, body, attrs := newEvent(seq, published, s.opts.ItemPadding)
		e := &event{seq: seq, uuid: id, published: published, persisted: now, json: body, attrs: attrs}
		s.events = append(s.events, e)
		s.byUUID[id] = e
		uuids = append(uuids, id)
	}
	return uuids
}

// UUIDs returns the uuid of every event in persistence order.
func (s *Server) UUIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.events))
	for i, e := range s.events {
		out[i] = e.uuid
	}
	return out
}

// Event returns the exact JSON the API serves for an event.
func (s *Server) Event(uuid string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byUUID[uuid]
	if !ok {
		return nil, false
	}
	return e.json, true
}

// Published returns an event's published time.
func (s *Server) Published(uuid string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byUUID[uuid]
	if !ok {
		return time.Time{}, false
	}
	return e.published, true
}

// SetToken rotates the valid token.
func (s *Server) SetToken(tok string) {
	s.mu.Lock()
	s.token = tok
	s.mu.Unlock()
}

// SetDelay changes Options.Delay for the following requests.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Inject makes the next n requests that are within budget and authorized answer with the fault.
func (s *Server) Inject(f Fault, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, f)
	}
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.MaxRequestsPerWindow = s.window.max
	return st
}

// RequestLog returns the path and query of every request so far, in arrival order.
func (s *Server) RequestLog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// response is what a request gets, decided under the lock and written after the delay.
type response struct {
	err   *apiError
	fault Fault
	body  []byte
	links []string // "<url>; rel=..." values
}

func (s *Server) serveLogs(w http.ResponseWriter, r *http.Request) {
	resp, rate, delay := s.answer(r)
	h := w.Header()
	h.Set("X-Rate-Limit-Limit", strconv.Itoa(s.opts.RateLimit))
	h.Set("X-Rate-Limit-Remaining", strconv.Itoa(rate.remaining))
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(rate.reset, 10))
	if delay > 0 {
		timer := time.NewTimer(delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		}
	}
	if resp.err != nil {
		writeError(w, resp.err)
		return
	}
	switch resp.fault {
	case FaultTruncated:
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(resp.body[:len(resp.body)/2])
		return
	case FaultNotArray:
		writeJSON(w, []byte(`{"items":[],"message":"this is not a list of events"}`))
		return
	case FaultHTML:
		h.Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>\n"))
		return
	case FaultReset:
		resetMidBody(w, resp.body)
		return
	}
	if len(resp.links) == 2 && s.opts.JoinLinks {
		h.Set("Link", resp.links[0]+", "+resp.links[1])
	} else {
		for _, l := range resp.links {
			h.Add("Link", l)
		}
	}
	writeJSON(w, resp.body)
}

func writeJSON(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// resetMidBody announces the whole body, sends half of it and closes the connection.
func resetMidBody(w http.ResponseWriter, body []byte) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("oktatest: the response writer cannot be hijacked")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body[:len(body)/2])
	conn, _, err := hj.Hijack() // flushes what was written
	if err == nil {
		_ = conn.Close()
	}
}

// answer decides the response to r: rate limit, then authentication, then failures, then the query.
func (s *Server) answer(r *http.Request) (response, rateDecision, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	s.stats.Requests++
	s.log = append(s.log, r.URL.RequestURI())
	rate := s.window.take(now)
	delay := s.delay
	if !rate.allowed {
		s.stats.RateLimited++
		if rate.overBudget {
			s.stats.OverBudget++
		}
		return response{err: errRateLimited}, rate, delay
	}
	if !s.authorized(r.Header.Get("Authorization")) {
		s.stats.Unauthorized++
		return response{err: errInvalidToken}, rate, delay
	}
	s.passed++
	var fault Fault
	if len(s.faults) > 0 {
		fault, s.faults = s.faults[0], s.faults[1:]
		s.stats.Faults++
	} else if s.opts.FailEvery > 0 && s.passed%s.opts.FailEvery == 0 {
		fault = FaultServerError
	}
	switch fault {
	case FaultServerError:
		s.stats.ServerErrors++
		return response{err: errTooLong}, rate, delay
	case FaultForbidden:
		return response{err: errForbidden}, rate, delay
	}
	if r.Method != http.MethodGet {
		return response{err: errMethod}, rate, delay
	}
	q, apiErr := parseQuery(r.URL.Query(), now, s.opts.MaxLimit)
	if apiErr != nil {
		s.stats.BadRequests++
		return response{err: apiErr}, rate, delay
	}
	page, next := s.page(q)
	body := make([]byte, 0, s.pageSize(page))
	body = append(body, '[')
	for i, e := range page {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, e.json...)
	}
	body = append(body, ']')
	resp := response{fault: fault, body: body}
	if fault != 0 {
		return resp, rate, delay // a broken body: not a page
	}
	self := s.URL + r.URL.RequestURI()
	resp.links = []string{"<" + self + `>; rel="self"`}
	switch {
	case q.polling && len(page) == 0:
		resp.links = append(resp.links, "<"+self+`>; rel="next"`)
	case next != nil:
		v := r.URL.Query()
		if q.polling {
			v.Del("since")
		}
		v.Set("after", next.encode())
		resp.links = append(resp.links, "<"+s.URL+LogsPath+"?"+v.Encode()+`>; rel="next"`)
	}
	s.stats.Pages++
	s.stats.Events += len(page)
	if len(page) == 0 {
		s.stats.EmptyPages++
	}
	return resp, rate, delay
}

func (s *Server) authorized(header string) bool {
	if s.token == "" {
		return false
	}
	return header == "SSWS "+s.token || s.opts.Bearer && header == "Bearer "+s.token
}
