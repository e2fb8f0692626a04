package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/sources/api/internal/emulator"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type thing struct {
	emulator.Item
	seq int
	at  time.Time
}

// startList runs an API whose page is every item, with a Link header; ?bad is a bad request.
func startList(t *testing.T, cfg emulator.Config) *emulator.Server[*thing] {
	cfg.Path = "/list"
	e := func(status int, code string) *emulator.Error { return &emulator.Error{Status: status, Code: code} }
	cfg.Errors = emulator.Errors{RateLimited: e(429, "limited"), Unauthorized: e(401, "who"),
		Forbidden: e(403, "forbidden"), ServerError: e(500, "oops"), MethodNotAllowed: e(405, "get")}
	return emulator.Start(t, cfg, emulator.API[*thing]{
		Authorized: func(header, token string) bool { return header == "Key "+token },
		Page: func(r *http.Request, _ time.Time, items []*thing) (emulator.Page, *emulator.Error) {
			if r.URL.Query().Has("bad") {
				return emulator.Page{}, e(400, "bad")
			}
			return emulator.Page{Body: emulator.AppendArray(nil, items), Items: len(items),
				Header: http.Header{"Link": {"<next>"}}}, nil
		},
		ErrorBody: func(err *emulator.Error) []byte { return []byte(`{"code":"` + err.Code + `"}`) },
	})
}

func addThings(s *emulator.Server[*thing], n int) []string {
	return s.Add(n, func(seq int, now time.Time) *thing {
		id := "t" + strconv.Itoa(seq)
		return &thing{Item: emulator.Item{ID: id, JSON: []byte(`{"id":"` + id + `"}`)}, seq: seq, at: now}
	})
}

// call makes one request with its own connection; key "" sends no Authorization.
func call(t *testing.T, method, url, key string) (status int, header http.Header, body []byte, err error) {
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Key "+key)
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body, err
}

func mustCall(t *testing.T, method, url, key string) (int, http.Header, []byte) {
	t.Helper()
	status, header, body, err := call(t, method, url, key)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return status, header, body
}

// epoch, the tests' start, is a quarter second into a rate window, so that Retry-After rounds up.
var epoch = time.Date(2026, 3, 4, 10, 0, 0, 250_000_000, time.UTC)

func TestAddKeepsOrderAndTime(t *testing.T) {
	clk := emulator.NewClock(epoch)
	s := startList(t, emulator.Config{Now: clk.Now})
	first := addThings(s, 2)
	clk.Add(-time.Hour) // a clock that goes back does not take item times with it
	second := addThings(s, 1)
	if want := []string{"t1", "t2", "t3"}; !slices.Equal(s.IDs(), want) || !slices.Equal(append(first, second...), want) {
		t.Fatalf("ids %v, added %v %v, want %v", s.IDs(), first, second, want)
	}
	for _, id := range s.IDs() {
		it, ok := s.Lookup(id)
		if !ok || it.ID != id || !it.at.Equal(epoch) {
			t.Fatalf("lookup %s: %+v %v, want the item at %v", id, it, ok, epoch)
		}
	}
	if body, ok := s.JSON("t2"); !ok || string(body) != `{"id":"t2"}` {
		t.Fatalf("JSON(t2) = %s %v", body, ok)
	}
	if _, ok := s.JSON("t9"); ok {
		t.Fatal("JSON of a missing id")
	}
}

