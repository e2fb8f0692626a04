package main_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMissingFileLossCounted: a file the registry knew held unread bytes, deleted while flicker was down, is
// counted in flicker_input_missing_bytes_lost_total and logged with its path, once: a later start from the same
// registry counts nothing again. The output (a local http collector) refuses everything in the first run, so the
// registry keeps the file at offset 0 with its size.
func TestMissingFileLossCounted(t *testing.T) {
	t.Parallel()
	r := newCollectorRun(t, "*.log", "")
	app, coll := filepath.Join(r.logs, "app.log"), r.coll
	coll.Fail(http.StatusServiceUnavailable)
	run := func() (*proc, string) {
		addr := freeAddr(t)
		return r.start(t, "--http-addr", addr), addr
	}
	const metric, label = "flicker_input_missing_bytes_lost_total", `input="app",type="file"`

	appendLines(t, app, "gone", 0, 50)
	fi, err := os.Stat(app)
	if err != nil {
		t.Fatal(err)
	}
	p, addr := run()
	waitFor(t, 30*time.Second, "a refused request", func() bool { return coll.Requests() > 0 }, p)
	waitRegistrySettled(t, addr, 300*time.Millisecond, p)
	p.kill()
	if err := os.Remove(app); err != nil {
		t.Fatal(err)
	}

	coll.Healthy()
	p, addr = run()
	waitFor(t, 30*time.Second, "the loss counted", func() bool { return scrapeMetric(addr, metric, label) > 0 }, p)
	if got := scrapeMetric(addr, metric, label); got != float64(fi.Size()) {
		t.Fatalf("%s %v, want the file's %d unread bytes", metric, got, fi.Size())
	}
	warn := lineWith(p.logs(), "a file with unread data was not found")
	if !strings.Contains(warn, `"path":"`+app+`"`) || !strings.Contains(warn, fmt.Sprintf(`"lost_bytes":%d`, fi.Size())) {
		t.Fatalf("no warning naming %s and its lost bytes:\n%s", app, p.logs())
	}
	waitRegistrySettled(t, addr, 300*time.Millisecond, p)
	p.stop()

	p, addr = run()
	waitFor(t, 30*time.Second, "the metrics", func() bool { return scrapeMetric(addr, metric, label) >= 0 }, p)
	time.Sleep(500 * time.Millisecond) // several scans
	if got := scrapeMetric(addr, metric, label); got != 0 {
		t.Fatalf("the next start counted %v missing bytes again", got)
	}
	p.stop()
}
