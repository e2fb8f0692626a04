package apitest_test

import (
	"encoding/json"
	"regexp"
	"slices"
	"testing"

	"github.com/flickerlog/flicker/sources/api/apitest"
)

var nextRel = regexp.MustCompile(`<([^>]*)>; rel="next"`)

// linkPageOf reads a Link-header page: the items' ids and the rel="next" target ("" without one).
func linkPageOf(t *testing.T, r reply) (ids []string, next string) {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var items []struct {
		ID        string `json:"_document_id"`
		Timestamp int64  `json:"@timestamp"`
	}
	if err := json.Unmarshal(r.body, &items); err != nil {
		t.Fatalf("not a JSON array (%v): %.300s", err, r.body)
	}
	for _, it := range items {
		if it.ID == "" || it.Timestamp <= 0 {
			t.Fatalf("item %+v lacks its id or time", it)
		}
		ids = append(ids, it.ID)
	}
	link := r.header.Get("Link")
	if !regexp.MustCompile(`rel="first"`).MatchString(link) {
		t.Fatalf("Link %q has no rel=\"first\"", link)
	}
	if m := nextRel.FindStringSubmatch(link); m != nil {
		next = m[1]
	}
	return ids, next
}

func TestLinkHeaderPagesAndPolls(t *testing.T) {
	srv := apitest.StartLinkHeader(t, apitest.LinkHeaderOptions{})
	srv.Add(75)
	var got []string
	u := srv.Endpoint() + "?order=asc"
	var last string
	for page := 0; u != ""; page++ {
		if page > 3 {
			t.Fatal("more pages than items")
		}
		ids, next := linkPageOf(t, get(t, u, ""))
		if want := []int{30, 30, 15}[page]; len(ids) != want {
			t.Fatalf("page %d: %d items, want %d", page, len(ids), want)
		}
		got = append(got, ids...)
		last, u = u, next
	}
	if !slices.Equal(got, srv.IDs()) {
		t.Fatal("pages did not return every item once in order")
	}
	// The last page has no next link: its own URL, requested again, repeats it and goes on with what was added.
	more := srv.Add(20)
	ids, next := linkPageOf(t, get(t, last, ""))
	if len(ids) != 30 || !slices.Equal(ids[15:], more[:15]) || next == "" {
		t.Fatalf("re-request of the last page: %d items, next %q", len(ids), next)
	}
	if ids, next := linkPageOf(t, get(t, next, "")); !slices.Equal(ids, more[15:]) || next != "" {
		t.Fatalf("page after it: %v, next %q; want %v and no next", ids, next, more[15:])
	}
	if r := get(t, srv.Endpoint(), ""); r.status != 422 {
		t.Fatalf("without order=asc: status %d, want 422", r.status)
	}
	if r := get(t, srv.Endpoint()+"?order=asc&per_page=101", ""); r.status != 400 {
		t.Fatalf("per_page over the maximum: status %d, want 400", r.status)
	}
}
