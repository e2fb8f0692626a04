package apitest

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Defaults of both emulators.
const (
	DefaultPageSize    = 100
	DefaultMaxPageSize = 1000
	DefaultRateWindow  = time.Minute
	DefaultSinceParam  = "since"
)

// Stats count what an emulator answered.
type Stats struct {
	Requests   int // every request
	Pages      int // 200 answers with a page
	EmptyPages int // of which without items
	Items      int // items returned, repeats included

	RateLimited  int // 429 answered
	OverBudget   int // requests after a 429 and before the window's end (a client hammering)
	ServerErrors int // 500 answered (FailEvery or Inject)
	Unauthorized int // 401 answered
	BadRequests  int // 400 answered
	Faults       int // injected faults answered, 500s included

	MaxRequestsPerWindow int // the most requests that arrived in one rate window, refused ones included
}

// Fault is a failure Inject makes the next requests answer.
type Fault int

const (
	FaultServerError Fault = iota + 1 // 500 with the API's error body
	FaultTruncated                    // 200 with the JSON body cut in the middle
	FaultNotArray                     // 200 with JSON whose items are an object, not an array
	FaultHTML                         // 502 with an HTML page, as from a proxy
	FaultReset                        // the connection is closed in the middle of a 200 body
)

// settings are the options both emulators share.
type settings struct {
	token       string
	rateLimit   int
	rateWindow  time.Duration
	rateHeaders bool
	failEvery   int
	delay       time.Duration
	itemPadding int
	pageSize    int
	maxPageSize int
	sinceParam  string
	now         func() time.Time
}

func (s *settings) setDefaults() {
	if s.rateWindow <= 0 {
		s.rateWindow = DefaultRateWindow
	}
	s.rateWindow = (s.rateWindow + time.Second - 1).Truncate(time.Second)
	if s.maxPageSize <= 0 {
		s.maxPageSize = DefaultMaxPageSize
	}
	if s.pageSize <= 0 {
		s.pageSize = min(DefaultPageSize, s.maxPageSize)
	}
	if s.sinceParam == "" {
		s.sinceParam = DefaultSinceParam
	}
	if s.now == nil {
		s.now = time.Now
	}
}

// item is one stored item; items are kept in the order they were added, which is also time order.
type item struct {
	seq  int // from 1
	id   string
	time time.Time
	json []byte
}

// style is what differs between the emulators: the page format and the error bodies. Its methods run under
// the emulator's lock.
type style interface {
	// page answers a request that passed the rate limit, authentication and fault injection.
	page(e *emulator, r *http.Request) (body []byte, items int, err *httpError)
	// item renders the n-th item (n from 1).
	item(n int, id string, t time.Time, padding string) []byte
	errorBody(err *httpError) []byte
}

// httpError is an error answer: a status, a machine code and a message, rendered by the style.
type httpError struct {
	status  int
	code    string
	message string
}

// emulator is the server both styles share: items, rate limit, authentication, faults and statistics.
type emulator struct {
	url      string
	path     string
	idPrefix string
	style    style
	set      settings
	srv      *httptest.Server
	closing  chan struct{}
	once     sync.Once

	mu     sync.Mutex
	token  string
	delay  time.Duration
	items  []*item
	byID   map[string]*item
	passed int
	faults []Fault
	window rateWindow
	stats  Stats
	log    []string // request URIs in arrival order
}

// start runs an emulator of style at path; ids of its items start with idPrefix.
func start(t testing.TB, path, idPrefix string, st style, set settings) *emulator {
	t.Helper()
	set.setDefaults()
	e := &emulator{
		path: path, idPrefix: idPrefix, style: st, set: set, closing: make(chan struct{}),
		token: set.token, delay: set.delay, byID: make(map[string]*item),
		window: rateWindow{size: set.rateWindow, limit: set.rateLimit},
	}
	mux := http.NewServeMux()
	mux.HandleFunc(path, e.serve)
	e.srv = httptest.NewServer(mux)
	e.url = e.srv.URL
	t.Cleanup(e.Close)
	return e
}

