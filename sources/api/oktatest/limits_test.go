package oktatest_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sources/api/oktatest"
)

func TestRateLimitBudgetAnd429(t *testing.T) {
	clk := newClock()
	clk.Add(1500 * time.Millisecond) // mid-second: Reset must still be the window's end, rounded to the second
	srv := oktatest.Start(t, oktatest.Options{Token: token, Now: clk.Now, RateLimit: 3, RateWindow: 2 * time.Second})
	c := newClient(t)
	windowEnd := clk.Now().Truncate(2 * time.Second).Add(2 * time.Second).Unix()
	check := func(r reply, status, remaining int, reset int64) {
		t.Helper()
		if r.status != status {
			t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
		}
		h := r.header
		if h.Get("X-Rate-Limit-Limit") != "3" || h.Get("X-Rate-Limit-Remaining") != strconv.Itoa(remaining) ||
			h.Get("X-Rate-Limit-Reset") != strconv.FormatInt(reset, 10) {
			t.Fatalf("rate headers limit=%s remaining=%s reset=%s, want 3, %d, %d", h.Get("X-Rate-Limit-Limit"),
				h.Get("X-Rate-Limit-Remaining"), h.Get("X-Rate-Limit-Reset"), remaining, reset)
		}
	}
	for i := range 3 {
		check(c.get(srv.Endpoint()), 200, 2-i, windowEnd)
	}
	r := c.get(srv.Endpoint())
	check(r, 429, 0, windowEnd)
	if code := r.errorCode(t, 429); code != "E0000047" || !strings.Contains(string(r.body), "exceeded rate limit") {
		t.Fatalf("429 body %s", r.body)
	}
	if st := srv.Stats(); st.RateLimited != 1 || st.OverBudget != 0 {
		t.Fatalf("after one 429: %+v", st)
	}
	check(c.get(srv.Endpoint()), 429, 0, windowEnd) // hammering
	if st := srv.Stats(); st.RateLimited != 2 || st.OverBudget != 1 || st.MaxRequestsPerWindow != 5 {
		t.Fatalf("after hammering: %+v", st)
	}

	clk.Add(time.Unix(windowEnd, 0).Sub(clk.Now())) // exactly at Reset: a new window
	check(c.get(srv.Endpoint()), 200, 2, windowEnd+2)
	if st := srv.Stats(); st.Requests != 6 || st.Pages != 4 || st.MaxRequestsPerWindow != 5 {
		t.Fatalf("after the reset: %+v", st)
	}
}

func TestBadTokensAre401(t *testing.T) {
	srv := oktatest.Start(t, oktatest.Options{Token: token})
	c := newClient(t)
	for _, auth := range []string{"", "SSWS", "SSWS wrong", "Bearer " + token, "ssws " + token, token} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.Endpoint(), nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || resp.Header.Get("X-Rate-Limit-Remaining") == "" {
			t.Fatalf("Authorization %q: status %d, rate headers %v", auth, resp.StatusCode, resp.Header)
		}
	}
	if code := c.get(srv.Endpoint()).status; code != 200 {
		t.Fatalf("the valid token got %d", code)
	}
	srv.SetToken("rotated")
	r := c.get(srv.Endpoint())
	if code := r.errorCode(t, 401); code != "E0000011" {
		t.Fatalf("old token after rotation: %s", r.body)
	}
	c.token = "rotated"
	if code := c.get(srv.Endpoint()).status; code != 200 {
		t.Fatalf("the rotated token got %d", code)
	}
	if st := srv.Stats(); st.Unauthorized != 7 || st.Pages != 2 {
		t.Fatalf("stats %+v, want 7 unauthorized, 2 pages", st)
	}
}

func TestBearerTokenWhenEnabled(t *testing.T) {
	srv := oktatest.Start(t, oktatest.Options{Token: token, Bearer: true})
	c := newClient(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.Endpoint(), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("bearer token: status %d", resp.StatusCode)
	}
}

