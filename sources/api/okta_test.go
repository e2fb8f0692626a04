package api_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
	"github.com/flickerlog/flicker/sources/api"
	"github.com/flickerlog/flicker/sources/api/oktatest"
)

const token = "00aTestTokenValue-do-not-log"

func TestOktaEventShape(t *testing.T) {
	org := oktatest.Start(t, oktatest.Options{Token: token})
	uuids := org.Add(250)
	cfg := oktaConfig(t, org.Endpoint(), token)
	cfg.Params = map[string]string{"limit": "100"}
	cfg.Fields = map[string]string{"env": "prod"}
	reg := newRegistry()
	sink := &recordSink{}
	if err := runOnce(t, newSource(t, reg, api.Options{Once: true}, zerolog.Nop(), cfg), sink); err != nil {
		t.Fatal(err)
	}
	events := sink.all()
	checkOnce(t, uuids, sink.ids())
	for i, g := range events {
		want, _ := org.Event(uuids[i])
		if g.ID != uuids[i] || g.Message != string(want) {
			t.Fatalf("event %d: id %s, message %.60s; want the item %s exactly as served", i, g.ID, g.Message,
				uuids[i])
		}
		published, _ := org.Published(uuids[i])
		if !g.Time.Equal(published) {
			t.Fatalf("event %d: time %v, want published %v", i, g.Time, published)
		}
		if g.Offset != -1 || g.Input != "okta-audit" || g.Type != "api" || g.Fields != `,"fields":{"env":"prod"}` {
			t.Fatalf("event %d: offset %d input %q type %q fields %q", i, g.Offset, g.Input, g.Type, g.Fields)
		}
		if wantExtra := `,"api":{"endpoint":"` + org.Endpoint() + `"}`; g.Extra != wantExtra {
			t.Fatalf("stream extra %s, want %s", g.Extra, wantExtra)
		}
	}
	// Caught up: the saved cursor is the last page's next link, on the emulator.
	enginetest.Eventually(t, 10*time.Second, func() bool {
		c, ok := reg.get("okta-audit")
		return ok && len(c.RecentIDs) == 250
	}, "the cursor after the last page was not saved")
	c, _ := reg.get("okta-audit")
	if !strings.HasPrefix(c.Next, org.Endpoint()+"?") || !strings.Contains(c.Next, "after=") ||
		c.RecentIDs[249] != uuids[249] || c.Endpoint != org.Endpoint() || c.ParamsSum != reg.ParamsSum(cfg.Params) {
		t.Fatalf("saved cursor %+v", c)
	}
	last, _ := org.Published(uuids[249])
	if !c.LastTime.Equal(last) {
		t.Fatalf("LastTime %v, want %v", c.LastTime, last)
	}
	if st := org.Stats(); st.Pages != 3 {
		t.Fatalf("emulator answered %d pages, want 3 (100, 100, 50)", st.Pages)
	}
}

// A clean stop and restart delivers every event once: events added before, during and after the first run.
func TestOktaExactlyOnceAcrossCleanRestart(t *testing.T) {
	org := oktatest.Start(t, oktatest.Options{Token: token, LateEvery: 7})
	want := org.Add(2500)
	cfg := oktaConfig(t, org.Endpoint(), token)
	reg := newRegistry()

	first := &recordSink{}
	run := start(t, newSource(t, reg, fastOptions(), zerolog.Nop(), cfg), first)
	waitLen(t, first, 2500)
	for range 3 {
		want = append(want, org.Add(400)...)
		time.Sleep(30 * time.Millisecond)
	}
	waitLen(t, first, len(want))
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}

	want = append(want, org.Add(1300)...)
	second := &recordSink{}
	run = start(t, newSource(t, reg, fastOptions(), zerolog.Nop(), cfg), second)
	waitLen(t, second, 1300)
	time.Sleep(100 * time.Millisecond) // more polls: nothing else may come
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
	checkOnce(t, want, append(first.ids(), second.ids()...))
	if n := second.len(); n != 1300 {
		t.Fatalf("the restart delivered %d events, want only the 1300 new ones", n)
	}
}

