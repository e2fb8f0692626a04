package main_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/sinks/http/collecttest"
	"github.com/flickerlog/flicker/sources/api/oktatest"
	"github.com/flickerlog/flicker/store"
)

// These tests check per-output event ids through the binary: an Okta source whose positions count from 0 in
// every run, a file output that stays healthy and an HTTP output that answers 503 until the restart. The file
// output must never receive a uuid twice, the HTTP output every uuid once.

// apiOutidsBefore and apiOutidsAfter are how many events the emulator holds before the first run and gets
// while flicker is stopped.
const (
	apiOutidsBefore = 2000
	apiOutidsAfter  = 500
)

// apiOutidsSetup starts an emulator with apiOutidsBefore events and writes a config with an Okta source (pages of
// 200), a file output named healthy and an HTTP output named down that answers its first accepted requests,
// then 503 while failing is set (one request at a time, so the first are the first batches); batches hold batch
// events at most. It returns the flags of both runs.
func apiOutidsSetup(t *testing.T, dir string, batch int, accepted int64) (srv *oktatest.Server, out, reg string,
	args []string, down *collecttest.Server, failing *atomic.Bool,
) {
	t.Helper()
	srv = oktatest.Start(t, oktatest.Options{Token: apiToken})
	srv.Add(apiOutidsBefore)
	failing = new(atomic.Bool)
	failing.Store(true)
	down = collecttest.Start(t, collecttest.FailWith(func(n int) int {
		if int64(n) > accepted && failing.Load() {
			return http.StatusServiceUnavailable
		}
		return 0
	}))
	out, reg = filepath.Join(dir, "out.ndjson"), filepath.Join(dir, "reg.db")
	cfg := "api_sources:\n" + oktaSource("okta-audit", srv.Endpoint(), apiToken, 200) + fmt.Sprintf(`outputs:
  - type: file
    name: healthy
    path: %q
  - type: http
    name: down
    url: %q
    retry: {initial: 50ms, max: 200ms}
    workers: 1
batch:
  max_events: %d
  max_wait: 20ms
`, out, down.URL(), batch)
	path := filepath.Join(dir, "api.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, out, reg, []string{"-c", path, "--registry-file", reg, "--log-format", "json",
		"--shutdown-timeout", "3s"}, down, failing
}

