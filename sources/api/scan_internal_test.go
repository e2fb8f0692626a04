package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sources/api/oktatest"
)

func parseWith(t testing.TB, c Config, body string) (page, error) {
	t.Helper()
	c.SetDefaults()
	var pg page
	err := newParser(&c).parse([]byte(body), &pg)
	return pg, err
}

func TestSplitItemsExactlyAsReceived(t *testing.T) {
	body := " [ {\"uuid\":\"a-1\",\"published\":\"2024-05-01T10:00:00.123Z\",\"x\":[1,{\"y\":\"]}\"}]} ,\n" +
		"{\"published\" : \"2024-05-01T10:00:01+02:00\", \"uuid\" : \"b\\u002d2\"},\"just a string\", 42,{}]\t"
	pg, err := parseWith(t, Config{Type: TypeOkta}, body)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		raw, id string
		time    time.Time
		timeOK  bool
	}{
		{`{"uuid":"a-1","published":"2024-05-01T10:00:00.123Z","x":[1,{"y":"]}"}]}`, "a-1",
			time.Date(2024, 5, 1, 10, 0, 0, 123e6, time.UTC), true},
		{`{"published" : "2024-05-01T10:00:01+02:00", "uuid" : "b\u002d2"}`, "b-2",
			time.Date(2024, 5, 1, 8, 0, 1, 0, time.UTC), true},
		{`"just a string"`, "", time.Time{}, false},
		{`42`, "", time.Time{}, false},
		{`{}`, "", time.Time{}, false},
	}
	if len(pg.items) != len(want) {
		t.Fatalf("%d items, want %d", len(pg.items), len(want))
	}
	for i, w := range want {
		it := pg.items[i]
		if string(it.raw) != w.raw || string(it.id) != w.id || it.timeOK != w.timeOK || !it.time.Equal(w.time) {
			t.Errorf("item %d: raw %s id %q time %v %t; want %s %q %v", i, it.raw, it.id, it.time, it.timeOK,
				w.raw, w.id, w.time)
		}
	}
	// The raw bytes and ids are the body's, not copies.
	c := Config{Type: TypeOkta}
	c.SetDefaults()
	b := []byte(body)
	if err := newParser(&c).parse(b, &pg); err != nil {
		t.Fatal(err)
	}
	b[bytes.Index(b, []byte("a-1"))] = 'Z'
	if string(pg.items[0].id) != "Z-1" || !bytes.Contains(pg.items[0].raw, []byte(`"Z-1"`)) {
		t.Fatalf("item %s id %s: not slices of the body", pg.items[0].raw, pg.items[0].id)
	}
}

func TestParseBodyPaths(t *testing.T) {
	slack := Config{Pagination: PaginationBodyCursor, ItemsPath: "entries", CursorPath: "response_metadata.next_cursor",
		CursorParam: "cursor", HasMorePath: "has_more", IDPath: "id", TimePath: "date_create"}
	body := `{"ok":true,"entries":[{"id":"1","date_create":1715000000},{"id":"2","date_create":1715000001}],` +
		`"response_metadata":{"next_cursor":"dXNlcjpVMEc5V0ZYTlo="},"has_more":true}`
	pg, err := parseWith(t, slack, body)
	if err != nil {
		t.Fatal(err)
	}
	if len(pg.items) != 2 || string(pg.cursor) != `"dXNlcjpVMEc5V0ZYTlo="` || string(pg.hasMore) != "true" ||
		!pg.items[1].time.Equal(time.Unix(1715000001, 0)) {
		t.Fatalf("page %+v", pg)
	}
	graph := Config{Pagination: PaginationNextURL, ItemsPath: "value", NextURLPath: "@odata.nextLink", IDPath: "id"}
	pg, err = parseWith(t, graph, `{"@odata.context":"x","value":[{"id":"a"}],"@odata.nextLink":"https://g/x?$skiptoken=1"}`)
	if err != nil || len(pg.items) != 1 || string(pg.nextURL) != `"https://g/x?$skiptoken=1"` {
		t.Fatalf("graph page %+v, %v", pg, err)
	}
	// Empty lists left out, or null: an empty page.
	for _, b := range []string{`{"@odata.context":"x"}`, `{"value":null}`} {
		if pg, err := parseWith(t, graph, b); err != nil || len(pg.items) != 0 {
			t.Fatalf("%s: %v %d items", b, err, len(pg.items))
		}
	}
}

