package main_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/snapshot"
	"github.com/flickerlog/flicker/sources/api/oktatest"
	"github.com/flickerlog/flicker/store"
)

// These tests run the flicker binary with api_sources against the emulators of sources/api/oktatest and
// sources/api/apitest on 127.0.0.1, shipping into a file output. An event is recognised by its id (the Okta uuid)
// and its message must be the item's JSON exactly as the emulator serves it.

// startFeeding starts flicker on a local registry against srv (pages of 200 into a file output) and adds 10,000
// events to srv, 250 every 50 ms, while it runs.
func startFeeding(t *testing.T, srv *oktatest.Server) (dir, out, reg string, args []string, p *proc, fd *feeder) {
	dir = t.TempDir()
	out, reg = filepath.Join(dir, "out.ndjson"), filepath.Join(dir, "reg.db")
	cfg := writeAPIConfig(t, dir, out, oktaSource("okta-audit", srv.Endpoint(), apiToken, 200))
	args = []string{"-c", cfg, "--registry-file", reg, "--log-format", "json"}
	p = start(t, dir, args...)
	return dir, out, reg, args, p, feed(t, srv.Add, 10000, 250, 50*time.Millisecond)
}

// TestAPIOktaCleanRestartExactlyOnce: 10,000 events added in batches while flicker runs, a SIGTERM in the
// middle and a restart on the same registry: every event arrives exactly once, as served, with its published
// time; the export holds the cursor and never the token.
func TestAPIOktaCleanRestartExactlyOnce(t *testing.T) {
	t.Parallel()
	srv := oktatest.Start(t, oktatest.Options{Token: apiToken, LateEvery: 97})
	dir, out, reg, args, p, fd := startFeeding(t, srv)
	waitEvents(t, time.Minute, out, 2500, p)
	p.stop()
	stoppedAt, added := len(readAPIOutput(t, out)), fd.count()

	p2 := start(t, dir, args...)
	want := fd.wait(t)
	waitIDs(t, time.Minute, out, want, "all 10000 events", p2)
	waitPolls(t, func() int { return srv.Stats().Requests }, 2, p2) // room for a wrong re-send to show up
	p2.stop()
	t.Logf("stopped with %d of %d added events shipped", stoppedAt, added)

	evs := readAPIOutput(t, out)
	exactlyOnceIDs(t, evs, "okta-audit", srv.UUIDs())
	checkShape(t, evs, oktaOf("okta-audit", srv))
	if !strings.Contains(p2.stderr.String(), "api source resumes from its saved cursor") {
		t.Fatalf("the restart did not resume from the saved cursor:\n%s", p2.logs())
	}
	c, ok, export := exportCursor(t, reg, "okta-audit")
	uuids := srv.UUIDs()
	if !ok || !strings.Contains(c.Cursor, "after=") || c.Endpoint != srv.Endpoint() ||
		len(c.RecentIDs) == 0 || c.RecentIDs[len(c.RecentIDs)-1] != uuids[len(uuids)-1] {
		t.Fatalf("exported cursor %+v: want the next link after the last event %s", c, uuids[len(uuids)-1])
	}
	for what, s := range map[string]string{"logs": p.stderr.String() + p2.stderr.String(), "export": export} {
		if strings.Contains(s, apiToken) {
			t.Fatalf("the token appears in the %s", what)
		}
	}
}

// TestAPIOktaKill9ResendsOnlyUncommittedPages: a kill -9 in the middle of 10,000 events and a restart: every
// event arrives, and only events after the cursor committed before the crash can arrive twice.
func TestAPIOktaKill9ResendsOnlyUncommittedPages(t *testing.T) {
	t.Parallel()
	srv := oktatest.Start(t, oktatest.Options{Token: apiToken, LateEvery: 101})
	dir, out, reg, args, p, fd := startFeeding(t, srv)
	waitEvents(t, time.Minute, out, 3000, p)
	p.kill()
	shipped := len(readAPIOutput(t, out))
	c, ok, _ := exportCursor(t, reg, "okta-audit")
	if !ok || len(c.RecentIDs) == 0 {
		t.Fatalf("no cursor committed after %d events shipped; logs:\n%s", shipped, p.logs())
	}
	lastAcked := c.RecentIDs[len(c.RecentIDs)-1]

	p2 := start(t, dir, args...)
	want := fd.wait(t)
	waitIDs(t, time.Minute, out, want, "all 10000 events", p2)
	waitPolls(t, func() int { return srv.Stats().Requests }, 2, p2)
	p2.stop()

	evs := readAPIOutput(t, out)
	checkShape(t, evs, oktaOf("okta-audit", srv))
	uuids := srv.UUIDs()
	twice := checkReplayBound(t, uuids, idCounts(evs), lastAcked)
	cut := slices.Index(uuids, lastAcked)
	if twice > shipped-(cut+1) {
		t.Fatalf("%d events re-sent, but only %d were shipped after the committed cursor", twice, shipped-(cut+1))
	}
	t.Logf("killed with %d events shipped, committed cursor after event %d: %d re-sent", shipped, cut, twice)
}