// storedOutputIDs counts the per-output event ids in the registry of a stopped flicker.
func storedOutputIDs(t *testing.T, reg string) int {
	t.Helper()
	db, err := store.Open(reg, store.Options{ReadOnly: true}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, err := db.OutputIDCount("okta-audit")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// restartAPIOutids adds apiOutidsAfter events, lets the HTTP output recover and runs flicker --once; it returns
// the logs and every uuid the emulator holds.
func restartAPIOutids(t *testing.T, dir string, srv *oktatest.Server, args []string, failing *atomic.Bool) (string, []string) {
	t.Helper()
	srv.Add(apiOutidsAfter)
	failing.Store(false)
	p := start(t, dir, append(args[:len(args):len(args)], "--once")...)
	if code := p.wait(2 * time.Minute); code != 0 {
		t.Fatalf("restart exited %d:\n%s", code, p.logs())
	}
	return p.logs(), srv.UUIDs()
}

// checkAPIDown fails unless the HTTP output received every uuid exactly once.
func checkAPIDown(t *testing.T, srv *oktatest.Server, uuids []string, down *collecttest.Server, logs string) {
	t.Helper()
	for i, id := range uuids {
		item, _ := srv.Event(id)
		if c := down.Count(string(item)); c != 1 {
			t.Fatalf("the output that was down received event %d (%s) %d times, want once (%d events in all); logs:\n%s",
				i, id, c, down.Total(), logs)
		}
	}
}

// TestAPIHealthyOutputReceivesNoUUIDTwiceAfterSIGTERM: the file output accepts all 2000 events while the HTTP
// output fails; SIGTERM; 500 more events; a restart with the HTTP output up. The file output receives the 500
// new events and nothing again, the HTTP output all 2500 once, and the registry keeps no id afterwards.
func TestAPIHealthyOutputReceivesNoUUIDTwiceAfterSIGTERM(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, out, reg, args, down, failing := apiOutidsSetup(t, dir, 200, 0)
	p := start(t, dir, args...)
	waitIDs(t, time.Minute, out, srv.UUIDs(), "the healthy output to receive every event", p)
	waitFor(t, time.Minute, "the HTTP output to be tried", func() bool { return down.Requests() > 0 }, p)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	// The exit code may be 1: the drain gives up on the failing output (see runOutposFirst).
	if code := p.wait(time.Minute); code != 0 && code != 1 {
		t.Fatalf("exit %d after SIGTERM; logs:\n%s", code, p.logs())
	}
	exactlyOnceIDs(t, readAPIOutput(t, out), "okta-audit", srv.UUIDs())
	stored := storedOutputIDs(t, reg)

	logs, uuids := restartAPIOutids(t, dir, srv, args, failing)
	evs := readAPIOutput(t, out)
	if counts := idCounts(evs); len(evs) != len(uuids) {
		twice := 0
		for _, c := range counts {
			if c > 1 {
				twice++
			}
		}
		t.Fatalf("the healthy output holds %d events for %d uuids (%d arrived twice); logs:\n%s", len(evs),
			len(uuids), twice, logs)
	}
	exactlyOnceIDs(t, evs, "okta-audit", uuids)
	checkShape(t, evs, oktaOf("okta-audit", srv))
	checkAPIDown(t, srv, uuids, down, logs)
	if stored != apiOutidsBefore {
		t.Fatalf("%d event ids stored after the SIGTERM, want the healthy output's %d", stored, apiOutidsBefore)
	}
	if n := storedOutputIDs(t, reg); n != 0 {
		t.Fatalf("%d event ids stored once every output caught up, want none", n)
	}
}

// TestAPIHealthyOutputIDsSurviveKill9: the same first run ends with kill -9 once the healthy output's ids had time
// to be saved and committed: it accepted every event, then the registry's seq stayed unchanged for a second
// (ids are swept every --commit-interval and saved at the second sweep that finds them uncommitted; nothing else
// is written while the HTTP output fails). After the restart the healthy output receives none of them again,
// the HTTP output every event once.
func TestAPIHealthyOutputIDsSurviveKill9(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, out, _, args, down, failing := apiOutidsSetup(t, dir, 200, 0)
	addr := freeAddr(t)
	p := start(t, dir, append(args[:len(args):len(args)], "--http-addr", addr, "--commit-interval", "50ms")...)
	metric := func(name, label string) float64 { return scrapeMetric(addr, name, label) }
	waitFor(t, time.Minute, "the healthy output to accept every event while the other fails", func() bool {
		return metric("flicker_output_events_total", `output="healthy"`) == apiOutidsBefore && down.Requests() > 0
	}, p)
	waitRegistrySettled(t, addr, time.Second, p)
	p.kill()
	if got := len(readAPIOutput(t, out)); got != apiOutidsBefore {
		t.Fatalf("the healthy output holds %d events before the restart, want %d", got, apiOutidsBefore)
	}

	logs, uuids := restartAPIOutids(t, dir, srv, args, failing)
	counts := idCounts(readAPIOutput(t, out))
	dups := 0
	for i, id := range uuids {
		switch c := counts[id]; {
		case c < 1 || c > 2:
			t.Fatalf("healthy output received event %d (%s) %d times; logs:\n%s", i, id, c, logs)
		case c == 2:
			dups++
		}
	}
	if dups > 0 {
		t.Fatalf("healthy output received %d of %d events again after kill -9, want none", dups, apiOutidsBefore)
	}
	checkAPIDown(t, srv, uuids, down, logs)
}

// TestAPIHealthyOutputPartlyAcceptedPage: batches of 100 cut the pages of 200 in two, and the HTTP output accepts
// its first request before it fails: the committed position ends inside the first page. After SIGTERM and a
// restart, the file output receives only the new events and the HTTP output every event once: the cursor saved
// for the half-done page requests it again and skips the events every output took, and the file output's ids
// cover the rest.
func TestAPIHealthyOutputPartlyAcceptedPage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, out, _, args, down, failing := apiOutidsSetup(t, dir, 100, 1)
	p := start(t, dir, args...)
	waitIDs(t, time.Minute, out, srv.UUIDs(), "the healthy output to receive every event", p)
	waitFor(t, time.Minute, "the HTTP output to fail after its first request",
		func() bool { return down.Requests() > 1 }, p)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(time.Minute); code != 0 && code != 1 {
		t.Fatalf("exit %d after SIGTERM; logs:\n%s", code, p.logs())
	}
	if n := down.Total(); n == 0 || n%200 == 0 {
		t.Fatalf("the HTTP output accepted %d events before it failed: the test needs part of a page", n)
	}

	logs, uuids := restartAPIOutids(t, dir, srv, args, failing)
	evs := readAPIOutput(t, out)
	if len(evs) != len(uuids) {
		t.Fatalf("the healthy output holds %d events for %d uuids; logs:\n%s", len(evs), len(uuids), logs)
	}
	exactlyOnceIDs(t, evs, "okta-audit", uuids)
	checkAPIDown(t, srv, uuids, down, logs)
}

// TestAPIEndpointChangeDropsFormerIDs: after the same first run (2000 ids stored for the file output), the
// source's endpoint changes to another org: the ids stored under the former endpoint can never match again and
// the restart drops them; the new org's events reach both outputs.
func TestAPIEndpointChangeDropsFormerIDs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, out, reg, args, down, failing := apiOutidsSetup(t, dir, 200, 0)
	p := start(t, dir, args...)
	waitIDs(t, time.Minute, out, srv.UUIDs(), "the healthy output to receive every event", p)
	waitFor(t, time.Minute, "the HTTP output to be tried", func() bool { return down.Requests() > 0 }, p)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(time.Minute); code != 0 && code != 1 {
		t.Fatalf("exit %d after SIGTERM; logs:\n%s", code, p.logs())
	}
	if n := storedOutputIDs(t, reg); n != apiOutidsBefore {
		t.Fatalf("%d event ids stored after the SIGTERM, want %d", n, apiOutidsBefore)
	}

	other := oktatest.Start(t, oktatest.Options{Token: apiToken})
	want := other.Add(300)
	cfg, err := os.ReadFile(args[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(args[1], bytes.ReplaceAll(cfg, []byte(srv.Endpoint()), []byte(other.Endpoint())), 0o644); err != nil {
		t.Fatal(err)
	}
	failing.Store(false)
	p2 := start(t, dir, append(args[:len(args):len(args)], "--once")...)
	if code := p2.wait(2 * time.Minute); code != 0 {
		t.Fatalf("restart exited %d:\n%s", code, p2.logs())
	}
	if n := storedOutputIDs(t, reg); n != 0 {
		t.Fatalf("%d event ids stored after the restart on another endpoint, want none; logs:\n%s", n, p2.logs())
	}
	checkAPIDown(t, other, want, down, p2.logs())
	counts := idCounts(readAPIOutput(t, out))
	for _, id := range want {
		if counts[id] != 1 {
			t.Fatalf("the healthy output received event %s of the new org %d times, want once", id, counts[id])
		}
	}
}