func TestRateLimitComesBeforeTheToken(t *testing.T) {
	clk := emulator.NewClock(epoch)
	s := startList(t, emulator.Config{Token: "k", RateLimit: 2, RateWindow: 10 * time.Second, RateHeaders: true,
		RetryAfter: true, Now: clk.Now})
	addThings(s, 3)
	for i, want := range []int{401, 401, 429, 429} {
		status, h, body := mustCall(t, http.MethodGet, s.Endpoint(), "wrong")
		if status != want || h.Get("X-Rate-Limit-Limit") != "2" || h.Get("X-Rate-Limit-Remaining") != strconv.Itoa(max(1-i, 0)) ||
			h.Get("X-Rate-Limit-Reset") != strconv.FormatInt(epoch.Truncate(10*time.Second).Add(10*time.Second).Unix(), 10) {
			t.Fatalf("request %d: %d %v %s, want %d", i, status, h, body, want)
		}
		if retry := h.Get("Retry-After"); (want == 429) != (retry == "10") {
			t.Fatalf("request %d: status %d with Retry-After %q", i, status, retry)
		}
	}
	clk.Add(10 * time.Second)
	status, h, body := mustCall(t, http.MethodGet, s.Endpoint(), "k")
	var ids []struct{ ID string }
	if status != 200 || json.Unmarshal(body, &ids) != nil || len(ids) != 3 || h.Get("Link") != "<next>" ||
		h.Get("X-Rate-Limit-Remaining") != "1" {
		t.Fatalf("next window: %d %v %s", status, h, body)
	}
	want := emulator.Stats{Requests: 5, Pages: 1, Items: 3, RateLimited: 2, OverBudget: 1, Unauthorized: 2,
		MaxRequestsPerWindow: 4}
	if st := s.Stats(); st != want {
		t.Fatalf("stats %+v, want %+v", st, want)
	}
	if log := s.RequestLog(); len(log) != 5 || log[0] != "/list" {
		t.Fatalf("request log %v", log)
	}
}

func TestFaultsComeAfterTheToken(t *testing.T) {
	s := startList(t, emulator.Config{Token: "k", FailEvery: 3, NotArray: []byte(`{}`)})
	addThings(s, 2)
	s.Inject(emulator.FaultForbidden, 1)
	steps := []struct {
		method, query, key string
		inject             emulator.Fault
		status             int
		code               string // of the error body; "" a page
	}{
		{http.MethodGet, "", "wrong", 0, 401, "who"},               // refused before the fault queue
		{http.MethodGet, "", "k", 0, 403, "forbidden"},             // the injected fault (1st authorized)
		{http.MethodGet, "", "k", 0, 200, ""},                      // 2nd
		{http.MethodGet, "", "k", 0, 500, "oops"},                  // FailEvery (3rd)
		{http.MethodGet, "?bad", "k", 0, 400, "bad"},               // API.Page's error (4th)
		{http.MethodPost, "", "k", 0, 405, "get"},                  // before API.Page (5th)
		{http.MethodGet, "", "k", emulator.FaultNotArray, 200, ""}, // an injected fault instead of FailEvery (6th)
	}
	for i, step := range steps {
		if step.inject != 0 {
			s.Inject(step.inject, 1)
		}
		status, h, body := mustCall(t, step.method, s.Endpoint()+step.query, step.key)
		var e struct{ Code string }
		if status != step.status || step.code != "" && (json.Unmarshal(body, &e) != nil || e.Code != step.code) {
			t.Fatalf("step %d: %d %s, want %d %q", i, status, body, step.status, step.code)
		}
		if step.inject != 0 && (string(body) != "{}" || h.Get("Link") != "") {
			t.Fatalf("step %d: FaultNotArray sent %s with Link %q", i, body, h.Get("Link"))
		}
	}
	want := emulator.Stats{Requests: 7, Pages: 1, Items: 2, ServerErrors: 1, Unauthorized: 1, BadRequests: 1,
		Faults: 2, MaxRequestsPerWindow: 7}
	if st := s.Stats(); st != want {
		t.Fatalf("stats %+v, want %+v", st, want)
	}
}

func TestCloseEndsADelayedResponse(t *testing.T) {
	s := startList(t, emulator.Config{})
	addThings(s, 1)
	s.SetDelay(time.Hour)
	type result struct {
		body []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		_, _, body, err := call(t, http.MethodGet, s.Endpoint(), "")
		done <- result{body, err}
	}()
	for deadline := time.Now().Add(10 * time.Second); len(s.RequestLog()) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the request did not arrive")
		}
	}
	s.Close()
	select {
	case r := <-done:
		// The handler gives up without an answer: the client sees the connection closed or an empty body.
		if r.err == nil && len(r.body) > 0 {
			t.Fatalf("a request cut by Close got a page: %s", r.body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the delayed response")
	}
}