// TestAPIOktaRateBudgetNeverExceeded: 2000 events in pages of 100 from an org allowing 10 requests a second:
// the budget is spread, never exceeded, and nothing is lost.
func TestAPIOktaRateBudgetNeverExceeded(t *testing.T) {
	t.Parallel()
	const limit = 10
	srv := oktatest.Start(t, oktatest.Options{Token: apiToken, RateLimit: limit, RateWindow: time.Second})
	want := srv.Add(2000)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	cfg := writeAPIConfig(t, dir, out, oktaSource("okta-audit", srv.Endpoint(), apiToken, 100))
	p := start(t, dir, "-c", cfg, "--log-format", "json")
	waitIDs(t, time.Minute, out, want, "2000 events", p)
	p.stop()
	exactlyOnceIDs(t, readAPIOutput(t, out), "okta-audit", want)
	st := srv.Stats()
	if st.OverBudget != 0 || st.RateLimited != 0 || st.MaxRequestsPerWindow > limit {
		t.Fatalf("emulator: %d over budget, %d rate limited, at most %d requests in a window: want the budget of %d "+
			"never exceeded", st.OverBudget, st.RateLimited, st.MaxRequestsPerWindow, limit)
	}
	if st.Requests < 20 {
		t.Fatalf("%d requests for 20 full pages", st.Requests)
	}
}

// TestAPIOkta429WaitedOutUntilReset: another client spends the org's budget while flicker runs; flicker's next
// request gets a 429, and it sends nothing more until the window resets, then ships the new events. flicker's
// next poll must come before the reset to meet the 429: 3s left of a 6s window leave a loaded machine room.
func TestAPIOkta429WaitedOutUntilReset(t *testing.T) {
	t.Parallel()
	srv := oktatest.Start(t, oktatest.Options{Token: apiToken, RateLimit: 60, RateWindow: 6 * time.Second})
	first := srv.Add(300)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	// Polls every 300ms leave the other client room in the budget of 60 requests per 6s.
	cfg := writeAPIConfig(t, dir, out,
		oktaSource("okta-audit", srv.Endpoint(), apiToken, 100, "polling_frequency_ms: 300"))
	p := start(t, dir, "-c", cfg, "--log-format", "json")
	waitIDs(t, time.Minute, out, first, "the first 300 events", p)

	reset := spendBudget(t, srv, 3*time.Second)
	second := srv.Add(200)
	waitFor(t, 30*time.Second, "flicker's request to be refused with a 429", func() bool {
		return srv.Stats().RateLimited > 0
	}, p)
	waitIDs(t, 30*time.Second, out, second, "the events added after the 429", p)
	if now := time.Now(); now.Before(reset) {
		t.Fatalf("the events added after the 429 arrived at %s, before the reset at %s", now.Format(time.StampMilli),
			reset.Format(time.StampMilli))
	}
	p.stop()
	exactlyOnceIDs(t, readAPIOutput(t, out), "okta-audit", append(first, second...))
	if st := srv.Stats(); st.OverBudget != 0 {
		t.Fatalf("%d requests after the 429 before the reset: the 429 was hammered, not waited out; emulator %+v; "+
			"logs:\n%s", st.OverBudget, st, p.logs())
	}
	if !strings.Contains(p.stderr.String(), "rate limited (429): waiting for the reset") {
		t.Fatalf("the 429 wait is not logged:\n%s", p.logs())
	}
}

