package emulator

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// DefaultRateWindow is the rate window when Config.RateWindow is 0.
const DefaultRateWindow = time.Minute

// Config is what the scaffolding needs to know of an emulated API besides its pages.
type Config struct {
	Path        string           // the endpoint's path
	Token       string           // the valid token at the start; API.Authorized judges a header against it
	RateLimit   int              // requests per window; 0 unlimited
	RateWindow  time.Duration    // rounded up to whole seconds; default DefaultRateWindow
	RateHeaders bool             // X-Rate-Limit-Limit/Remaining/Reset on every response, with a RateLimit
	RetryAfter  bool             // Retry-After (whole seconds to the window's end, at least 1) on a 429
	FailEvery   int              // every Nth request within budget and authorized answers Errors.ServerError
	Delay       time.Duration    // every response is delayed this long
	NotArray    []byte           // the 200 body of FaultNotArray: JSON where the API has its array of items
	Errors      Errors           // the answers the scaffolding gives itself, in the API's words
	Now         func() time.Time // default time.Now
}

// API is what differs between emulated APIs. The server calls Authorized and Page with its lock held, so
// they may read the items but must not call the server; ErrorBody runs outside the lock, possibly
// concurrently.
type API[T Record] struct {
	// Authorized tells whether a request's Authorization header carries token, the valid token of the moment.
	Authorized func(header, token string) bool
	// Page answers a GET that passed the rate limit, the token check and fault injection. items are all items
	// in the order added; now is the clock's time. An error is answered as it is and counted as a bad request.
	Page func(r *http.Request, now time.Time, items []T) (Page, *Error)
	// ErrorBody renders an error answer.
	ErrorBody func(e *Error) []byte
}

// Page is a 200 answer with items.
type Page struct {
	Body   []byte
	Items  int         // the number of items in Body, for Stats
	Header http.Header // added to the response (a Link, say), but not to a broken body a Fault sends instead
}

// Error is an error answer, rendered by API.ErrorBody.
type Error struct {
	Status  int
	Code    string   // the API's machine-readable code
	Message string   // the API's human-readable summary
	Causes  []string // details, where the API lists them
}

// Errors are the error answers the scaffolding gives before a request reaches API.Page.
type Errors struct {
	RateLimited      *Error // 429: the window's budget is spent
	Unauthorized     *Error // 401: API.Authorized refused the header
	Forbidden        *Error // 403: FaultForbidden
	ServerError      *Error // 500: FaultServerError or Config.FailEvery
	MethodNotAllowed *Error // 405: not a GET
}

// Stats count what a server answered; the emulators' own Stats types are conversions or copies of it.
type Stats struct {
	Requests                 int // every request
	Pages, EmptyPages, Items int // 200 answers with a page, those of them without items, items in them
	RateLimited, OverBudget  int // 429 answered; requests after a 429 and before the window's end
	ServerErrors             int // 500 answered (FailEvery or Inject)
	Unauthorized             int // 401 answered
	BadRequests              int // errors of API.Page answered
	Faults                   int // injected faults answered, 500s included
	MaxRequestsPerWindow     int // the most requests that arrived in one rate window, refused ones included
}

// Controls are the methods of a Server that every emulator exposes unchanged. An emulator embeds Controls by
// value (through an unexported alias), which promotes them to its pointer type only, like its own methods.
type Controls struct{ s controlled }

// controlled is the part of a Server that Controls expose.
type controlled interface {
	Close()
	Endpoint() string
	SetToken(tok string)
	SetDelay(d time.Duration)
	RequestLog() []string
}

// Close is Server.Close.
func (c *Controls) Close() { c.s.Close() }

// Endpoint is Server.Endpoint.
func (c *Controls) Endpoint() string { return c.s.Endpoint() }

// SetToken is Server.SetToken.
func (c *Controls) SetToken(tok string) { c.s.SetToken(tok) }

// SetDelay is Server.SetDelay.
func (c *Controls) SetDelay(d time.Duration) { c.s.SetDelay(d) }