// Close stops the server, also in the middle of delayed responses.
func (e *emulator) Close() {
	e.once.Do(func() {
		close(e.closing)
		e.srv.CloseClientConnections()
		e.srv.Close()
	})
}

// Endpoint is the URL of the API's list operation.
func (e *emulator) Endpoint() string { return e.url + e.path }

// Add adds n items now and returns their ids in order.
func (e *emulator) Add(n int) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.set.now().UTC()
	if len(e.items) > 0 && now.Before(e.items[len(e.items)-1].time) {
		now = e.items[len(e.items)-1].time
	}
	ids := make([]string, 0, n)
	for range n {
		seq := len(e.items) + 1
		id := e.idPrefix + newID()
		var pad string
		if e.set.itemPadding > 0 {
			pad = randomText(e.set.itemPadding)
		}
		it := &item{seq: seq, id: id, time: now, json: e.style.item(seq, id, now, pad)}
		e.items = append(e.items, it)
		e.byID[id] = it
		ids = append(ids, id)
	}
	return ids
}

// IDs returns every item's id in order.
func (e *emulator) IDs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, len(e.items))
	for i, it := range e.items {
		out[i] = it.id
	}
	return out
}

// Item returns the exact JSON the API serves for an item.
func (e *emulator) Item(id string) ([]byte, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	it, ok := e.byID[id]
	if !ok {
		return nil, false
	}
	return it.json, true
}

// SetToken rotates the valid bearer token ("" accepts every request).
func (e *emulator) SetToken(tok string) {
	e.mu.Lock()
	e.token = tok
	e.mu.Unlock()
}

// SetDelay changes the delay of the following responses.
func (e *emulator) SetDelay(d time.Duration) {
	e.mu.Lock()
	e.delay = d
	e.mu.Unlock()
}

// Inject makes the next n requests that are within budget and authorized answer with the fault.
func (e *emulator) Inject(f Fault, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for range n {
		e.faults = append(e.faults, f)
	}
}

// Stats returns the counters so far.
func (e *emulator) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.stats
	st.MaxRequestsPerWindow = e.window.max
	return st
}

// RequestLog returns the path and query of every request so far, in arrival order.
func (e *emulator) RequestLog() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.log...)
}

// answer is decided under the lock and written after the delay.
type answer struct {
	err   *httpError
	fault Fault
	body  []byte
}