// spendBudget makes requests to srv as another client of the org until its window's budget is spent (Remaining
// 0, no 429) with at least left before the reset, which it returns.
func spendBudget(t *testing.T, srv *oktatest.Server, left time.Duration) time.Time {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	for range 1000 {
		req, err := http.NewRequest(http.MethodGet, srv.Endpoint()+"?limit=1", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "SSWS "+apiToken)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		remaining, _ := strconv.Atoi(resp.Header.Get("X-Rate-Limit-Remaining"))
		resetSec, _ := strconv.ParseInt(resp.Header.Get("X-Rate-Limit-Reset"), 10, 64)
		reset := time.Unix(resetSec, 0)
		switch {
		case resp.StatusCode == http.StatusTooManyRequests || time.Until(reset) < left:
			// Too close to the window's end, or flicker took the last request: spend the next window.
			time.Sleep(time.Until(reset) + 50*time.Millisecond)
		case remaining == 0:
			return reset
		}
	}
	t.Fatal("could not spend the rate budget")
	return time.Time{}
}

// TestAPIOktaEmptyPagesDoNotSpin: caught up with polling_frequency_ms 200, flicker requests the empty page's next
// link (equal to its self) about once per interval, and picks up new events at the next poll.
func TestAPIOktaEmptyPagesDoNotSpin(t *testing.T) {
	t.Parallel()
	srv := oktatest.Start(t, oktatest.Options{Token: apiToken})
	first := srv.Add(150)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	cfg := writeAPIConfig(t, dir, out,
		oktaSource("okta-audit", srv.Endpoint(), apiToken, 100, "polling_frequency_ms: 200"))
	p := start(t, dir, "-c", cfg, "--log-format", "json")
	waitIDs(t, time.Minute, out, first, "the first 150 events", p)
	// The page after the last event was read: only empty polls from here.
	waitFor(t, 30*time.Second, "an empty page", func() bool { return srv.Stats().EmptyPages >= 1 }, p)

	// Five polls however long they take (a fixed sleep could hold fewer on a loaded machine); the bound is on how
	// many more could have come in that time.
	before, began := srv.Stats(), time.Now()
	waitPolls(t, func() int { return srv.Stats().Requests }, 5, p)
	after, elapsed := srv.Stats(), time.Since(began)
	polls, empty := after.Requests-before.Requests, after.EmptyPages-before.EmptyPages
	maxPolls := int(elapsed/(200*time.Millisecond)) + 2
	if polls > maxPolls || empty != polls {
		t.Fatalf("%d requests (%d empty pages) in %s of caught-up polling every 200ms: want at most %d, all empty",
			polls, empty, elapsed, maxPolls)
	}
	log := srv.RequestLog()
	tail := log[len(log)-polls:]
	for _, r := range tail {
		if r != tail[0] || !strings.Contains(r, "after=") {
			t.Fatalf("caught-up polls did not repeat the empty page's next link: %q", tail)
		}
	}

	second := srv.Add(50)
	waitIDs(t, 30*time.Second, out, second, "events added while polling empty pages", p)
	p.stop()
	exactlyOnceIDs(t, readAPIOutput(t, out), "okta-audit", append(first, second...))
	t.Logf("%d empty polls in %s", polls, elapsed)
}

// TestAPIOktaMalformedBodiesCounted: bodies that are not a JSON array (an object, a cut array), at the first
// request and after a cursor was saved, are counted in flicker_input_api_errors_total{kind="malformed"} and logged
// with the status; the cursor stays, so every event arrives once.
func TestAPIOktaMalformedBodiesCounted(t *testing.T) {
	t.Parallel()
	srv := oktatest.Start(t, oktatest.Options{Token: apiToken})
	want := srv.Add(300)
	srv.Inject(oktatest.FaultNotArray, 1)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	cfg := writeAPIConfig(t, dir, out, oktaSource("okta-audit", srv.Endpoint(), apiToken, 100))
	addr := freeAddr(t)
	p := start(t, dir, "-c", cfg, "--registry-file", filepath.Join(dir, "reg.db"), "--log-format", "json",
		"--http-addr", addr)
	waitIDs(t, time.Minute, out, want, "the first 300 events", p)

	want = append(want, srv.Add(300)...)
	srv.Inject(oktatest.FaultTruncated, 1)
	srv.Inject(oktatest.FaultNotArray, 1)
	waitIDs(t, time.Minute, out, want, "the events around the broken bodies", p)
	var body string
	waitFor(t, 30*time.Second, "3 malformed bodies counted in /metrics", func() bool {
		code, b, err := get("http://" + addr + "/metrics")
		body = b
		v, ok := labelledMetric(b, "flicker_input_api_errors_total", `input="okta-audit"`, `kind="malformed"`)
		return err == nil && code == 200 && ok && v >= 3
	}, p)
	p.stop()
	if v, _ := labelledMetric(body, "flicker_input_api_errors_total", `input="okta-audit"`, `kind="malformed"`); v != 3 {
		t.Fatalf("malformed bodies counted %v, want 3 (injected)", v)
	}
	if st := srv.Stats(); st.Faults != 3 {
		t.Fatalf("the emulator answered %d faults, want 3", st.Faults)
	}
	exactlyOnceIDs(t, readAPIOutput(t, out), "okta-audit", want)
	logged := 0
	for _, l := range strings.Split(p.stderr.String(), "\n") {
		if strings.Contains(l, "response body is not what the source expects") {
			logged++
			if !strings.Contains(l, `"status":200`) || !strings.Contains(l, `"input":"okta-audit"`) {
				t.Fatalf("the malformed body's log line does not give the status and the source: %s", l)
			}
		}
	}
	if logged != 3 {
		t.Fatalf("%d malformed bodies logged, want 3:\n%s", logged, p.logs())
	}
}

