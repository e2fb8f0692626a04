package apitest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/sources/api/apitest"
	"github.com/flickerlog/flicker/sources/api/internal/emulator"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// epoch starts the tests' clocks a quarter second into a rate window, so that Retry-After rounds up.
var epoch = time.Date(2026, 3, 4, 10, 0, 0, 250_000_000, time.UTC)

type reply struct {
	status int
	header http.Header
	body   []byte
}

func get(t *testing.T, u, bearer string) reply {
	t.Helper()
	r, err := try(t, u, bearer)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return r
}

func try(t *testing.T, u, bearer string) (reply, error) {
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		return reply{}, err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: body}, err
}

type cursorPage struct {
	Items []struct {
		ID        string `json:"id"`
		Timestamp string `json:"timestamp"`
	} `json:"items"`
	Meta struct {
		NextCursor *string `json:"next_cursor"`
	} `json:"response_metadata"`
	HasMore *bool `json:"has_more"`
}

func cursorPageOf(t *testing.T, r reply) (ids []string, next string, more bool) {
	t.Helper()
	var p cursorPage
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, &p); err != nil || p.Meta.NextCursor == nil || p.HasMore == nil {
		t.Fatalf("not a body-cursor page (%v): %.300s", err, r.body)
	}
	for _, it := range p.Items {
		if _, err := time.Parse(time.RFC3339Nano, it.Timestamp); err != nil || it.ID == "" {
			t.Fatalf("item %+v: %v", it, err)
		}
		ids = append(ids, it.ID)
	}
	return ids, *p.Meta.NextCursor, *p.HasMore
}

func TestBodyCursorPagesAndPolls(t *testing.T) {
	for _, slack := range []bool{false, true} {
		t.Run("EmptyCursorAtEnd="+strconv.FormatBool(slack), func(t *testing.T) {
			srv := apitest.StartBodyCursor(t, apitest.BodyCursorOptions{EmptyCursorAtEnd: slack})
			srv.Add(250)
			var got []string
			u := srv.Endpoint()
			var last string
			for page := 0; page < 3; page++ {
				ids, next, more := cursorPageOf(t, get(t, u, ""))
				got = append(got, ids...)
				if wantMore := page < 2; more != wantMore || len(ids) != []int{100, 100, 50}[page] {
					t.Fatalf("page %d: %d items, has_more %v", page, len(ids), more)
				}
				if next == "" && !(slack && page == 2) {
					t.Fatalf("page %d has an empty next_cursor", page)
				}
				if slack && page == 2 && next != "" {
					t.Fatalf("Slack style: the last page's next_cursor is %q", next)
				}
				if _, err := strconv.Atoi(next); err == nil && next != "" {
					t.Fatalf("cursor %q is a plain number", next)
				}
				last = u
				u = srv.Endpoint() + "?cursor=" + url.QueryEscape(next)
			}
			if !slices.Equal(got, srv.IDs()) {
				t.Fatal("pages did not return every item once in order")
			}
			more := srv.Add(3)
			if slack {
				// Without a cursor, the poller starts over from a time; re-requesting the last page repeats it.
				ids, _, _ := cursorPageOf(t, get(t, last, ""))
				if len(ids) != 53 || !slices.Equal(ids[50:], more) {
					t.Fatalf("re-request of the last page: %d items", len(ids))
				}
				return
			}
			ids, next, hasMore := cursorPageOf(t, get(t, u, ""))
			if !slices.Equal(ids, more) || hasMore || next == "" {
				t.Fatalf("polling the last cursor: %v (want %v), has_more %v, next %q", ids, more, hasMore, next)
			}
			ids, next2, _ := cursorPageOf(t, get(t, srv.Endpoint()+"?cursor="+url.QueryEscape(next), ""))
			if len(ids) != 0 || next2 != next {
				t.Fatalf("caught up: %d items, cursor %q, want the same %q", len(ids), next2, next)
			}
		})
	}
}