func (e *emulator) serve(w http.ResponseWriter, r *http.Request) {
	a, rate, now, delay := e.decide(r)
	h := w.Header()
	if e.set.rateHeaders && e.set.rateLimit > 0 {
		h.Set("X-Rate-Limit-Limit", strconv.Itoa(e.set.rateLimit))
		h.Set("X-Rate-Limit-Remaining", strconv.Itoa(rate.remaining))
		h.Set("X-Rate-Limit-Reset", strconv.FormatInt(rate.end.Unix(), 10))
	}
	if !rate.allowed {
		secs := int64((rate.end.Sub(now) + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	}
	if delay > 0 {
		timer := time.NewTimer(delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return
		case <-e.closing:
			return
		}
	}
	if a.err != nil {
		writeBody(w, a.err.status, e.style.errorBody(a.err))
		return
	}
	switch a.fault {
	case FaultTruncated:
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(a.body[:len(a.body)/2])
	case FaultNotArray:
		writeBody(w, http.StatusOK, []byte(`{"items":{"0":{}},"value":{"0":{}},"has_more":false}`))
	case FaultHTML:
		h.Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>\n"))
	case FaultReset:
		resetMidBody(w, a.body)
	default:
		writeBody(w, http.StatusOK, a.body)
	}
}

func (e *emulator) decide(r *http.Request) (answer, rateDecision, time.Time, time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.set.now()
	e.stats.Requests++
	e.log = append(e.log, r.URL.RequestURI())
	rate := e.window.take(now)
	if !rate.allowed {
		e.stats.RateLimited++
		if rate.overBudget {
			e.stats.OverBudget++
		}
		return answer{err: &httpError{http.StatusTooManyRequests, "rate_limited", "too many requests"}}, rate, now, e.delay
	}
	if e.token != "" && r.Header.Get("Authorization") != "Bearer "+e.token {
		e.stats.Unauthorized++
		return answer{err: &httpError{http.StatusUnauthorized, "invalid_auth", "invalid or missing token"}}, rate, now, e.delay
	}
	e.passed++
	var fault Fault
	if len(e.faults) > 0 {
		fault, e.faults = e.faults[0], e.faults[1:]
		e.stats.Faults++
	} else if e.set.failEvery > 0 && e.passed%e.set.failEvery == 0 {
		fault = FaultServerError
	}
	if fault == FaultServerError {
		e.stats.ServerErrors++
		return answer{err: &httpError{http.StatusInternalServerError, "internal_error", "internal server error"}}, rate, now, e.delay
	}
	if r.Method != http.MethodGet {
		return answer{err: &httpError{http.StatusMethodNotAllowed, "method_not_allowed", "use GET"}}, rate, now, e.delay
	}
	body, n, err := e.style.page(e, r)
	if err != nil {
		e.stats.BadRequests++
		return answer{err: err}, rate, now, e.delay
	}
	if fault != 0 {
		return answer{fault: fault, body: body}, rate, now, e.delay
	}
	e.stats.Pages++
	e.stats.Items += n
	if n == 0 {
		e.stats.EmptyPages++
	}
	return answer{body: body}, rate, now, e.delay
}

// pageSize reads the page size parameter: default pageSize, at most maxPageSize.
func (e *emulator) pageSize(r *http.Request, param string) (int, *httpError) {
	s := r.URL.Query().Get(param)
	if s == "" {
		return e.set.pageSize, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > e.set.maxPageSize {
		return 0, &httpError{http.StatusBadRequest, "invalid_limit",
			fmt.Sprintf("%s must be an integer between 1 and %d", param, e.set.maxPageSize)}
	}
	return n, nil
}

// startAfter is the number of items the first request skips: those before the since parameter.
func (e *emulator) startAfter(r *http.Request) (int, *httpError) {
	s := r.URL.Query().Get(e.set.sinceParam)
	if s == "" {
		return 0, nil
	}
	since, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		secs, errUnix := strconv.ParseInt(s, 10, 64)
		if errUnix != nil {
			return 0, &httpError{http.StatusBadRequest, "invalid_" + e.set.sinceParam,
				e.set.sinceParam + " must be an RFC 3339 time or Unix seconds"}
		}
		since = time.Unix(secs, 0)
	}
	for i, it := range e.items {
		if !it.time.Before(since) {
			return i, nil
		}
	}
	return len(e.items), nil
}

// after returns up to size items after position pos and whether more remain.
func (e *emulator) after(pos, size int) (page []*item, more bool) {
	pos = min(pos, len(e.items))
	end := min(pos+size, len(e.items))
	return e.items[pos:end], end < len(e.items)
}

// encodeToken is an opaque position: base64 of a tagged sequence number.
func encodeToken(tag string, pos int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(tag + ":" + strconv.Itoa(pos)))
}

func decodeToken(tag, tok string) (int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	s, ok := strings.CutPrefix(string(raw), tag+":")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}

func joinItems(buf []byte, page []*item) []byte {
	buf = append(buf, '[')
	for i, it := range page {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, it.json...)
	}
	return append(buf, ']')
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// resetMidBody announces the whole body, sends half of it and closes the connection.
func resetMidBody(w http.ResponseWriter, body []byte) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("apitest: the response writer cannot be hijacked")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body[:len(body)/2])
	if conn, _, err := hj.Hijack(); err == nil {
		_ = conn.Close()
	}
}

func newID() string {
	hi, lo := rand.Uint64(), rand.Uint64()
	hi = hi&^0xf000 | 0x4000
	lo = lo&^(0xc<<60) | 0x8<<60
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

func randomText(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		r := rand.Uint64()
		for j := i; j < i+8 && j < n; j++ {
			b[j] = letters[r%uint64(len(letters))]
			r >>= 8
		}
	}
	return string(b)
}