// TestAPIOktaHugePagesOnce: one page of 1000 events of 8 KiB each (about 9 MB), with --once: every event arrives
// once, byte for byte, and flicker exits 0.
func TestAPIOktaHugePagesOnce(t *testing.T) {
	t.Parallel()
	srv := oktatest.Start(t, oktatest.Options{Token: apiToken, ItemPadding: 8 << 10})
	want := srv.Add(1000)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	cfg := writeAPIConfig(t, dir, out, oktaSource("okta-audit", srv.Endpoint(), apiToken, 1000))
	p := start(t, dir, "-c", cfg, "--registry-file", filepath.Join(dir, "reg.db"), "--once", "--log-format", "json")
	if code := p.wait(2 * time.Minute); code != 0 {
		t.Fatalf("--once exit %d:\n%s", code, p.logs())
	}
	evs := readAPIOutput(t, out)
	exactlyOnceIDs(t, evs, "okta-audit", want)
	checkShape(t, evs, oktaOf("okta-audit", srv))
	if n := len(evs[0].Message); n < 8<<10 {
		t.Fatalf("message of %d bytes: the padding was not served", n)
	}
	if st := srv.Stats(); st.Pages != 2 {
		t.Fatalf("%d pages answered, want 2 (1000 events, then the empty page that says caught up)", st.Pages)
	}
}

// TestAPIOktaSlowResponseRetried: responses slower than the source's timeout are given up, logged and retried;
// once the server answers in time every event arrives once.
func TestAPIOktaSlowResponseRetried(t *testing.T) {
	t.Parallel()
	srv := oktatest.Start(t, oktatest.Options{Token: apiToken, Delay: 2 * time.Second})
	want := srv.Add(300)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	cfg := writeAPIConfig(t, dir, out, oktaSource("okta-audit", srv.Endpoint(), apiToken, 100, "timeout: 400ms"))
	p := start(t, dir, "-c", cfg, "--log-format", "json")
	waitFor(t, 30*time.Second, "a request given up after the timeout", func() bool {
		return strings.Contains(p.stderr.String(), "no complete answer within the timeout")
	}, p)
	if n := len(readAPIOutput(t, out)); n != 0 {
		t.Fatalf("%d events arrived although every answer was slower than the timeout", n)
	}
	srv.SetDelay(0)
	waitIDs(t, time.Minute, out, want, "the events once the server is fast", p)
	p.stop()
	exactlyOnceIDs(t, readAPIOutput(t, out), "okta-audit", want)
	for _, l := range strings.Split(p.stderr.String(), "\n") {
		if strings.Contains(l, "no complete answer within the timeout") && !strings.Contains(l, `"input":"okta-audit"`) {
			t.Fatalf("the timeout's log line does not name the source: %s", l)
		}
	}
}