func TestParseRefusesMalformedBodies(t *testing.T) {
	okta := Config{Type: TypeOkta}
	graph := Config{Pagination: PaginationNextURL, ItemsPath: "value", NextURLPath: "next"}
	for _, tt := range []struct {
		cfg  Config
		body string
	}{
		{okta, ``}, {okta, `{"errorCode":"E0000009"}`}, {okta, `[{"uuid":"a"},`}, {okta, `[{"uuid":"a"}`},
		{okta, `[{"uuid":"a}]`}, {okta, `[{"uuid" "a"}]`}, {okta, `[1 2]`}, {okta, `[] []`}, {okta, `[tru]`},
		{okta, `<html>502</html>`}, {okta, `[{"a":[1,2}]`}, {okta, strings.Repeat("[", 2000) + strings.Repeat("]", 2000)},
		{graph, `{"value":{"0":{}}}`}, {graph, `{"value":"x"}`}, {graph, `[]`}, {graph, `{"value":[]`},
	} {
		if _, err := parseWith(t, tt.cfg, tt.body); err == nil {
			t.Errorf("%.60s: no error", tt.body)
		}
	}
}

func TestParseTimeValue(t *testing.T) {
	for _, tt := range []struct {
		raw  string
		want time.Time
		ok   bool
	}{
		{`"2017-09-30T22:23:07.777Z"`, time.Date(2017, 9, 30, 22, 23, 7, 777e6, time.UTC), true},
		{`"2017-09-31T22:23:07.777Z"`, time.Time{}, false}, // Okta's documentation example
		{`"2024-02-29T00:00:00Z"`, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), true},
		{`"2023-02-29T00:00:00Z"`, time.Time{}, false},
		{`"2024-05-01T10:00:00.1234567Z"`, time.Date(2024, 5, 1, 10, 0, 0, 123456700, time.UTC), true},
		{`"2024-05-01T10:00:00.1234567891Z"`, time.Date(2024, 5, 1, 10, 0, 0, 123456789, time.UTC), true},
		{`"2024-05-01 10:00:00-05:30"`, time.Date(2024, 5, 1, 15, 30, 0, 0, time.UTC), true},
		{`"2024-05-01T10:00:00"`, time.Time{}, false},
		{`"2024-05-01T25:00:00Z"`, time.Time{}, false},
		{`"2024-05-01T10:00:00.Z"`, time.Time{}, false},
		{`1715000000`, time.Unix(1715000000, 0), true},
		{`1715000000.25`, time.Unix(1715000000, 250e6), true},
		{`1715000000123`, time.UnixMilli(1715000000123), true},
		{`1715000000123456`, time.UnixMicro(1715000000123456), true},
		{`1715000000123456789`, time.Unix(0, 1715000000123456789), true},
		{`-5`, time.Time{}, false}, {`1e9`, time.Time{}, false}, {`null`, time.Time{}, false},
		{`{"a":1}`, time.Time{}, false}, {`"x"`, time.Time{}, false},
	} {
		got, ok := parseTimeValue([]byte(tt.raw))
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("%s: %v %t, want %v %t", tt.raw, got, ok, tt.want, tt.ok)
		}
		if ok && got.Location() != time.UTC {
			t.Errorf("%s: not UTC", tt.raw)
		}
	}
}