// After a crash the pages after the last persisted cursor are read again: nothing is lost, and the repeats are
// exactly the events delivered after that cursor.
func TestOktaCrashRereadsOnlyUnsavedPages(t *testing.T) {
	org := oktatest.Start(t, oktatest.Options{Token: token})
	want := org.Add(3000)
	cfg := oktaConfig(t, org.Endpoint(), token)
	cfg.Params = map[string]string{"limit": "500"}
	reg := newRegistry()

	first := &recordSink{}
	crashed := &freezingRegistry{memRegistry: reg, after: 2}
	run := start(t, newSource(t, crashed, fastOptions(), zerolog.Nop(), cfg), first)
	waitLen(t, first, 3000)
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
	saved, ok := reg.get("okta-audit")
	if !ok {
		t.Fatal("no cursor saved before the crash")
	}
	// Events persisted while the process was down.
	want = append(want, org.Add(200)...)

	second := &recordSink{}
	run = start(t, newSource(t, reg.copyOf(), fastOptions(), zerolog.Nop(), cfg), second)
	waitLen(t, second, 1)
	enginetest.Eventually(t, time.Minute, func() bool {
		ids := map[string]bool{}
		for _, id := range append(first.ids(), second.ids()...) {
			ids[id] = true
		}
		return len(ids) == len(want)
	}, "the restart did not deliver the missing events")
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
	// The saved cursor covered the ids in its RecentIDs and everything before: those are never repeated.
	lastSaved := saved.RecentIDs[len(saved.RecentIDs)-1]
	covered := 0
	for i, id := range want {
		if id == lastSaved {
			covered = i + 1
		}
	}
	if covered == 0 || covered >= 3000 {
		t.Fatalf("the frozen cursor covers %d events: the test needs a crash in the middle", covered)
	}
	checkOnce(t, want[covered:], second.ids())
	checkOnce(t, want[:3000], first.ids())
}

// freezingRegistry persists the first `after` saves, then none: the state a crash leaves.
type freezingRegistry struct {
	*memRegistry
	after int
}

func (r *freezingRegistry) Save(input string, c api.Cursor) {
	if r.saveCount() >= r.after {
		r.freeze()
	}
	r.memRegistry.Save(input, c)
}

// A small budget is spread over its window and never exceeded: no 429, no request after one.
func TestOktaRateBudgetNeverExceeded(t *testing.T) {
	org := oktatest.Start(t, oktatest.Options{Token: token, RateLimit: 4, RateWindow: time.Second})
	want := org.Add(1500)
	cfg := oktaConfig(t, org.Endpoint(), token)
	cfg.Params = map[string]string{"limit": "150"}
	src := newSource(t, newRegistry(), fastOptions(), zerolog.Nop(), cfg)
	sink := &recordSink{}
	run := start(t, src, sink)
	waitLen(t, sink, 1500)
	// Empty polls against a spent budget too: waited for, not slept for, so a slow run cannot skip them.
	empty := org.Stats().EmptyPages
	enginetest.Eventually(t, time.Minute, func() bool { return org.Stats().EmptyPages >= empty+2 },
		"no empty polls after the last event")
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
	checkOnce(t, want, sink.ids())
	st := org.Stats()
	if st.OverBudget != 0 || st.RateLimited != 0 || st.MaxRequestsPerWindow > 4 {
		t.Fatalf("emulator saw %d over budget, %d rate limited, %d requests in one window (limit 4)",
			st.OverBudget, st.RateLimited, st.MaxRequestsPerWindow)
	}
	if s := src.Stats(); s.RateLimitSlowdowns == 0 {
		t.Fatalf("11 pages with 4 requests a second were never slowed down: %+v", s)
	}
}

// A 429 (another client spent the budget) is waited out until the reset, not hammered. The source's first request
// must come before the reset to meet the 429: a 4s window with at least 3s left leaves a loaded machine room.
func TestOktaWaitsOut429(t *testing.T) {
	org := oktatest.Start(t, oktatest.Options{Token: token, RateLimit: 3, RateWindow: 4 * time.Second})
	want := org.Add(300)
	client := &http.Client{}
	defer client.CloseIdleConnections()
	// Spend the window's budget early in a window, so that the source's first request is refused.
	for {
		reset := spend(t, client, org.Endpoint(), 3)
		if time.Until(reset) > 3*time.Second {
			break
		}
		time.Sleep(time.Until(reset) + 10*time.Millisecond)
	}
	cfg := oktaConfig(t, org.Endpoint(), token)
	src := newSource(t, newRegistry(), fastOptions(), zerolog.Nop(), cfg)
	sink := shipAll(t, src, 300)
	checkOnce(t, want, sink.ids())
	st := org.Stats()
	if st.RateLimited != 1 || st.OverBudget != 0 {
		t.Fatalf("emulator: %d rate limited, %d over budget; want one 429 waited out", st.RateLimited, st.OverBudget)
	}
	if s := src.Stats(); s.RateLimitWaits != 1 {
		t.Fatalf("source counted %d rate limit waits, want 1", s.RateLimitWaits)
	}
}