// TestAPIOktaBadTokenKeepsRunning: a 401 is logged as an error naming the source and never the token; the
// process keeps running without hammering the API, and stops cleanly. With --once it exits 1 saying why.
func TestAPIOktaBadTokenKeepsRunning(t *testing.T) {
	t.Parallel()
	const wrong = "00wrongToken-also-never-logged"
	srv := oktatest.Start(t, oktatest.Options{Token: apiToken})
	srv.Add(10)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	cfg := writeAPIConfig(t, dir, out, oktaSource("okta-audit", srv.Endpoint(), wrong, 100))
	p := start(t, dir, "-c", cfg, "--log-format", "json")
	waitFor(t, 30*time.Second, "the 401 logged", func() bool {
		return strings.Contains(p.stderr.String(), "not authorized")
	}, p)
	time.Sleep(1500 * time.Millisecond)
	select {
	case err := <-p.done:
		t.Fatalf("flicker exited (%v) after a 401; it must keep running:\n%s", err, p.logs())
	default:
	}
	var line string
	for _, l := range strings.Split(p.stderr.String(), "\n") {
		if strings.Contains(l, "not authorized") {
			line = l
			break
		}
	}
	if !strings.Contains(line, `"level":"error"`) || !strings.Contains(line, `"input":"okta-audit"`) ||
		!strings.Contains(line, `"status":401`) {
		t.Fatalf("the 401 log line does not say error, the source and the status: %s", line)
	}
	if st := srv.Stats(); st.Unauthorized == 0 || st.Unauthorized > 2 || st.Requests != st.Unauthorized {
		t.Fatalf("emulator: %d requests, %d unauthorized in about 2s: want one or two, retried slowly",
			st.Requests, st.Unauthorized)
	}
	p.stop()
	if n := len(readAPIOutput(t, out)); n != 0 {
		t.Fatalf("%d events arrived with a bad token", n)
	}

	once := start(t, dir, "-c", cfg, "--once", "--log-format", "json")
	if code := once.wait(time.Minute); code != 1 || !strings.Contains(once.stderr.String(), "okta-audit") {
		t.Fatalf("--once with a bad token: exit %d, want 1 naming the source:\n%s", code, once.logs())
	}
	for _, s := range []string{p.stderr.String(), once.stderr.String()} {
		if strings.Contains(s, wrong) || strings.Contains(s, apiToken) {
			t.Fatalf("a token appears in the logs:\n%s", s)
		}
	}
}