func TestNextLink(t *testing.T) {
	for _, tt := range []struct {
		fields []string
		want   string
	}{
		{[]string{`<https://o/api/v1/logs?a=1>; rel="self"`, `<https://o/api/v1/logs?after=x>; rel="next"`},
			"https://o/api/v1/logs?after=x"},
		{[]string{`<https://o/a?x=1,2>; rel="self", <https://o/b>; rel="next"`}, "https://o/b"},
		{[]string{`<https://o/b>; title="a, b; c"; REL=next`}, "https://o/b"},
		{[]string{`<https://o/b>; rel="last next"`}, "https://o/b"},
		{[]string{`<https://o/a>; rel="self"`}, ""},
		{[]string{`<https://o/a>; rel="nextpage"`}, ""},
		{[]string{`garbage`, `<https://o/c>;rel=next`}, "https://o/c"},
		{nil, ""},
	} {
		h := http.Header{}
		for _, f := range tt.fields {
			h.Add("Link", f)
		}
		if got := nextLink(h); got != tt.want {
			t.Errorf("%q: %q, want %q", tt.fields, got, tt.want)
		}
	}
}

func TestLimiterSpreadsAndWaitsForReset(t *testing.T) {
	var l limiter
	now := time.Unix(1000, 0)
	if w, _ := l.reserve(now); w != 0 {
		t.Fatalf("unknown budget: wait %v", w)
	}
	h := http.Header{}
	h.Set(headerLimit, "8")
	h.Set(headerRemaining, "2")
	h.Set(headerReset, "1010")
	reset := l.observe(h, now)
	if !reset.Equal(time.Unix(1010, 0).Add(resetMargin)) {
		t.Fatalf("reset %v", reset)
	}
	// 2 of 8 left, 10 s to go: spread, one every 10s/3.
	if w, slowed := l.reserve(now); !slowed || w < 3*time.Second || w > 4*time.Second {
		t.Fatalf("wait %v slowed %t, want about 3.3s", w, slowed)
	}
	now = now.Add(4 * time.Second)
	if w, _ := l.reserve(now); w != 0 {
		t.Fatalf("wait %v after the gap", w)
	}
	now = now.Add(4 * time.Second)
	if w, _ := l.reserve(now); w != 0 {
		t.Fatalf("wait %v for the last request", w)
	}
	if w, _ := l.reserve(now); w != time.Unix(1010, 0).Add(resetMargin).Sub(now) {
		t.Fatalf("spent budget: wait %v, want until the reset", w)
	}
	if w, _ := l.reserve(time.Unix(1011, 0)); w != 0 {
		t.Fatalf("new window: wait %v", w)
	}
	l.holdUntil(time.Unix(1020, 0))
	if w, _ := l.reserve(time.Unix(1015, 0)); w != 5*time.Second {
		t.Fatalf("held: wait %v", w)
	}
}

func TestRetryAfterAndSkew(t *testing.T) {
	now := time.Unix(1000, 0)
	h := http.Header{}
	h.Set("Retry-After", "7")
	if got := retryAfter(h, now); !got.Equal(now.Add(7 * time.Second)) {
		t.Fatalf("seconds: %v", got)
	}
	h.Set("Retry-After", time.Unix(1030, 0).UTC().Format(http.TimeFormat))
	h.Set("Date", time.Unix(1000-60, 0).UTC().Format(http.TimeFormat)) // the server is a minute behind
	if got := retryAfter(h, now); !got.Equal(time.Unix(1090, 0)) {
		t.Fatalf("date with skew: %v", got)
	}
}

func TestBackoffIsCappedWithJitter(t *testing.T) {
	for n := 1; n < 40; n++ {
		d := backoff(time.Second, time.Minute, n)
		hi := min(time.Second<<min(n-1, 30), time.Minute)
		if d < hi/2 || d > hi {
			t.Fatalf("attempt %d: %v outside [%v, %v]", n, d, hi/2, hi)
		}
	}
}

