package apitest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sources/api/internal/emulator"
)

// Defaults of both emulators.
const (
	DefaultPageSize    = 100
	DefaultMaxPageSize = 1000
	DefaultRateWindow  = emulator.DefaultRateWindow
	DefaultSinceParam  = "since"
)

// Stats count what an emulator answered: Requests, every request; Pages, EmptyPages and Items, the 200 answers
// with a page, those of them without items and the items in them, repeats included; RateLimited, the 429s;
// OverBudget, requests after a 429 and before the window's end (a client hammering); ServerErrors, the 500s
// (FailEvery or Inject); Unauthorized, the 401s; BadRequests, the 400s; Faults, injected faults answered, 500s
// included; MaxRequestsPerWindow, the most requests that arrived in one rate window, refused ones included.
type Stats emulator.Stats

// Fault is a failure Inject makes the next requests answer.
type Fault int

const (
	FaultServerError = Fault(emulator.FaultServerError) // 500 with the API's error body
	FaultTruncated   = Fault(emulator.FaultTruncated)   // 200 with the JSON body cut in the middle
	FaultNotArray    = Fault(emulator.FaultNotArray)    // 200 with JSON whose items are an object, not an array
	FaultHTML        = Fault(emulator.FaultHTML)        // 502 with an HTML page, as from a proxy
	FaultReset       = Fault(emulator.FaultReset)       // the connection is closed in the middle of a 200 body
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
	if s.maxPageSize <= 0 {
		s.maxPageSize = DefaultMaxPageSize
	}
	if s.pageSize <= 0 {
		s.pageSize = min(DefaultPageSize, s.maxPageSize)
	}
	if s.sinceParam == "" {
		s.sinceParam = DefaultSinceParam
	}
}

// item is one stored item; items are kept in the order they were added, which is also time order.
type item struct {
	emulator.Item
	time time.Time
}

// style is what differs between the emulators: the page format and the error bodies. page runs under the
// server's lock.
type style interface {
	// page answers a request that passed the rate limit, authentication and fault injection.
	page(s *server, r *http.Request, items []*item) (emulator.Page, *emulator.Error)
	// item renders the n-th item (n from 1).
	item(n int, id string, t time.Time, padding string) []byte
	errorBody(err *emulator.Error) []byte
}

// controls promotes the methods of the scaffolding that the servers expose unchanged.
type controls = emulator.Controls

// server is what both styles share: the scaffolding (items, rate limit, authentication, faults and
// statistics) and the parameters of pages. controls adds the methods the package documentation lists.
type server struct {
	controls
	core     *emulator.Server[*item]
	idPrefix string
	style    style
	set      settings
}

// start runs an emulator of style at path; ids of its items start with idPrefix.
func start(t testing.TB, path, idPrefix string, st style, set settings) *server {
	t.Helper()
	set.setDefaults()
	s := &server{idPrefix: idPrefix, style: st, set: set}
	s.core = emulator.Start(t, emulator.Config{
		Path: path, Token: set.token, RateLimit: set.rateLimit, RateWindow: set.rateWindow,
		RateHeaders: set.rateHeaders, RetryAfter: true, FailEvery: set.failEvery, Delay: set.delay, Now: set.now,
		NotArray: []byte(`{"items":{"0":{}},"value":{"0":{}},"has_more":false}`),
		Errors: emulator.Errors{
			RateLimited:      apiError(http.StatusTooManyRequests, "rate_limited", "too many requests"),
			Unauthorized:     apiError(http.StatusUnauthorized, "invalid_auth", "invalid or missing token"),
			Forbidden:        apiError(http.StatusForbidden, "forbidden", "the token may not read audit logs"),
			ServerError:      apiError(http.StatusInternalServerError, "internal_error", "internal server error"),
			MethodNotAllowed: apiError(http.StatusMethodNotAllowed, "method_not_allowed", "use GET"),
		},
	}, emulator.API[*item]{
		Authorized: func(header, token string) bool { return token == "" || header == "Bearer "+token },
		Page: func(r *http.Request, _ time.Time, items []*item) (emulator.Page, *emulator.Error) {
			return st.page(s, r, items)
		},
		ErrorBody: st.errorBody,
	})
	s.controls = s.core.Controls()
	return s
}

// Add adds n items now and returns their ids in order.
func (s *server) Add(n int) []string {
	return s.core.Add(n, func(seq int, now time.Time) *item {
		id := s.idPrefix + emulator.NewUUID()
		body := s.style.item(seq, id, now, emulator.RandomText(s.set.itemPadding))
		return &item{Item: emulator.Item{ID: id, JSON: body}, time: now}
	})
}

// IDs returns every item's id in order.
func (s *server) IDs() []string { return s.core.IDs() }

// Item returns the exact JSON the API serves for an item.
func (s *server) Item(id string) ([]byte, bool) { return s.core.JSON(id) }

// Inject makes the next n requests that are within budget and authorized answer with the fault.
func (s *server) Inject(f Fault, n int) { s.core.Inject(emulator.Fault(f), n) }

// Stats returns the counters so far.
func (s *server) Stats() Stats { return Stats(s.core.Stats()) }

// pageAt reads the page a request asks for: its size from sizeParam (default pageSize, at most maxPageSize)
// and its start from tok, a token tagged tag, or, without one, from the since parameter. It returns the
// page, the position after it and whether more items remain.
func (s *server) pageAt(r *http.Request, items []*item, sizeParam, tag, tok string, badToken *emulator.Error) (
	page []*item, end int, more bool, err *emulator.Error) {
	size, err := s.pageSize(r, sizeParam)
	if err != nil {
		return nil, 0, false, err
	}
	var pos int
	if tok != "" {
		p, ok := decodeToken(tag, tok)
		if !ok {
			return nil, 0, false, badToken
		}
		pos = min(p, len(items))
	} else if pos, err = s.startAfter(r, items); err != nil {
		return nil, 0, false, err
	}
	end = min(pos+size, len(items))
	return items[pos:end], end, end < len(items), nil
}

// pageSize reads the page size parameter: default pageSize, at most maxPageSize.
func (s *server) pageSize(r *http.Request, param string) (int, *emulator.Error) {
	v := r.URL.Query().Get(param)
	if v == "" {
		return s.set.pageSize, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > s.set.maxPageSize {
		return 0, apiError(http.StatusBadRequest, "invalid_limit",
			fmt.Sprintf("%s must be an integer between 1 and %d", param, s.set.maxPageSize))
	}
	return n, nil
}

// startAfter is the number of items the first request skips: those before the since parameter.
func (s *server) startAfter(r *http.Request, items []*item) (int, *emulator.Error) {
	v := r.URL.Query().Get(s.set.sinceParam)
	if v == "" {
		return 0, nil
	}
	since, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		secs, errUnix := strconv.ParseInt(v, 10, 64)
		if errUnix != nil {
			return 0, apiError(http.StatusBadRequest, "invalid_"+s.set.sinceParam,
				s.set.sinceParam+" must be an RFC 3339 time or Unix seconds")
		}
		since = time.Unix(secs, 0)
	}
	for i, it := range items {
		if !it.time.Before(since) {
			return i, nil
		}
	}
	return len(items), nil
}

// apiError is an error answer: a status, a machine code and a message, rendered by the style.
func apiError(status int, code, message string) *emulator.Error {
	return &emulator.Error{Status: status, Code: code, Message: message}
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

// mustMarshal renders an item or an error body, whose static types cannot fail to marshal.
func mustMarshal(v any) []byte {
	out, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("apitest: marshal: %v", err))
	}
	return out
}