func TestFailEveryNthRequest(t *testing.T) {
	srv := oktatest.Start(t, oktatest.Options{Token: token, FailEvery: 3})
	srv.Add(1)
	c := newClient(t)
	for i := 1; i <= 9; i++ {
		r := c.get(srv.Endpoint())
		if i%3 == 0 {
			if code := r.errorCode(t, 500); code != "E0000009" {
				t.Fatalf("request %d: %s", i, r.body)
			}
			continue
		}
		if len(r.items(t)) != 1 {
			t.Fatalf("request %d: %s", i, r.body)
		}
	}
	if st := srv.Stats(); st.ServerErrors != 3 || st.Pages != 6 {
		t.Fatalf("stats %+v, want 3 server errors and 6 pages", st)
	}
}

func TestLinkHeaderFields(t *testing.T) {
	for _, joined := range []bool{false, true} {
		t.Run("joined="+strconv.FormatBool(joined), func(t *testing.T) {
			srv := oktatest.Start(t, oktatest.Options{Token: token, JoinLinks: joined})
			srv.Add(3)
			c := newClient(t)
			u := srv.Endpoint() + "?limit=2"
			r := c.get(u)
			fields := r.header.Values("Link")
			if want := map[bool]int{false: 2, true: 1}[joined]; len(fields) != want {
				t.Fatalf("%d Link fields %q, want %d", len(fields), fields, want)
			}
			if joined && !strings.Contains(fields[0], `rel="self", <`) {
				t.Fatalf("joined Link %q", fields[0])
			}
			if !strings.HasSuffix(fields[0], `>; rel="self"`) && !joined {
				t.Fatalf("first Link field %q is not the self link", fields[0])
			}
			links := r.links(t)
			if links["self"] != u || !strings.HasPrefix(links["next"], srv.Endpoint()+"?") {
				t.Fatalf("links %v", links)
			}
			if n := len(c.get(links["next"]).items(t)); n != 1 {
				t.Fatalf("second page has %d events, want 1", n)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	clk := newClock()
	srv := oktatest.Start(t, oktatest.Options{Token: token, Now: clk.Now, MaxLimit: 500})
	srv.Add(10)
	c := newClient(t)
	now := clk.Now()
	tests := []struct {
		name, query, code, summary string
	}{
		{"limit over the max", "limit=501", "E0000001", "'limit'"},
		{"negative limit", "limit=-1", "E0000001", "'limit'"},
		{"limit not a number", "limit=ten", "E0000001", "'limit'"},
		{"since not a date", "since=yesterday", "E0000001", "'since': The date format"},
		{"until not a date", "until=2026-13-01", "E0000001", "'until': The date format"},
		{"since too old", "since=" + now.Add(-181*24*time.Hour).Format(time.RFC3339), "E0000053", "over 180 days"},
		{"since and after", "since=" + now.Format(time.RFC3339) + "&after=cDE6MF8x", "E0000001", "'after'"},
		{"crafted after", "after=100", "E0000001", "'after'"},
		{"bad sortOrder", "sortOrder=UP", "E0000001", "'sortOrder'"},
		{"filter operator", `filter=display_message eqq "Create okta user"`, "E0000053",
			"Unrecognized attribute operator 'eqq' at position 16. Expected: eq,co,sw,pr,gt,ge,lt,le"},
		{"filter garbage", `filter=((eventType`, "E0000053", "Invalid filter"},
		{"filter unterminated", `filter=eventType eq "user`, "E0000053", "Invalid filter"},
		{"filter on published", `filter=published gt "2026-01-01"`, "E0000053", "published"},
		{"co on requestUri", `filter=debugContext.debugData.requestUri co "login"`, "E0000031", "not currently supported"},
		{"q keyword too long", "q=" + strings.Repeat("a", 41), "E0000001", "40 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			r := c.get(srv.Endpoint() + "?" + q.Encode())
			if code := r.errorCode(t, 400); code != tt.code || !strings.Contains(string(r.body), tt.summary) {
				t.Fatalf("got %s, want %s with %q", r.body, tt.code, tt.summary)
			}
		})
	}
	// The bounds themselves are fine; limit=0 is an empty page that still has a next link.
	for _, q := range []string{"limit=0", "limit=500"} {
		r := c.get(srv.Endpoint() + "?" + q)
		if _, ok := r.links(t)["next"]; !ok || len(r.items(t)) != map[string]int{"limit=0": 0, "limit=500": 10}[q] {
			t.Fatalf("%s: %s %v", q, r.body, r.header.Values("Link"))
		}
	}
}

func TestFilterAndQ(t *testing.T) {
	srv := oktatest.Start(t, oktatest.Options{Token: token})
	srv.Add(100)
	c := newClient(t)
	count := func(params url.Values, check func(item) bool) int {
		t.Helper()
		params.Set("limit", "1000")
		items := c.get(srv.Endpoint() + "?" + params.Encode()).items(t)
		for _, it := range items {
			if !check(it) {
				t.Fatalf("%v returned %+v", params, it)
			}
		}
		return len(items)
	}
	eq := count(url.Values{"filter": {`eventType eq "user.session.start"`}},
		func(it item) bool { return it.EventType == "user.session.start" })
	sw := count(url.Values{"filter": {`eventType sw "user."`}},
		func(it item) bool { return strings.HasPrefix(it.EventType, "user.") })
	both := count(url.Values{"filter": {`eventType eq "user.session.start" and outcome.result eq "FAILURE"`}},
		func(it item) bool { return it.EventType == "user.session.start" })
	or := count(url.Values{"filter": {`(eventType eq "user.session.start" or eventType eq "user.session.end")`}},
		func(it item) bool { return strings.HasPrefix(it.EventType, "user.session.") })
	target := count(url.Values{"filter": {`target.id pr`}}, func(item) bool { return true })
	q := count(url.Values{"q": {"LOGOUT okta"}}, func(it item) bool { return it.EventType == "user.session.end" })
	if eq != 10 || sw != 60 || both < 1 || both >= eq || or != 20 || target != 20 || q != 10 {
		t.Fatalf("eq=%d sw=%d and=%d or=%d target=%d q=%d, want 10, 60, 1..9, 20, 20, 10", eq, sw, both, or, target, q)
	}
}

func TestInjectedFaults(t *testing.T) {
	srv := oktatest.Start(t, oktatest.Options{Token: token})
	srv.Add(50)
	c := newClient(t)
	srv.Inject(oktatest.FaultTruncated, 1)
	srv.Inject(oktatest.FaultNotArray, 1)
	srv.Inject(oktatest.FaultHTML, 1)
	srv.Inject(oktatest.FaultForbidden, 1)
	srv.Inject(oktatest.FaultServerError, 1)
	srv.Inject(oktatest.FaultReset, 1)

	if r := c.get(srv.Endpoint()); r.status != 200 || len(r.body) < 100 || r.body[len(r.body)-1] == ']' {
		t.Fatalf("truncated: status %d, ends %q", r.status, r.body[max(0, len(r.body)-5):])
	}
	if r := c.get(srv.Endpoint()); r.status != 200 || r.body[0] != '{' {
		t.Fatalf("not an array: %d %s", r.status, r.body)
	}
	if r := c.get(srv.Endpoint()); r.status != 502 || !strings.Contains(string(r.body), "<html>") {
		t.Fatalf("html: %d %s", r.status, r.body)
	}
	if r := c.get(srv.Endpoint()); r.errorCode(t, 403) != "E0000006" {
		t.Fatalf("forbidden: %s", r.body)
	}
	if r := c.get(srv.Endpoint()); r.errorCode(t, 500) != "E0000009" {
		t.Fatalf("server error: %s", r.body)
	}
	if _, err := c.try(srv.Endpoint()); err == nil {
		t.Fatal("a connection reset mid-body read without error")
	}
	if n := len(c.get(srv.Endpoint()).items(t)); n != 50 {
		t.Fatalf("after the faults: %d events", n)
	}
	if st := srv.Stats(); st.Faults != 6 || st.ServerErrors != 1 || st.Pages != 1 {
		t.Fatalf("stats %+v, want 6 faults, 1 server error, 1 page", st)
	}
}

func TestDelayedResponses(t *testing.T) {
	srv := oktatest.Start(t, oktatest.Options{Token: token, Delay: time.Minute})
	c := newClient(t)
	c.http.Timeout = 50 * time.Millisecond
	if _, err := c.try(srv.Endpoint()); err == nil {
		t.Fatal("a response delayed a minute arrived within 50ms")
	}
	srv.SetDelay(0)
	c.http.Timeout = 30 * time.Second
	if r := c.get(srv.Endpoint()); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	// A delayed request in flight does not hold up Close.
	srv.SetDelay(time.Minute)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.try(srv.Endpoint())
	}()
	time.Sleep(20 * time.Millisecond)
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for a delayed response")
	}
	<-done
}