func TestSinceParam(t *testing.T) {
	clk := emulator.NewClock(epoch)
	srv := apitest.StartBodyCursor(t, apitest.BodyCursorOptions{Now: clk.Now, SinceParam: "oldest"})
	srv.Add(5)
	clk.Add(time.Hour)
	recent := srv.Add(4)
	for _, since := range []string{clk.Now().Add(-time.Minute).Format(time.RFC3339), strconv.FormatInt(clk.Now().Add(-time.Minute).Unix(), 10)} {
		ids, _, _ := cursorPageOf(t, get(t, srv.Endpoint()+"?oldest="+url.QueryEscape(since), ""))
		if !slices.Equal(ids, recent) {
			t.Fatalf("oldest=%s: %d items, want the 4 recent ones", since, len(ids))
		}
	}
	// Nothing yet after since: the cursor still points at the end, so later items come.
	ids, next, _ := cursorPageOf(t, get(t, srv.Endpoint()+"?oldest="+url.QueryEscape(clk.Now().Add(time.Minute).Format(time.RFC3339)), ""))
	later := srv.Add(2)
	ids2, _, _ := cursorPageOf(t, get(t, srv.Endpoint()+"?cursor="+next, ""))
	if len(ids) != 0 || !slices.Equal(ids2, later) {
		t.Fatalf("since in the future: %d items, then %v, want %v", len(ids), ids2, later)
	}
	if r := get(t, srv.Endpoint()+"?oldest=yesterday", ""); r.status != 400 {
		t.Fatalf("bad oldest: %d %s", r.status, r.body)
	}
}

type graphPage struct {
	Context string `json:"@odata.context"`
	Value   []struct {
		ID               string `json:"id"`
		ActivityDateTime string `json:"activityDateTime"`
	} `json:"value"`
	Next  string `json:"@odata.nextLink"`
	Delta string `json:"@odata.deltaLink"`
}

func graphPageOf(t *testing.T, r reply) (ids []string, p graphPage) {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, &p); err != nil || p.Context == "" || p.Value == nil {
		t.Fatalf("not a Graph page (%v): %.300s", err, r.body)
	}
	for _, it := range p.Value {
		if _, err := time.Parse(time.RFC3339Nano, it.ActivityDateTime); err != nil || !strings.HasPrefix(it.ID, "Directory_") {
			t.Fatalf("item %+v: %v", it, err)
		}
		ids = append(ids, it.ID)
	}
	return ids, p
}

func TestNextURLPagesAndPolls(t *testing.T) {
	srv := apitest.StartNextURL(t, apitest.NextURLOptions{Token: "graph-token", PageSize: 40})
	srv.Add(100)
	u := srv.Endpoint() + "?$top=40"
	var got []string
	var last string
	for page := 0; ; page++ {
		ids, p := graphPageOf(t, get(t, u, "graph-token"))
		got = append(got, ids...)
		if p.Next == "" {
			if page != 2 || len(ids) != 20 || p.Delta != "" {
				t.Fatalf("no nextLink on page %d with %d items (delta %q)", page, len(ids), p.Delta)
			}
			last = u
			break
		}
		if !strings.HasPrefix(p.Next, srv.Endpoint()+"?") || !strings.Contains(p.Next, "skiptoken") {
			t.Fatalf("nextLink %q", p.Next)
		}
		u = p.Next
	}
	if !slices.Equal(got, srv.IDs()) {
		t.Fatal("pages did not return every item once in order")
	}
	more := srv.Add(5)
	ids, p := graphPageOf(t, get(t, last, "graph-token"))
	if len(ids) != 25 || !slices.Equal(ids[20:], more) || p.Next != "" {
		t.Fatalf("re-request of the last page: %d items, next %q", len(ids), p.Next)
	}
	if r := get(t, srv.Endpoint()+"?$skiptoken=42", "graph-token"); r.status != 400 {
		t.Fatalf("crafted skiptoken: %d", r.status)
	}
}

func TestNextURLDeltaLink(t *testing.T) {
	srv := apitest.StartNextURL(t, apitest.NextURLOptions{DeltaLink: true})
	srv.Add(3)
	ids, p := graphPageOf(t, get(t, srv.Endpoint(), ""))
	if len(ids) != 3 || p.Next != "" || p.Delta == "" {
		t.Fatalf("%d items, next %q, delta %q", len(ids), p.Next, p.Delta)
	}
	more := srv.Add(2)
	ids, p2 := graphPageOf(t, get(t, p.Delta, ""))
	if !slices.Equal(ids, more) || p2.Delta == "" {
		t.Fatalf("delta: %v, want %v", ids, more)
	}
}