// spend makes n unauthenticated requests (they count against the budget) and returns the window's reset.
func spend(t *testing.T, client *http.Client, endpoint string, n int) time.Time {
	t.Helper()
	var reset int64
	for range n {
		resp, err := client.Get(endpoint)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		reset, _ = strconv.ParseInt(resp.Header.Get("X-Rate-Limit-Reset"), 10, 64)
	}
	return time.Unix(reset, 0)
}

// Empty polling pages (next == self) are requested once per interval, never in a loop.
func TestOktaEmptyPagesDoNotSpin(t *testing.T) {
	org := oktatest.Start(t, oktatest.Options{Token: token})
	cfg := oktaConfig(t, org.Endpoint(), token)
	cfg.PollingFrequency = 50 * time.Millisecond
	reg := newRegistry()
	src := newSource(t, reg, fastOptions(), zerolog.Nop(), cfg)
	began := time.Now()
	run := start(t, src, &recordSink{})
	// A few polls, however slowly they come; the bound below is on how many more could have come.
	enginetest.Eventually(t, time.Minute, func() bool { return org.Stats().Requests >= 5 }, "five polls")
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(began)
	st := org.Stats()
	if bound := int(elapsed/cfg.PollingFrequency) + 2; st.Requests > bound || st.Requests < 5 {
		t.Fatalf("%d requests in %v with a %v interval: want between 5 and %d", st.Requests, elapsed,
			cfg.PollingFrequency, bound)
	}
	if st.EmptyPages != st.Requests {
		t.Fatalf("%d of %d pages empty", st.EmptyPages, st.Requests)
	}
	// The empty page's next link was stored although no event was ever published.
	c, ok := reg.get("okta-audit")
	if !ok || !strings.HasPrefix(c.Next, org.Endpoint()) {
		t.Fatalf("cursor after empty pages: %+v, %t", c, ok)
	}
}

// A bad token gets an error naming the source (never the token), is retried slowly, and recovers once the token
// is valid.
func TestOktaUnauthorizedThenFixed(t *testing.T) {
	org := oktatest.Start(t, oktatest.Options{Token: "the-valid-one"})
	want := org.Add(120)
	cfg := oktaConfig(t, org.Endpoint(), token)
	log, logs := logger()
	src := newSource(t, newRegistry(), fastOptions(), log, cfg)
	sink := &recordSink{}
	run := start(t, src, sink)
	enginetest.Eventually(t, time.Minute, func() bool { return org.Stats().Unauthorized >= 3 },
		"the source did not retry after 401")
	if sink.len() != 0 {
		t.Fatal("events delivered without authorization")
	}
	org.SetToken(token)
	waitLen(t, sink, 120)
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
	checkOnce(t, want, sink.ids())
	out := logs.String()
	if strings.Contains(out, token) {
		t.Fatalf("the token is in the logs:\n%s", out)
	}
	if !strings.Contains(out, `"input":"okta-audit"`) || !strings.Contains(out, `"status":401`) ||
		!strings.Contains(out, "not authorized") {
		t.Fatalf("no error naming the source and the status:\n%.2000s", out)
	}
	if s := src.Stats(); s.AuthErrors < 3 {
		t.Fatalf("auth errors %d", s.AuthErrors)
	}
}