func TestPollWaitIsTheIntervalPlusATenth(t *testing.T) {
	seen := map[time.Duration]bool{}
	for range 200 {
		d := pollWait(30 * time.Second)
		if d < 30*time.Second || d > 33*time.Second {
			t.Fatalf("wait %v outside [30s, 33s]", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Fatalf("only %d distinct waits in 200: no jitter", len(seen))
	}
}

func TestHashIDIsStable(t *testing.T) {
	a, b := hashID("in", []byte(`{"x":1}`)), hashID("in", []byte(`{"x":1}`))
	if string(a) != string(b) || len(a) != 26 || string(a) == string(hashID("in", []byte(`{"x":2}`))) {
		t.Fatalf("%s %s", a, b)
	}
}

func TestRedactor(t *testing.T) {
	r := newRedactor(&Config{Auth: Auth{OktaToken: "sekrit-token"}, Headers: map[string]string{"X-Api-Key": "kkkk1"}})
	got := r.body([]byte(`{"echo":"SSWS sekrit-token","k":"kkkk1"}` + strings.Repeat("é", 400)))
	if strings.Contains(got, "sekrit") || strings.Contains(got, "kkkk1") || !strings.HasSuffix(got, "...") ||
		!json.Valid([]byte(`"`+strings.TrimSuffix(got[strings.Index(got, "é"):], "...")+`"`)) {
		t.Fatalf("%s", got)
	}
}

func TestRecentIDsBounded(t *testing.T) {
	r := newRecentIDs(nil)
	for i := range MaxRecentIDs + 10 {
		r.add(strings.Repeat("x", i%7) + string(rune('a'+i%26)) + time.Duration(i).String())
	}
	snap := r.snapshot()
	if len(snap) != MaxRecentIDs || len(r.set) != MaxRecentIDs || snap[MaxRecentIDs-1] != r.ring[(r.head+MaxRecentIDs-1)%MaxRecentIDs] {
		t.Fatalf("%d ids, %d in set", len(snap), len(r.set))
	}
	if r.has(snap[0]) != true || newRecentIDs(snap).has(snap[0]) != true {
		t.Fatal("lost ids")
	}
}

// FuzzParse: any body either fails or yields items that are exactly the elements of a JSON array; where
// encoding/json refuses the body for a number or escape detail the scanner lets through, the structure (every string
// and number made canonical) is still such an array with the same items.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`[]`, `[{"uuid":"a","published":"2024-05-01T10:00:00Z"}]`, `[1,"2",{"a":[{}]}]`,
		`[{"uuid":"a\"b"}, null]`, `{"x":1}`, `[`, `["\\"]`, `[{"a":"\u00e9"}]`,
		// Accepted here, refused by encoding/json: number and escape details.
		`[01, {"a":"\x","b":1.2.3}, true]`, "[\"tab\there\"]",
		`[[0[[0]]]]`, `[{"a":1 "b":2}]`, `[{"a" 1}]`} { // structure errors the old property let through
		f.Add([]byte(s))
	}
	c := Config{Type: TypeOkta}
	c.SetDefaults()
	p := newParser(&c)
	f.Fuzz(func(t *testing.T, body []byte) {
		var pg page
		err := p.parse(body, &pg)
		var elems []json.RawMessage
		jerr := json.Unmarshal(body, &elems)
		if jerr == nil && elems == nil {
			return // null: json's empty slice, a malformed page here
		}
		if jerr == nil && err != nil {
			t.Fatalf("valid array %q refused: %v", body, err)
		}
		if err != nil {
			return
		}
		if jerr != nil {
			// The scanner is lenient on number and escape details only: with every string and number made
			// canonical, encoding/json must read the same structure, the same items with the same bounds.
			plain := canonicalTokens(body)
			if json.Unmarshal(plain, &elems) != nil || elems == nil {
				t.Fatalf("%q accepted, but its structure %q is not a JSON array", body, plain)
			}
			if len(pg.items) != len(elems) {
				t.Fatalf("%q: %d items, the structure has %d", body, len(pg.items), len(elems))
			}
			for i := range elems {
				if got := canonicalTokens(pg.items[i].raw); !bytes.Equal(got, elems[i]) {
					t.Fatalf("%q: item %d is %q, the structure's is %q", body, i, got, elems[i])
				}
			}
			return
		}
		if len(pg.items) != len(elems) {
			t.Fatalf("%q: %d items, json finds %d", body, len(pg.items), len(elems))
		}
		for i := range elems {
			if !bytes.Equal(pg.items[i].raw, elems[i]) {
				t.Fatalf("%q: item %d is %q, json finds %q", body, i, pg.items[i].raw, elems[i])
			}
		}
	})
}

