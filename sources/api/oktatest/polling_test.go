package oktatest_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sources/api/oktatest"
)

func since(t time.Time) string { return url.QueryEscape(t.Format(time.RFC3339)) }

func TestPollingFollowsNextLinksOverEveryEvent(t *testing.T) {
	clk := newClock()
	srv := oktatest.Start(t, oktatest.Options{Token: token, Now: clk.Now})
	c := newClient(t)
	start := clk.Now().Add(-time.Hour)
	for range 5 { // events persisted over time, in bursts
		srv.Add(500)
		clk.Add(time.Second)
	}

	var got []string
	u := srv.Endpoint() + "?limit=1000&since=" + since(start)
	for page := 0; ; page++ {
		if page > 10 {
			t.Fatal("more than 10 pages for 2500 events")
		}
		r := c.get(u)
		items := r.items(t)
		links := r.links(t)
		if links["self"] != u {
			t.Fatalf("self link %q, want the request %q", links["self"], u)
		}
		next, ok := links["next"]
		if !ok {
			t.Fatalf("polling page %d without a next link", page)
		}
		if len(items) == 0 {
			if next != links["self"] {
				t.Fatalf("empty page: next %q != self %q", next, links["self"])
			}
			break
		}
		if want := min(1000, 2500-len(got)); len(items) != want {
			t.Fatalf("page %d has %d events, want %d", page, len(items), want)
		}
		checkOpaqueAfter(t, next, len(got)+len(items))
		got = append(got, uuidsOf(items)...)
		u = next
	}
	if !slices.Equal(got, srv.UUIDs()) {
		t.Fatalf("got %d events, not every event once in persistence order", len(got))
	}
	st := srv.Stats()
	if st.Pages != 4 || st.EmptyPages != 1 || st.Events != 2500 || st.Requests != 4 {
		t.Fatalf("stats %+v, want 4 pages (1 empty), 2500 events, 4 requests", st)
	}
}

// checkOpaqueAfter fails when the cursor is something a client could build: an index or a count.
func checkOpaqueAfter(t *testing.T, next string, delivered int) {
	t.Helper()
	u, err := url.Parse(next)
	if err != nil {
		t.Fatal(err)
	}
	after := u.Query().Get("after")
	if after == "" {
		t.Fatalf("next link %q has no after cursor", next)
	}
	if _, err := strconv.Atoi(after); err == nil || after == strconv.Itoa(delivered) {
		t.Fatalf("after cursor %q is a plain number", after)
	}
	if u.Query().Has("since") {
		t.Fatalf("polling next link %q keeps since next to after", next)
	}
}

func TestEmptyPollingPageRepeatsItsSelfLink(t *testing.T) {
	srv := oktatest.Start(t, oktatest.Options{Token: token})
	c := newClient(t)
	u := srv.Endpoint() + "?limit=10"
	r := c.get(u)
	if n := len(r.items(t)); n != 0 {
		t.Fatalf("%d events from an empty org", n)
	}
	if l := r.links(t); l["next"] != u || l["self"] != u {
		t.Fatalf("links %v, want next == self == %s", l, u)
	}

	// The same link later returns what was persisted since: the stream is infinite.
	want := srv.Add(3)
	r = c.get(u)
	if got := uuidsOf(r.items(t)); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	next := r.links(t)["next"]
	if next == u {
		t.Fatal("a page with events returned its self link as next")
	}
	r = c.get(next)
	if l := r.links(t); len(r.items(t)) != 0 || l["next"] != next {
		t.Fatalf("empty page after the cursor: %d events, links %v", len(r.items(t)), l)
	}
	more := srv.Add(2)
	if got := uuidsOf(c.get(next).items(t)); !slices.Equal(got, more) {
		t.Fatalf("after the cursor: got %v, want %v", got, more)
	}
	if log := srv.RequestLog(); len(log) != 4 || log[0] != oktatest.LogsPath+"?limit=10" || log[1] != log[0] || log[2] != log[3] {
		t.Fatalf("request log %q", log)
	}
}

func TestPollingDefaultsLimitAndSince(t *testing.T) {
	clk := newClock()
	srv := oktatest.Start(t, oktatest.Options{Token: token, Now: clk.Now})
	c := newClient(t)
	old := srv.Add(5)
	clk.Add(8 * 24 * time.Hour) // older than the default since (7 days)
	recent := srv.Add(250)
	r := c.get(srv.Endpoint())
	got := uuidsOf(r.items(t))
	if len(got) != 100 || !slices.Equal(got, recent[:100]) {
		t.Fatalf("default page: %d events (first %v), want the first 100 recent ones", len(got), got[:min(1, len(got))])
	}
	if slices.Contains(got, old[0]) {
		t.Fatal("an event persisted 8 days ago was returned without since")
	}
}