// In once mode a bad token ends Run with an error instead of waiting forever.
func TestOktaOnceUnauthorizedFails(t *testing.T) {
	org := oktatest.Start(t, oktatest.Options{Token: "the-valid-one"})
	org.Add(10)
	cfg := oktaConfig(t, org.Endpoint(), token)
	opts := fastOptions()
	opts.Once = true
	err := runOnce(t, newSource(t, newRegistry(), opts, zerolog.Nop(), cfg), &recordSink{})
	if err == nil || !strings.Contains(err.Error(), "okta-audit") || !strings.Contains(err.Error(), "401") ||
		strings.Contains(err.Error(), token) {
		t.Fatalf("once run with a bad token: %v", err)
	}
}

// Server errors, cut connections and bodies that are not event arrays are retried without advancing the
// cursor: every event arrives once.
func TestOktaServerErrorsAndMalformedBodies(t *testing.T) {
	org := oktatest.Start(t, oktatest.Options{Token: token, FailEvery: 4})
	want := org.Add(900)
	for _, f := range []oktatest.Fault{oktatest.FaultTruncated, oktatest.FaultNotArray, oktatest.FaultHTML,
		oktatest.FaultReset, oktatest.FaultServerError} {
		org.Inject(f, 1)
	}
	cfg := oktaConfig(t, org.Endpoint(), token)
	cfg.Params = map[string]string{"limit": "100"}
	log, logs := logger()
	src := newSource(t, newRegistry(), fastOptions(), log, cfg)
	sink := shipAll(t, src, 900)
	checkOnce(t, want, sink.ids())
	s := src.Stats()
	if s.MalformedBodies < 2 || s.ServerErrors < 3 || s.NetworkErrors < 1 {
		t.Fatalf("stats %+v: want the malformed bodies, server errors and the reset counted", s)
	}
	if out := logs.String(); !strings.Contains(out, "this is not a list of events") ||
		!strings.Contains(out, `"status":200`) {
		t.Fatalf("the malformed body is not logged with its status:\n%.3000s", out)
	}
}

// Late events (published earlier than events persisted before them) come after the cursor and are delivered;
// their time is their published time.
func TestOktaLateEventsAndJoinedLinks(t *testing.T) {
	org := oktatest.Start(t, oktatest.Options{Token: token, LateEvery: 3, JoinLinks: true})
	want := org.Add(700)
	cfg := oktaConfig(t, org.Endpoint(), token)
	cfg.Params = map[string]string{"limit": "200"}
	src := newSource(t, newRegistry(), fastOptions(), zerolog.Nop(), cfg)
	sink := &recordSink{}
	run := start(t, src, sink)
	waitLen(t, sink, 700)
	want = append(want, org.Add(300)...)
	waitLen(t, sink, 1000)
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
	checkOnce(t, want, sink.ids())
	late := 0
	for _, g := range sink.all() {
		published, _ := org.Published(g.ID)
		if !g.Time.Equal(published) {
			t.Fatalf("event %s: time %v, want %v", g.ID, g.Time, published)
		}
		if time.Since(published) > time.Minute {
			late++
		}
	}
	if late == 0 {
		t.Fatal("no late event delivered")
	}
}

// 1000 items of 8 KiB in one page arrive whole.
func TestOktaHugePages(t *testing.T) {
	org := oktatest.Start(t, oktatest.Options{Token: token, ItemPadding: 8 << 10})
	want := org.Add(1000)
	cfg := oktaConfig(t, org.Endpoint(), token)
	opts := fastOptions()
	opts.Once = true
	sink := &recordSink{}
	if err := runOnce(t, newSource(t, newRegistry(), opts, zerolog.Nop(), cfg), sink); err != nil {
		t.Fatal(err)
	}
	checkOnce(t, want, sink.ids())
	for _, g := range sink.all() {
		served, _ := org.Event(g.ID)
		if len(g.Message) < 8<<10 || g.Message != string(served) {
			t.Fatalf("event %s: %d bytes, not the item as served (%d bytes)", g.ID, len(g.Message), len(served))
		}
	}
	if st := org.Stats(); st.Pages != 2 {
		t.Fatalf("%d pages: want the full page of 1000 and the empty one after it", st.Pages)
	}
}

