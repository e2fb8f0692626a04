package apitest

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sources/api/internal/emulator"
)

// Names of the Link-header API.
const (
	LinkHeaderPath      = "/orgs/acme/audit-log"
	LinkHeaderIDField   = "_document_id"
	LinkHeaderTimeField = "@timestamp" // milliseconds since the Unix epoch, as GitHub writes it
	LinkHeaderLimit     = "per_page"
	LinkHeaderOrder     = "order" // only "asc" is served: polling needs pages in time order
	afterParam          = "after"
)

// LinkHeaderOptions configure a Link-header API. The zero value is an open API with 30 items per page.
type LinkHeaderOptions struct {
	Token       string        // required as "Authorization: Bearer <Token>"; "" accepts every request
	RateLimit   int           // requests per window; 0 unlimited
	RateWindow  time.Duration // default 60s, rounded up to whole seconds
	RateHeaders bool          // X-Rate-Limit-Limit/Remaining/Reset on every response (Retry-After on 429 always)
	FailEvery   int           // every Nth request within budget and authorized answers 500; 0 never
	Delay       time.Duration // every response is delayed this long
	ItemPadding int           // bytes of padding in every item ("business"); 0 none
	PageSize    int           // the default per_page; default 30
	MaxPageSize int           // the largest per_page; default 100; over it: 400
	SinceParam  string        // the query parameter of the first request's start time; default "since"
	Now         func() time.Time
}

// LinkHeaderServer is a running Link-header API. Besides the methods listed, it has Close, Endpoint,
// SetToken, SetDelay and RequestLog (see the package documentation).
type LinkHeaderServer struct {
	*server
	URL string
}

// StartLinkHeader runs a Link-header API on 127.0.0.1; it is closed in t.Cleanup.
func StartLinkHeader(t testing.TB, opts LinkHeaderOptions) *LinkHeaderServer {
	t.Helper()
	if opts.PageSize <= 0 {
		opts.PageSize = 30
	}
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = 100
	}
	s := start(t, LinkHeaderPath, "", linkHeader{}, settings{
		token: opts.Token, rateLimit: opts.RateLimit, rateWindow: opts.RateWindow, rateHeaders: opts.RateHeaders,
		failEvery: opts.FailEvery, delay: opts.Delay, itemPadding: opts.ItemPadding, pageSize: opts.PageSize,
		maxPageSize: opts.MaxPageSize, sinceParam: opts.SinceParam, now: opts.Now,
	})
	return &LinkHeaderServer{server: s, URL: s.core.URL()}
}

type linkHeader struct{}

// page answers a JSON array and, as GitHub does, a Link header with rel="first" always and rel="next" only while
// more items follow: the last page has no next link, so a poller must keep the URL of the last page it read.
func (linkHeader) page(s *server, r *http.Request, items []*item) (emulator.Page, *emulator.Error) {
	q := r.URL.Query()
	if o := q.Get(LinkHeaderOrder); o != "asc" {
		return emulator.Page{}, apiError(http.StatusUnprocessableEntity, "invalid_order",
			fmt.Sprintf("order is %q: this emulator serves order=asc only", o))
	}
	page, end, more, err := s.pageAt(r, items, LinkHeaderLimit, "g1", q.Get(afterParam),
		apiError(http.StatusUnprocessableEntity, "invalid_cursor", "the after cursor is not valid"))
	if err != nil {
		return emulator.Page{}, err
	}
	first := q
	first.Del(afterParam)
	first.Del(s.set.sinceParam)
	links := fmt.Sprintf(`<%s?%s>; rel="first"`, s.Endpoint(), first.Encode())
	if more {
		next := q
		next.Del(s.set.sinceParam)
		next.Set(afterParam, encodeToken("g1", end))
		links = fmt.Sprintf(`<%s?%s>; rel="next", %s`, s.Endpoint(), next.Encode(), links)
	}
	return emulator.Page{Body: emulator.AppendArray(nil, page), Items: len(page),
		Header: http.Header{"Link": {links}}}, nil
}

var githubActions = []string{"repo.create", "team.add_member", "org.invite_member", "repo.access", "hook.create"}

func (linkHeader) item(n int, id string, t time.Time, padding string) []byte {
	v := struct {
		Timestamp  int64  `json:"@timestamp"`
		DocumentID string `json:"_document_id"`
		Action     string `json:"action"`
		Actor      string `json:"actor"`
		Org        string `json:"org"`
		Repo       string `json:"repo,omitempty"`
		CreatedAt  int64  `json:"created_at"`
		Business   string `json:"business,omitempty"`
	}{
		Timestamp: t.UnixMilli(), DocumentID: id, Action: githubActions[n%len(githubActions)],
		Actor: fmt.Sprintf("octocat%d", n%17), Org: "acme", Repo: fmt.Sprintf("acme/repo%d", n%7),
		CreatedAt: t.UnixMilli(), Business: padding,
	}
	return mustMarshal(v)
}

func (linkHeader) errorBody(err *emulator.Error) []byte {
	return mustMarshal(map[string]any{"message": err.Message,
		"documentation_url": "https://docs.github.com/rest/orgs/orgs#get-the-audit-log-for-an-organization"})
}
