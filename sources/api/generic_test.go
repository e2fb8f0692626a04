package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/sources/api"
	"github.com/flickerlog/flicker/sources/api/apitest"
)

func bodyCursorConfig(t testing.TB, endpoint string) api.Config {
	return valid(t, api.Config{
		Name: "audit", Endpoint: endpoint, Auth: api.Auth{BearerToken: token},
		PollingFrequency: 20 * time.Millisecond,
		Pagination:       "body_cursor", CursorPath: "response_metadata.next_cursor",
		CursorParam: apitest.BodyCursorParam, HasMorePath: "has_more", ItemsPath: "items",
		TimePath: apitest.BodyCursorTimeField, SinceParam: apitest.DefaultSinceParam,
		Params: map[string]string{apitest.BodyCursorLimit: "200"},
	})
}

// Body cursors, both styles: a cursor always returned (1Password; kept and requested again later) and an empty
// cursor on the last page (Slack; the next walk starts from the last item time). Restarts deliver only what is
// new.
func TestGenericBodyCursor(t *testing.T) {
	for _, tt := range []struct {
		name       string
		emptyAtEnd bool
	}{{"cursor always", false}, {"empty cursor at the end", true}} {
		t.Run(tt.name, func(t *testing.T) {
			srv := apitest.StartBodyCursor(t, apitest.BodyCursorOptions{Token: token, EmptyCursorAtEnd: tt.emptyAtEnd})
			want := srv.Add(1100)
			cfg := bodyCursorConfig(t, srv.Endpoint())
			reg := newRegistry()
			src := newSource(t, reg, fastOptions(), zerolog.Nop(), cfg)
			first := &recordSink{}
			run := start(t, src, first)
			waitLen(t, first, 1100)
			want = append(want, srv.Add(150)...)
			waitLen(t, first, 1250)
			if err := run.stop(t); err != nil {
				t.Fatal(err)
			}
			want = append(want, srv.Add(60)...)
			second := &recordSink{}
			run = start(t, newSource(t, reg, fastOptions(), zerolog.Nop(), cfg), second)
			waitLen(t, second, 60)
			time.Sleep(100 * time.Millisecond)
			if err := run.stop(t); err != nil {
				t.Fatal(err)
			}
			checkOnce(t, want, append(first.ids(), second.ids()...))
			for _, g := range first.all()[:3] {
				item, _ := srv.Item(g.ID)
				if g.Message != string(item) || g.Time.IsZero() || time.Since(g.Time) > time.Minute {
					t.Fatalf("event %s: %.80s at %v", g.ID, g.Message, g.Time)
				}
			}
			if tt.emptyAtEnd {
				// Without a cursor at the end, the last page is requested again and its items skipped.
				if s := src.Stats(); s.Duplicates == 0 {
					t.Fatalf("no duplicates skipped: %+v", s)
				}
			}
			if st := srv.Stats(); st.Unauthorized != 0 || st.BadRequests != 0 {
				t.Fatalf("emulator stats %+v", st)
			}
		})
	}
}

// Next URL in the body (Microsoft Graph): the last page has no next link; its URL is requested again at the
// next poll and only new items are delivered.
func TestGenericNextURL(t *testing.T) {
	srv := apitest.StartNextURL(t, apitest.NextURLOptions{Token: token})
	want := srv.Add(450)
	cfg := valid(t, api.Config{
		Name: "graph", Endpoint: srv.Endpoint(), Auth: api.Auth{BearerToken: token},
		PollingFrequency: 20 * time.Millisecond, Pagination: "next_url", NextURLPath: apitest.NextURLLinkField,
		ItemsPath: "value", TimePath: apitest.NextURLTimeField,
		Params: map[string]string{apitest.NextURLLimit: "100"},
	})
	reg := newRegistry()
	src := newSource(t, reg, fastOptions(), zerolog.Nop(), cfg)
	sink := &recordSink{}
	run := start(t, src, sink)
	waitLen(t, sink, 450)
	want = append(want, srv.Add(120)...)
	waitLen(t, sink, 570)
	time.Sleep(100 * time.Millisecond)
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
	checkOnce(t, want, sink.ids())
	if s := src.Stats(); s.Duplicates == 0 {
		t.Fatalf("the last page was not read again: %+v", s)
	}
	g := sink.all()[0]
	if item, _ := srv.Item(g.ID); g.Message != string(item) {
		t.Fatalf("message %.80s is not the item as served", g.Message)
	}
	c, _ := reg.get("graph")
	if !strings.Contains(c.Next, "skiptoken") {
		t.Fatalf("saved cursor %q is not the last page's URL", c.Next)
	}
}