// TestAPIRegistryResetStartsOver: with initial_lookback 1h, the first run ships only the events of the last hour;
// a second run only the new ones; `flicker registry reset NAME` makes the next run start over from
// initial_lookback, and a reset of an unknown name exits 2 naming the inputs that have state.
func TestAPIRegistryResetStartsOver(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64 // the emulator's clock offset, to persist events in the past
	srv := oktatest.Start(t, oktatest.Options{Token: apiToken,
		Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	skew.Store(int64(-3 * time.Hour))
	old := srv.Add(300)
	skew.Store(0)
	recent := srv.Add(400)
	dir := t.TempDir()
	out, reg := filepath.Join(dir, "out.ndjson"), filepath.Join(dir, "reg.db")
	cfg := writeAPIConfig(t, dir, out, oktaSource("okta-audit", srv.Endpoint(), apiToken, 200, "initial_lookback: 1h"))
	runOnce := func(what string) {
		t.Helper()
		p := start(t, dir, "-c", cfg, "--registry-file", reg, "--once", "--log-format", "json")
		if code := p.wait(time.Minute); code != 0 {
			t.Fatalf("%s: --once exit %d:\n%s", what, code, p.logs())
		}
	}
	runOnce("first run")
	exactlyOnceIDs(t, readAPIOutput(t, out), "okta-audit", recent)
	newer := srv.Add(100)
	runOnce("second run")
	exactlyOnceIDs(t, readAPIOutput(t, out), "okta-audit", append(slices.Clone(recent), newer...))

	show, err := exec.Command(binary, "registry", "show", "--registry-file", reg).CombinedOutput()
	if err != nil || !strings.Contains(string(show), "okta-audit") || !strings.Contains(string(show), srv.Endpoint()) {
		t.Fatalf("registry show does not list the API cursor (%v):\n%s", err, show)
	}
	unknown := exec.Command(binary, "registry", "reset", "--registry-file", reg, "okta-adit")
	msg, _ := unknown.CombinedOutput()
	if code := unknown.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(msg), "okta-audit") {
		t.Fatalf("reset of an unknown input: exit %d, want 2 naming the inputs with state:\n%s", code, msg)
	}
	reset := exec.Command(binary, "registry", "reset", "--registry-file", reg, "okta-audit")
	if msg, err := reset.CombinedOutput(); err != nil || !strings.Contains(string(msg), "okta-audit") {
		t.Fatalf("registry reset okta-audit: %v\n%s", err, msg)
	}
	if _, ok, export := exportCursor(t, reg, "okta-audit"); ok {
		t.Fatalf("the cursor is still there after the reset:\n%s", export)
	}

	runOnce("run after the reset")
	counts := idCounts(readAPIOutput(t, out))
	for _, id := range append(slices.Clone(recent), newer...) {
		if counts[id] != 2 {
			t.Fatalf("event %s arrived %d times, want twice: once before the reset and once after", id, counts[id])
		}
	}
	for _, id := range old {
		if counts[id] != 0 {
			t.Fatalf("event %s, older than initial_lookback, arrived %d times", id, counts[id])
		}
	}
}

// TestAPIActivePassiveS3: two instances on one S3 registry in MinIO, B with --standby; A ships while events are
// added, is killed -9, B takes over the lease and continues from the cursor in the last snapshot: every event
// arrives, and only events after that snapshot's cursor arrive twice.
func TestAPIActivePassiveS3(t *testing.T) {
	t.Parallel()
	f := newS3Fixture(t)
	srv := oktatest.Start(t, oktatest.Options{Token: apiToken, LateEvery: 89})
	f.config = writeAPIConfig(t, f.dir, f.outPath, oktaSource("okta-audit", srv.Endpoint(), apiToken, 100))

	a := f.run("a")
	fd := feed(t, srv.Add, 6000, 200, 50*time.Millisecond)
	waitEvents(t, time.Minute, f.outPath, 1500, a)
	b := f.run("b", "--standby")
	waitFor(t, time.Minute, "instance B to wait as a standby", func() bool {
		return strings.Contains(b.stderr.String(), "standby: waiting for the lease")
	}, b)
	waitFor(t, time.Minute, "a snapshot holding the API cursor", func() bool {
		_, ok, err := f.snapshotCursor("okta-audit") // err: replaced while downloading; A snapshots every 200ms
		return ok && err == nil
	}, a)
	a.kill()
	shipped := len(readAPIOutput(t, f.outPath))
	c, ok, err := f.snapshotCursor("okta-audit")
	if err != nil || !ok {
		t.Fatalf("no cursor in the snapshot after the crash (%v)", err)
	}
	lastAcked := c.RecentIDs[len(c.RecentIDs)-1]

	want := fd.wait(t)
	waitIDs(t, 2*time.Minute, f.outPath, want, "instance B to ship every event", b)
	waitPolls(t, func() int { return srv.Stats().Requests }, 2, b)
	b.stop()
	if logs := b.stderr.String(); !strings.Contains(logs, "took over a silent lease") ||
		!strings.Contains(logs, "api source resumes from its saved cursor") {
		t.Fatalf("B did not take over A's lease and resume from the snapshot's cursor:\n%s", b.logs())
	}
	evs := readAPIOutput(t, f.outPath)
	checkShape(t, evs, oktaOf("okta-audit", srv))
	twice := checkReplayBound(t, srv.UUIDs(), idCounts(evs), lastAcked)
	t.Logf("A killed with %d events shipped; the snapshot's cursor after %s: %d re-sent by B", shipped, lastAcked, twice)
}

// snapshotCursor downloads the latest snapshot and returns input's cursor, false when there is no snapshot yet or
// its cursor has no delivered events. A snapshot replaced during the download is an error.
func (f *s3Fixture) snapshotCursor(input string) (store.CursorRecord, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := f.client.StatObject(ctx, f.keys.Bucket, f.keys.Latest, minio.StatObjectOptions{}); err != nil {
		return store.CursorRecord{}, false, nil
	}
	path := filepath.Join(f.dir, "latest-api.db")
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return store.CursorRecord{}, false, err
	}
	if _, _, err := snapshot.Fetch(ctx, f.client, f.keys.Bucket, f.keys.Latest, "", path, nil); err != nil {
		return store.CursorRecord{}, false, fmt.Errorf("fetch the latest snapshot: %w", err)
	}
	db, err := store.Open(path, store.Options{ReadOnly: true}, zerolog.Nop())
	if err != nil {
		return store.CursorRecord{}, false, err
	}
	defer db.Close()
	c, ok, err := db.Cursor(input)
	return c, ok && len(c.RecentIDs) > 0, err
}