// RequestLog is Server.RequestLog.
func (c *Controls) RequestLog() []string { return c.s.RequestLog() }

// Server is a running emulated API. Its methods are safe for concurrent use.
type Server[T Record] struct {
	url     string
	cfg     Config
	api     API[T]
	srv     *httptest.Server
	closing chan struct{}
	once    sync.Once

	mu     sync.Mutex
	token  string
	delay  time.Duration
	items  []T
	byID   map[string]T
	latest time.Time // the time of the last Add: item times never go back
	passed int       // requests within budget and authorized, for FailEvery
	faults []Fault
	window rateWindow
	stats  Stats
	log    []string // request URIs in arrival order
}

// Start runs api on 127.0.0.1 at cfg.Path; the server is closed in t.Cleanup.
func Start[T Record](t testing.TB, cfg Config, api API[T]) *Server[T] {
	t.Helper()
	if cfg.RateWindow <= 0 {
		cfg.RateWindow = DefaultRateWindow
	}
	cfg.RateWindow = (cfg.RateWindow + time.Second - 1).Truncate(time.Second)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server[T]{
		cfg: cfg, api: api, closing: make(chan struct{}),
		token: cfg.Token, delay: cfg.Delay, byID: make(map[string]T),
		window: rateWindow{size: cfg.RateWindow, limit: cfg.RateLimit},
	}
	mux := http.NewServeMux()
	mux.HandleFunc(cfg.Path, s.serve)
	s.srv = httptest.NewServer(mux)
	s.url = s.srv.URL
	t.Cleanup(s.Close)
	return s
}

// Close stops the server, also in the middle of delayed responses. Later requests fail to connect.
func (s *Server[T]) Close() {
	s.once.Do(func() {
		close(s.closing)
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// Controls returns the controls of the server, for an emulator to embed.
func (s *Server[T]) Controls() Controls { return Controls{s} }

// URL is the server's base URL, http://127.0.0.1:port.
func (s *Server[T]) URL() string { return s.url }

// Endpoint is the URL of the API's list operation, URL + Config.Path.
func (s *Server[T]) Endpoint() string { return s.url + s.cfg.Path }

// Add stores n items made by build and returns their ids in order. build runs under the lock; it gets each
// item's sequence number (from 1) and the time of this call, which is the clock's but never before the time
// of the previous call.
func (s *Server[T]) Add(n int, build func(seq int, now time.Time) T) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now().UTC()
	if now.Before(s.latest) {
		now = s.latest
	}
	s.latest = now
	ids := make([]string, 0, n)
	for range n {
		it := build(len(s.items)+1, now)
		id := it.item().ID
		s.items = append(s.items, it)
		s.byID[id] = it
		ids = append(ids, id)
	}
	return ids
}

// IDs returns every item's id in order.
func (s *Server[T]) IDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.items))
	for i, it := range s.items {
		out[i] = it.item().ID
	}
	return out
}

// Lookup returns the item with the id.
func (s *Server[T]) Lookup(id string) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.byID[id]
	return it, ok
}

// JSON returns the exact JSON the API serves for the item with the id.
func (s *Server[T]) JSON(id string) ([]byte, bool) {
	it, ok := s.Lookup(id)
	if !ok {
		return nil, false
	}
	return it.item().JSON, true
}

// SetToken rotates the valid token.
func (s *Server[T]) SetToken(tok string) {
	s.mu.Lock()
	s.token = tok
	s.mu.Unlock()
}

// SetDelay changes the delay of the following responses.
func (s *Server[T]) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Inject makes the next n requests that are within budget and authorized answer with the fault.
func (s *Server[T]) Inject(f Fault, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, f)
	}
}

// Stats returns the counters so far.
func (s *Server[T]) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.MaxRequestsPerWindow = s.window.max
	return st
}

// RequestLog returns the path and query of every request so far, in arrival order.
func (s *Server[T]) RequestLog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}