// An API that sends no rate headers but answers 429 with Retry-After is waited out, not hammered.
func TestGenericRetryAfter(t *testing.T) {
	srv := apitest.StartBodyCursor(t, apitest.BodyCursorOptions{Token: token, RateLimit: 3, RateWindow: time.Second,
		PageSize: 50})
	want := srv.Add(400)
	cfg := bodyCursorConfig(t, srv.Endpoint())
	cfg.Params = map[string]string{apitest.BodyCursorLimit: "50"}
	src := newSource(t, newRegistry(), fastOptions(), zerolog.Nop(), cfg)
	sink := shipAll(t, src, 400)
	checkOnce(t, want, sink.ids())
	st := srv.Stats()
	if st.RateLimited == 0 || st.OverBudget != 0 {
		t.Fatalf("emulator: %d rate limited, %d over budget: want 429s waited out", st.RateLimited, st.OverBudget)
	}
	if s := src.Stats(); s.RateLimitWaits != uint64(st.RateLimited) {
		t.Fatalf("source counted %d waits for %d 429s", s.RateLimitWaits, st.RateLimited)
	}
}

// Generic malformed answers: items_path not an array, a cut body; the cursor stays and nothing is lost.
func TestGenericMalformedBodies(t *testing.T) {
	srv := apitest.StartNextURL(t, apitest.NextURLOptions{Token: token, FailEvery: 5})
	want := srv.Add(300)
	srv.Inject(apitest.FaultNotArray, 1)
	srv.Inject(apitest.FaultTruncated, 1)
	srv.Inject(apitest.FaultReset, 1)
	cfg := valid(t, api.Config{
		Name: "graph", Endpoint: srv.Endpoint(), Auth: api.Auth{BearerToken: token},
		PollingFrequency: 20 * time.Millisecond, Pagination: "next_url", NextURLPath: apitest.NextURLLinkField,
		ItemsPath: "value", TimePath: apitest.NextURLTimeField,
	})
	src := newSource(t, newRegistry(), fastOptions(), zerolog.Nop(), cfg)
	sink := shipAll(t, src, 300)
	checkOnce(t, want, sink.ids())
	if s := src.Stats(); s.MalformedBodies < 2 || s.ServerErrors == 0 {
		t.Fatalf("stats %+v", s)
	}
}

// Link header (GitHub's audit log, the generic default): rel="next" while more follows, none on the last page,
// whose URL is requested again at the next poll; a restart delivers only what is new.
func TestGenericLinkHeader(t *testing.T) {
	srv := apitest.StartLinkHeader(t, apitest.LinkHeaderOptions{Token: token})
	want := srv.Add(230)
	cfg := valid(t, api.Config{
		Name: "github", Endpoint: srv.Endpoint(), Auth: api.Auth{BearerToken: token},
		PollingFrequency: 20 * time.Millisecond, IDPath: apitest.LinkHeaderIDField,
		TimePath: apitest.LinkHeaderTimeField,
		Params:   map[string]string{apitest.LinkHeaderOrder: "asc", apitest.LinkHeaderLimit: "50"},
	})
	if cfg.Pagination != api.PaginationLinkHeader {
		t.Fatalf("default pagination %q, want link_header", cfg.Pagination)
	}
	reg := newRegistry()
	src := newSource(t, reg, fastOptions(), zerolog.Nop(), cfg)
	first := &recordSink{}
	run := start(t, src, first)
	waitLen(t, first, 230)
	want = append(want, srv.Add(35)...) // the last page (30 of 50) fills up and gets a next link
	waitLen(t, first, 265)
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
	if s := src.Stats(); s.Duplicates == 0 {
		t.Fatalf("the last page was not requested again: %+v", s)
	}
	c, _ := reg.get("github")
	if !strings.Contains(c.Next, "after=") {
		t.Fatalf("saved cursor %q is not a page URL with an after cursor", c.Next)
	}
	want = append(want, srv.Add(40)...)
	second := &recordSink{}
	run = start(t, newSource(t, reg, fastOptions(), zerolog.Nop(), cfg), second)
	waitLen(t, second, 40)
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
	checkOnce(t, want, append(first.ids(), second.ids()...))
	g := first.all()[0]
	var served struct {
		Millis int64 `json:"@timestamp"`
	}
	item, _ := srv.Item(g.ID)
	if g.Message != string(item) || json.Unmarshal(item, &served) != nil || g.Time.UnixMilli() != served.Millis {
		t.Fatalf("event %s: %.80s at %v", g.ID, g.Message, g.Time)
	}
	if st := srv.Stats(); st.Unauthorized != 0 || st.BadRequests != 0 {
		t.Fatalf("emulator stats %+v", st)
	}
}
