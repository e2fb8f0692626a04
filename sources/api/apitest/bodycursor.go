package apitest

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sources/api/internal/emulator"
)

// Names of the body-cursor API.
const (
	BodyCursorPath      = "/audit/v1/logs"
	BodyCursorParam     = "cursor"    // the query parameter that takes response_metadata.next_cursor
	BodyCursorLimit     = "limit"     // the page size parameter
	BodyCursorTimeField = "timestamp" // each item's RFC 3339 time
)

// BodyCursorOptions configure a body-cursor API. The zero value is an open API with 100 items per page.
type BodyCursorOptions struct {
	Token            string        // required as "Authorization: Bearer <Token>"; "" accepts every request
	RateLimit        int           // requests per window; 0 unlimited
	RateWindow       time.Duration // default 60s, rounded up to whole seconds
	RateHeaders      bool          // X-Rate-Limit-Limit/Remaining/Reset on every response (Retry-After on 429 always)
	FailEvery        int           // every Nth request within budget and authorized answers 500; 0 never
	Delay            time.Duration // every response is delayed this long
	ItemPadding      int           // bytes of padding in every item ("details"); 0 none
	PageSize         int           // the default limit; default 100
	MaxPageSize      int           // the largest limit; default 1000; over it: 400
	SinceParam       string        // the query parameter of the first request's start time; default "since"
	EmptyCursorAtEnd bool          // Slack: next_cursor is "" on the last page; default 1Password: always a cursor
	Now              func() time.Time
}

// BodyCursorServer is a running body-cursor API. Besides the methods listed, it has Close, Endpoint,
// SetToken, SetDelay and RequestLog (see the package documentation).
type BodyCursorServer struct {
	*server
	URL string
}

// StartBodyCursor runs a body-cursor API on 127.0.0.1; it is closed in t.Cleanup.
func StartBodyCursor(t testing.TB, opts BodyCursorOptions) *BodyCursorServer {
	t.Helper()
	s := start(t, BodyCursorPath, "", &bodyCursor{emptyAtEnd: opts.EmptyCursorAtEnd}, settings{
		token: opts.Token, rateLimit: opts.RateLimit, rateWindow: opts.RateWindow, rateHeaders: opts.RateHeaders,
		failEvery: opts.FailEvery, delay: opts.Delay, itemPadding: opts.ItemPadding, pageSize: opts.PageSize,
		maxPageSize: opts.MaxPageSize, sinceParam: opts.SinceParam, now: opts.Now,
	})
	return &BodyCursorServer{server: s, URL: s.core.URL()}
}

type bodyCursor struct{ emptyAtEnd bool }

func (b *bodyCursor) page(s *server, r *http.Request, items []*item) (emulator.Page, *emulator.Error) {
	page, end, more, err := s.pageAt(r, items, BodyCursorLimit, "c1", r.URL.Query().Get(BodyCursorParam),
		apiError(http.StatusBadRequest, "invalid_cursor", "the cursor is not valid"))
	if err != nil {
		return emulator.Page{}, err
	}
	next := encodeToken("c1", end)
	if !more && b.emptyAtEnd {
		next = ""
	}
	buf := emulator.AppendArray([]byte(`{"items":`), page)
	buf = fmt.Appendf(buf, `,"response_metadata":{"next_cursor":%q},"has_more":%t}`, next, more)
	return emulator.Page{Body: buf, Items: len(page)}, nil
}

var actions = []string{"signin", "signout", "vault.read", "item.update", "user.invite", "group.join"}

func (b *bodyCursor) item(n int, id string, t time.Time, padding string) []byte {
	v := struct {
		ID        string            `json:"id"`
		Timestamp string            `json:"timestamp"`
		Action    string            `json:"action"`
		Actor     map[string]string `json:"actor"`
		Object    map[string]string `json:"object"`
		Location  map[string]string `json:"location"`
		Details   string            `json:"details,omitempty"`
	}{
		ID: id, Timestamp: t.UTC().Format(time.RFC3339Nano), Action: actions[n%len(actions)],
		Actor:    map[string]string{"id": fmt.Sprintf("U%08d", n%53), "email": fmt.Sprintf("user%d@example.com", n%53)},
		Object:   map[string]string{"type": "vault", "id": fmt.Sprintf("V%06d", n%11)},
		Location: map[string]string{"ip": fmt.Sprintf("203.0.113.%d", n%250+1), "country": "CA"},
		Details:  padding,
	}
	return mustMarshal(v)
}

func (b *bodyCursor) errorBody(err *emulator.Error) []byte {
	return mustMarshal(map[string]any{"ok": false, "error": err.Code, "message": err.Message})
}