func TestLateEventsComeAfterTheCursor(t *testing.T) {
	clk := newClock()
	srv := oktatest.Start(t, oktatest.Options{Token: token, Now: clk.Now, LateEvery: 4, LateBy: time.Minute})
	c := newClient(t)
	start := clk.Now().Add(-time.Hour)
	first := srv.Add(6)
	r := c.get(srv.Endpoint() + "?since=" + since(start))
	if got := uuidsOf(r.items(t)); !slices.Equal(got, first) {
		t.Fatalf("got %v, want %v", got, first)
	}
	cursor := r.links(t)["next"]

	clk.Add(10 * time.Second)
	second := srv.Add(6) // events 8 and 12 are published a minute before events 1-6
	items := c.get(cursor).items(t)
	if got := uuidsOf(items); !slices.Equal(got, second) {
		t.Fatalf("after the cursor: got %v, want %v", got, second)
	}
	pubFirst, _ := srv.Published(first[0])
	late := 0
	for _, it := range items {
		p, err := time.Parse(time.RFC3339Nano, it.Published)
		if err != nil {
			t.Fatal(err)
		}
		if p.Before(pubFirst) {
			late++
		}
	}
	if late != 2 {
		t.Fatalf("%d events of the second burst published before the first, want 2 (8 and 12)", late)
	}

	// A bounded request orders by published: the late events (4, then 8 and 12) come first.
	q := url.Values{"since": {start.Format(time.RFC3339)}, "until": {clk.Now().Add(time.Second).Format(time.RFC3339)}}
	bounded := uuidsOf(c.get(srv.Endpoint() + "?" + q.Encode()).items(t))
	if wantFirst := []string{first[3], second[1], second[5]}; len(bounded) != 12 || !slices.Equal(bounded[:3], wantFirst) {
		t.Fatalf("bounded order %v does not start with the late events %v", bounded, wantFirst)
	}
}

func TestBoundedRequestEndsWithoutNext(t *testing.T) {
	clk := newClock()
	srv := oktatest.Start(t, oktatest.Options{Token: token, Now: clk.Now})
	c := newClient(t)
	start := clk.Now()
	var all []string
	for range 25 {
		all = append(all, srv.Add(1)...)
		clk.Add(time.Millisecond)
	}
	outside := srv.Add(1) // published at until: excluded
	until := clk.Now()
	for _, order := range []string{"ASCENDING", "DESCENDING"} {
		t.Run(order, func(t *testing.T) {
			q := url.Values{"since": {start.Format(time.RFC3339Nano)}, "until": {until.Format(time.RFC3339Nano)},
				"limit": {"10"}, "sortOrder": {order}}
			u := srv.Endpoint() + "?" + q.Encode()
			var got []string
			for page := 0; ; page++ {
				r := c.get(u)
				items := r.items(t)
				got = append(got, uuidsOf(items)...)
				next, ok := r.links(t)["next"]
				if !ok {
					if page != 2 || len(items) != 5 {
						t.Fatalf("no next link on page %d with %d events", page, len(items))
					}
					break
				}
				if page >= 2 {
					t.Fatalf("page %d still has a next link", page)
				}
				u = next
			}
			want := slices.Clone(all)
			if order == "DESCENDING" {
				slices.Reverse(want)
			}
			if !slices.Equal(got, want) || slices.Contains(got, outside[0]) {
				t.Fatalf("bounded %s: got %v, want %v", order, got, want)
			}
		})
	}
}

var publishedFormat = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func TestEventsLookLikeLogEvents(t *testing.T) {
	srv := oktatest.Start(t, oktatest.Options{Token: token, ItemPadding: 8 << 10})
	c := newClient(t)
	ids := srv.Add(20)
	r := c.get(srv.Endpoint() + "?limit=1000")
	var raw []json.RawMessage
	if err := json.Unmarshal(r.body, &raw); err != nil || len(raw) != 20 {
		t.Fatalf("%d items, err %v", len(raw), err)
	}
	for i, msg := range raw {
		want, ok := srv.Event(ids[i])
		if !ok || string(msg) != string(want) {
			t.Fatalf("item %d differs from Event(%s)", i, ids[i])
		}
		if len(msg) < 8<<10 {
			t.Fatalf("item %d is %d bytes with 8 KiB padding", i, len(msg))
		}
		var e struct {
			UUID, Published, EventType, Severity, Version, DisplayMessage string
			Actor                                                         struct{ ID, Type string }
			Outcome                                                       struct{ Result string }
		}
		if err := json.Unmarshal(msg, &e); err != nil {
			t.Fatal(err)
		}
		if e.UUID != ids[i] || !publishedFormat.MatchString(e.Published) || e.EventType == "" ||
			e.Severity == "" || e.Version != "0" || e.Actor.ID == "" || e.Actor.Type != "User" || e.Outcome.Result == "" {
			t.Fatalf("item %d lacks LogEvent fields: %+v", i, e)
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(ids[0]) {
		t.Fatalf("uuid %q is not a version 4 UUID", ids[0])
	}
}