func TestAuthRateLimitAndFaults(t *testing.T) {
	clk := emulator.NewClock(epoch)
	srv := apitest.StartBodyCursor(t, apitest.BodyCursorOptions{Token: "tok", RateLimit: 4, RateWindow: 10 * time.Second,
		RateHeaders: true, Now: clk.Now})
	srv.Add(10)
	if r := get(t, srv.Endpoint(), "wrong"); r.status != 401 || !strings.Contains(string(r.body), `"ok":false`) {
		t.Fatalf("wrong token: %d %s", r.status, r.body)
	}
	srv.Inject(apitest.FaultServerError, 1)
	srv.Inject(apitest.FaultTruncated, 1)
	if r := get(t, srv.Endpoint(), "tok"); r.status != 500 {
		t.Fatalf("injected 500: %d", r.status)
	}
	if r := get(t, srv.Endpoint(), "tok"); r.status != 200 || json.Valid(r.body) {
		t.Fatalf("truncated: %d, valid JSON %v", r.status, json.Valid(r.body))
	}
	r := get(t, srv.Endpoint(), "tok")
	if r.status != 200 || r.header.Get("X-Rate-Limit-Remaining") != "0" {
		t.Fatalf("fourth request: %d, remaining %q", r.status, r.header.Get("X-Rate-Limit-Remaining"))
	}
	r = get(t, srv.Endpoint(), "tok")
	// The window is [10:00:00, 10:00:10); the clock is at 10:00:00.25: 10 s rounded up.
	if r.status != 429 || r.header.Get("Retry-After") != "10" {
		t.Fatalf("over budget: %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	get(t, srv.Endpoint(), "tok")
	clk.Add(10 * time.Second)
	if r := get(t, srv.Endpoint(), "tok"); r.status != 200 || r.header.Get("X-Rate-Limit-Remaining") != "3" {
		t.Fatalf("new window: %d remaining %q", r.status, r.header.Get("X-Rate-Limit-Remaining"))
	}
	st := srv.Stats()
	want := apitest.Stats{Requests: 7, Pages: 2, Items: 20, RateLimited: 2, OverBudget: 1, ServerErrors: 1,
		Unauthorized: 1, Faults: 2, MaxRequestsPerWindow: 6}
	if st != want {
		t.Fatalf("stats %+v, want %+v", st, want)
	}
}

func TestBrokenBodies(t *testing.T) {
	srv := apitest.StartNextURL(t, apitest.NextURLOptions{ItemPadding: 8 << 10})
	ids := srv.Add(3)
	srv.Inject(apitest.FaultNotArray, 1)
	srv.Inject(apitest.FaultHTML, 1)
	srv.Inject(apitest.FaultReset, 1)
	var obj map[string]any
	if r := get(t, srv.Endpoint(), ""); r.status != 200 || json.Unmarshal(r.body, &obj) != nil {
		t.Fatalf("not an array: %d %s", r.status, r.body)
	}
	if _, isArray := obj["value"].([]any); isArray {
		t.Fatal("FaultNotArray returned an array")
	}
	if r := get(t, srv.Endpoint(), ""); r.status != 502 {
		t.Fatalf("html: %d", r.status)
	}
	if _, err := try(t, srv.Endpoint(), ""); err == nil {
		t.Fatal("a reset mid-body read without error")
	}
	r := get(t, srv.Endpoint(), "")
	var p struct{ Value []json.RawMessage }
	if err := json.Unmarshal(r.body, &p); err != nil || len(p.Value) != 3 {
		t.Fatalf("after the faults: %v %d", err, len(p.Value))
	}
	for i, raw := range p.Value {
		want, _ := srv.Item(ids[i])
		if string(raw) != string(want) || len(raw) < 8<<10 {
			t.Fatalf("item %d: %d bytes, differs from Item", i, len(raw))
		}
	}
	if r := get(t, srv.Endpoint()+"?$top=1001", ""); r.status != 400 {
		t.Fatalf("$top over the max: %d", r.status)
	}
}

func TestSlowResponses(t *testing.T) {
	srv := apitest.StartBodyCursor(t, apitest.BodyCursorOptions{Delay: time.Minute})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 50 * time.Millisecond}
	if resp, err := c.Get(srv.Endpoint()); err == nil {
		resp.Body.Close()
		t.Fatal("a response delayed a minute arrived within 50ms")
	}
	srv.SetDelay(0)
	if r := get(t, srv.Endpoint(), ""); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
}
