package oktatest

import (
	"net/http"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sources/api/internal/emulator"
)

// LogsPath is the System Log endpoint's path.
const LogsPath = "/api/v1/logs"

// Defaults of Options.
const (
	DefaultRateLimit  = 600
	DefaultRateWindow = emulator.DefaultRateWindow
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

// sharedFaults are the scaffolding's faults that the Faults stand for.
var sharedFaults = [...]emulator.Fault{
	FaultServerError: emulator.FaultServerError,
	FaultForbidden:   emulator.FaultForbidden,
	FaultTruncated:   emulator.FaultTruncated,
	FaultNotArray:    emulator.FaultNotArray,
	FaultHTML:        emulator.FaultHTML,
	FaultReset:       emulator.FaultReset,
}

func (f Fault) shared() emulator.Fault {
	if f < 0 || int(f) >= len(sharedFaults) {
		return -1 // unknown to the scaffolding too: the page's body without its Link headers
	}
	return sharedFaults[f]
}

// controls promotes the methods of the scaffolding that Server exposes unchanged.
type controls = emulator.Controls

// Server is a running emulator. Besides its own methods it has those of the scaffolding it shares with
// apitest: Close stops the server, also in the middle of delayed responses (later requests fail to connect);
// Endpoint is URL + LogsPath; SetToken rotates the valid token; SetDelay changes Options.Delay for the
// following requests; RequestLog returns the path and query of every request so far, in arrival order.
type Server struct {
	URL string // base URL (http://127.0.0.1:port); the endpoint is URL + LogsPath
	controls

	opts Options
	core *emulator.Server[*event] // events in persistence order; event.seq is the position from 1
}

// Start runs an emulator on 127.0.0.1; it is closed in t.Cleanup.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.RateLimit <= 0 {
		opts.RateLimit = DefaultRateLimit
	}
	if opts.MaxLimit <= 0 {
		opts.MaxLimit = DefaultMaxLimit
	}
	if opts.LateBy <= 0 {
		opts.LateBy = DefaultLateBy
	}
	s := &Server{opts: opts}
	s.core = emulator.Start(t, emulator.Config{
		Path: LogsPath, Token: opts.Token, RateLimit: opts.RateLimit, RateWindow: opts.RateWindow,
		RateHeaders: true, FailEvery: opts.FailEvery, Delay: opts.Delay, Now: opts.Now,
		NotArray: []byte(`{"items":[],"message":"this is not a list of events"}`),
		Errors:   scaffoldErrors,
	}, emulator.API[*event]{Authorized: s.authorized, Page: s.page, ErrorBody: errorBody})
	s.controls = s.core.Controls()
	s.URL = s.core.URL()
	return s
}

// Add persists n new events now and returns their uuids in persistence order. They are published now, except
// every LateEvery-th event, published LateBy earlier. Events of one call share a published millisecond, as in a
// burst, so equal timestamps straddle page boundaries. Persistence time never goes back.
func (s *Server) Add(n int) []string {
	return s.core.Add(n, func(seq int, now time.Time) *event {
		published := now.Truncate(time.Millisecond)
		if s.opts.LateEvery > 0 && seq%s.opts.LateEvery == 0 {
			published = published.Add(-s.opts.LateBy)
		}
		return newEvent(int64(seq), published, now, s.opts.ItemPadding)
	})
}

// UUIDs returns the uuid of every event in persistence order.
func (s *Server) UUIDs() []string { return s.core.IDs() }

// Event returns the exact JSON the API serves for an event.
func (s *Server) Event(uuid string) ([]byte, bool) { return s.core.JSON(uuid) }

// Published returns an event's published time.
func (s *Server) Published(uuid string) (time.Time, bool) {
	e, ok := s.core.Lookup(uuid)
	if !ok {
		return time.Time{}, false
	}
	return e.published, true
}

// Inject makes the next n requests that are within budget and authorized answer with the fault.
func (s *Server) Inject(f Fault, n int) { s.core.Inject(f.shared(), n) }

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	st := s.core.Stats()
	return Stats{
		Requests: st.Requests, Pages: st.Pages, EmptyPages: st.EmptyPages, Events: st.Items,
		RateLimited: st.RateLimited, OverBudget: st.OverBudget, ServerErrors: st.ServerErrors,
		Unauthorized: st.Unauthorized, BadRequests: st.BadRequests, Faults: st.Faults,
		MaxRequestsPerWindow: st.MaxRequestsPerWindow,
	}
}

func (s *Server) authorized(header, token string) bool {
	if token == "" {
		return false
	}
	return header == "SSWS "+token || s.opts.Bearer && header == "Bearer "+token
}

// page answers a request that passed the rate limit, authentication and failures: the events of its query, with
// a self link and, while there is one, a next link.
func (s *Server) page(r *http.Request, now time.Time, events []*event) (emulator.Page, *emulator.Error) {
	q, apiErr := parseQuery(r.URL.Query(), now, s.opts.MaxLimit)
	if apiErr != nil {
		return emulator.Page{}, apiErr
	}
	page, next := q.page(events)
	self := s.URL + r.URL.RequestURI()
	links := []string{"<" + self + `>; rel="self"`}
	switch {
	case q.polling && len(page) == 0:
		links = append(links, "<"+self+`>; rel="next"`)
	case next != nil:
		v := r.URL.Query()
		if q.polling {
			v.Del("since")
		}
		v.Set("after", next.encode())
		links = append(links, "<"+s.URL+LogsPath+"?"+v.Encode()+`>; rel="next"`)
	}
	h := make(http.Header)
	if len(links) == 2 && s.opts.JoinLinks {
		h.Set("Link", links[0]+", "+links[1])
	} else {
		for _, l := range links {
			h.Add("Link", l)
		}
	}
	return emulator.Page{Body: emulator.AppendArray(nil, page), Items: len(page), Header: h}, nil
}