// Responses slower than the timeout are abandoned and retried; the source recovers when the server does.
func TestOktaSlowResponsesPastTimeout(t *testing.T) {
	org := oktatest.Start(t, oktatest.Options{Token: token, Delay: 2 * time.Second})
	want := org.Add(50)
	cfg := oktaConfig(t, org.Endpoint(), token)
	cfg.Timeout = 100 * time.Millisecond
	src := newSource(t, newRegistry(), fastOptions(), zerolog.Nop(), cfg)
	sink := &recordSink{}
	run := start(t, src, sink)
	enginetest.Eventually(t, time.Minute, func() bool { return src.Stats().NetworkErrors >= 2 },
		"slow responses were not abandoned at the timeout")
	if sink.len() != 0 {
		t.Fatal("events from a response past its timeout")
	}
	org.SetDelay(0)
	waitLen(t, sink, 50)
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
	checkOnce(t, want, sink.ids())
}

// A changed filter for the same name starts again from the last published time with the new params: the events
// read again are skipped by id, and the change is logged.
func TestOktaParamsChangeRebuildsFromLastTime(t *testing.T) {
	org := oktatest.Start(t, oktatest.Options{Token: token})
	first := org.Add(300) // one burst: all share one published millisecond
	cfg := oktaConfig(t, org.Endpoint(), token)
	reg := newRegistry()
	opts := fastOptions()
	opts.Once = true
	sink := &recordSink{}
	if err := runOnce(t, newSource(t, reg, opts, zerolog.Nop(), cfg), sink); err != nil {
		t.Fatal(err)
	}
	checkOnce(t, first, sink.ids())

	later := org.Add(40)
	cfg.Params = map[string]string{"limit": "1000", "filter": `eventType sw "user."`}
	log, logs := logger()
	again := &recordSink{}
	src := newSource(t, reg, opts, log, cfg)
	if err := runOnce(t, src, again); err != nil {
		t.Fatal(err)
	}
	checkOnce(t, userEvents(t, later, org), again.ids())
	if s := src.Stats(); s.Duplicates == 0 {
		t.Fatal("the re-read events were not skipped as duplicates")
	}
	if out := logs.String(); !strings.Contains(out, "configuration changed") ||
		!strings.Contains(out, `"params_changed":true`) {
		t.Fatalf("the change is not logged:\n%s", out)
	}
	c, _ := reg.get("okta-audit")
	if c.ParamsSum != reg.ParamsSum(cfg.Params) {
		t.Fatalf("the saved cursor keeps the old params: %+v", c.ParamsSum)
	}
}

// userEvents returns the ids among ids whose event type starts with "user.".
func userEvents(t *testing.T, ids []string, org *oktatest.Server) []string {
	var out []string
	for _, id := range ids {
		b, _ := org.Event(id)
		if strings.HasPrefix(field(t, string(b), "eventType"), "user.") {
			out = append(out, id)
		}
	}
	return out
}

// A saved cursor the API refuses (expired, garbled) is dropped: the walk starts again from the last event time.
func TestOktaRefusedCursorStartsFromLastTime(t *testing.T) {
	org := oktatest.Start(t, oktatest.Options{Token: token})
	old := org.Add(100)
	time.Sleep(5 * time.Millisecond)
	newer := org.Add(100)
	cfg := oktaConfig(t, org.Endpoint(), token)
	reg := newRegistry()
	lastOld, _ := org.Published(old[99])
	reg.Save(cfg.Name, api.Cursor{Next: org.Endpoint() + "?limit=1000&after=bm90LWEtY3Vyc29y", LastTime: lastOld,
		RecentIDs: old, Endpoint: cfg.Endpoint, ParamsSum: reg.ParamsSum(cfg.Params)})
	log, logs := logger()
	opts := fastOptions()
	opts.Once = true
	sink := &recordSink{}
	if err := runOnce(t, newSource(t, reg, opts, log, cfg), sink); err != nil {
		t.Fatal(err)
	}
	checkOnce(t, newer, sink.ids())
	if out := logs.String(); !strings.Contains(out, "refused the saved cursor") || !strings.Contains(out, `"status":400`) {
		t.Fatalf("the refused cursor is not logged:\n%s", out)
	}
}