// canonicalTokens replaces each string of body with "" and each run of number bytes with 0: the lenient details
// the scanner accepts. Strings end at the first quote not after a backslash, as in the scanner.
func canonicalTokens(body []byte) []byte {
	var plain []byte
	isNum := func(c byte) bool {
		return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
	}
	for i := 0; i < len(body); {
		switch c := body[i]; {
		case c == '"':
			j := i + 1
			for j < len(body) && body[j] != '"' {
				if body[j] == '\\' {
					j++
				}
				j++
			}
			plain = append(plain, '"', '"')
			i = j + 1
		case c == '-' || c >= '0' && c <= '9': // where the scanner starts a number
			for i < len(body) && isNum(body[i]) {
				i++
			}
			plain = append(plain, '0')
		default:
			plain = append(plain, c)
			i++
		}
	}
	return plain
}

// okta1000 is one emulator page of 1000 Okta events.
func okta1000(b *testing.B) []byte {
	org := oktatest.Start(b, oktatest.Options{Token: "t"})
	org.Add(1000)
	req, _ := http.NewRequest(http.MethodGet, org.Endpoint()+"?limit=1000", nil)
	req.Header.Set("Authorization", "SSWS t")
	client := &http.Client{}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("%d %v", resp.StatusCode, err)
	}
	return body
}

// BenchmarkParsePage splits a page of 1000 Okta events and picks each one's uuid and published: the hot path,
// which must not allocate (the items are slices of the body).
func BenchmarkParsePage(b *testing.B) {
	body := okta1000(b)
	c := Config{Type: TypeOkta}
	c.SetDefaults()
	p := newParser(&c)
	var pg page
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := p.parse(body, &pg); err != nil || len(pg.items) != 1000 || !pg.items[999].timeOK {
			b.Fatalf("%v %d", err, len(pg.items))
		}
	}
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "items/s")
}

type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, []engine.Event) error { return nil }

type nopRegistry struct{}

func (nopRegistry) Load(string) (Cursor, bool, error)  { return Cursor{}, false, nil }
func (nopRegistry) Save(string, Cursor)                {}
func (nopRegistry) ParamsSum(map[string]string) string { return "" }

// BenchmarkPageToEvents parses a page of 1000 Okta events, turns them into events (dedup set, ids, times),
// publishes them and acknowledges the page: everything but HTTP and the engine. Every iteration's items are new
// to the dedup set (their ids are rewritten), as in a steady stream.
func BenchmarkPageToEvents(b *testing.B) {
	body := okta1000(b)
	c := Config{Name: "bench", Type: TypeOkta, Endpoint: "http://127.0.0.1/api/v1/logs", Auth: Auth{OktaToken: "t"}}
	c.SetDefaults()
	src, err := New([]Config{c}, nopRegistry{}, Options{}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	p := src.pollers[0]
	if err := p.load(); err != nil {
		b.Fatal(err)
	}
	p.stream = engine.NewStream(&p.input, p.ck.ack)
	bodies := [2][]byte{body, bytes.Clone(body)}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var gen byte
	for b.Loop() {
		buf := bodies[gen%2]
		// New ids: the uuids' first hex digit becomes the generation (the page stays the same size).
		for i := 0; ; {
			j := bytes.Index(buf[i:], []byte(`"uuid":"`))
			if j < 0 {
				break
			}
			i += j + len(`"uuid":"`)
			buf[i] = "0123456789abcdef"[gen%16]
			buf[i+1] = "0123456789abcdef"[gen/16%16]
		}
		gen++
		if err := p.parser.parse(buf, &p.pg); err != nil {
			b.Fatal(err)
		}
		if st := p.publish(context.Background(), nopPublisher{}, "next", nil); st.kind != stepPage {
			b.Fatal(st.err)
		}
		p.ck.ack(p.pos)
	}
	if d := p.stats.duplicates.Load(); d != 0 {
		b.Fatalf("%d duplicates", d)
	}
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "events/s")
}