// The cursor advances only over events every output is done with: an event an output keeps retrying holds the
// checkpoint just before it (its page is requested again, the events before it skipped by id), and held
// (unacknowledged) batches save nothing.
func TestOktaCheckpointFollowsAcknowledgements(t *testing.T) {
	org := oktatest.Start(t, oktatest.Options{Token: token})
	want := org.Add(500)
	cfg := oktaConfig(t, org.Endpoint(), token)
	cfg.Params = map[string]string{"limit": "100"}
	reg := newRegistry()
	src := newSource(t, reg, fastOptions(), zerolog.Nop(), cfg)

	stuck, _ := org.Event(want[250]) // on the third page
	sink := enginetest.NewMemorySink()
	sink.RetryWhen(func(ev *engine.Event, _ int) bool { return string(ev.Message) == string(stuck) })
	run := start(t, src, sink)
	// The output takes the third page but the stuck event (it retries that batch before taking the next).
	enginetest.Eventually(t, time.Minute, func() bool { return sink.AttemptsOf(stuck) >= 5 && sink.Len() >= 299 },
		"the pipeline did not deliver the events around the stuck one")
	c, ok := reg.get("okta-audit")
	if !ok || c.RecentIDs[len(c.RecentIDs)-1] != want[249] {
		t.Fatalf("saved cursor ends at %v, want the event before the stuck one, %s", c.RecentIDs[len(c.RecentIDs)-1:],
			want[249])
	}
	sink.RetryWhen(nil)
	enginetest.Eventually(t, time.Minute, func() bool {
		c, _ := reg.get("okta-audit")
		return c.RecentIDs[len(c.RecentIDs)-1] == want[499]
	}, "the cursor did not advance once the event was accepted")
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}

	// Held batches: nothing saved until they are released.
	more := org.Add(150)
	held := enginetest.NewMemorySink()
	held.SetHold(true)
	saves := reg.saveCount()
	run = start(t, newSource(t, reg, fastOptions(), zerolog.Nop(), cfg), held)
	enginetest.Eventually(t, time.Minute, func() bool { return held.Writes() > 0 }, "nothing written")
	time.Sleep(100 * time.Millisecond)
	if n := reg.saveCount(); n != saves {
		t.Fatalf("%d cursors saved while every batch is held", n-saves)
	}
	held.ReleaseHeld()
	enginetest.Eventually(t, time.Minute, func() bool {
		held.ReleaseHeld()
		c, _ := reg.get("okta-audit")
		return c.RecentIDs[len(c.RecentIDs)-1] == more[149]
	}, "the cursor did not advance after the release")
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
}

// A page whose first events every output is done with, and the rest not, is requested again after a restart from
// the cursor it was requested with, and its done events are skipped by id: the restart delivers exactly the
// events after the acknowledged position, not the whole page again.
func TestOktaPartlyAcknowledgedPageSkippedAfterRestart(t *testing.T) {
	org := oktatest.Start(t, oktatest.Options{Token: token})
	want := org.Add(500)
	cfg := oktaConfig(t, org.Endpoint(), token)
	cfg.Params = map[string]string{"limit": "500"}
	reg := newRegistry()

	// One page of 500 in one batch: the output accepts its first 250 events and retries the rest until the stop.
	rest := make(map[string]bool)
	for _, id := range want[250:] {
		b, _ := org.Event(id)
		rest[string(b)] = true
	}
	sink := enginetest.NewMemorySink()
	sink.RetryWhen(func(ev *engine.Event, _ int) bool { return rest[string(ev.Message)] })
	p, err := engine.New(engine.Options{
		Outputs:      []engine.Output{{Name: "rec", Sink: sink, Retry: engine.RetryPolicy{Initial: time.Millisecond, Max: 4 * time.Millisecond}}},
		Batch:        engine.BatchLimits{MaxWait: 2 * time.Millisecond},
		DrainTimeout: 20 * time.Millisecond,
		Logger:       zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, []engine.Source{newSource(t, reg, fastOptions(), zerolog.Nop(), cfg)}) }()
	// The acknowledgement of the first 250 is settled before the rest is retried.
	firstRetried, _ := org.Event(want[250])
	enginetest.Eventually(t, time.Minute, func() bool { return sink.Len() == 250 && sink.AttemptsOf(firstRetried) >= 2 },
		"the output did not take the first 250 events")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	opts := fastOptions()
	opts.Once = true
	second := &recordSink{}
	if err := runOnce(t, newSource(t, reg, opts, zerolog.Nop(), cfg), second); err != nil {
		t.Fatal(err)
	}
	checkOnce(t, want[250:], second.ids())
}
