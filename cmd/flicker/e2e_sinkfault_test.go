package main_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sinks/elasticsearch/estest"
	"github.com/flickerlog/flicker/sinks/http/collecttest"
)

// These tests run the binary against the output-side fault servers the chaos harness uses (collecttest for the
// http output, estest for the elasticsearch output), switching their modes while flicker ships.

// TestHTTPOutputThroughFaultModes: the http output's collector fails with 503, then answers 429 with Retry-After,
// then stalls, then recovers, lines being appended in every phase: every line arrives.
func TestHTTPOutputThroughFaultModes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	coll := collecttest.Start(t)
	coll.Fail(http.StatusServiceUnavailable)
	cfg := writeOutputsConfig(t, dir, filepath.Join(dir, "*.log"), fmt.Sprintf(`  - type: http
    url: %q
    retry: {initial: 50ms, max: 200ms}
    max_retry_after: 1s
`, coll.URL()), "")
	app := filepath.Join(dir, "app.log")
	appendLines(t, app, "m", 0, 300)
	p := start(t, dir, "-c", cfg, "--registry-file", filepath.Join(dir, "reg.db"), "--log-format", "json")
	waitFor(t, time.Minute, "two requests answered 503", func() bool { return coll.Answered(503) >= 2 }, p)

	coll.TooMany(time.Second)
	appendLines(t, app, "m", 300, 600)
	waitFor(t, time.Minute, "two requests answered 429", func() bool { return coll.Answered(429) >= 2 }, p)

	coll.Stall()
	appendLines(t, app, "m", 600, 900)
	waitFor(t, time.Minute, "a stalled request", func() bool { return coll.Stalled() > 0 }, p)
	if n := coll.Total(); n != 0 {
		t.Fatalf("%d events accepted before the collector was healthy", n)
	}

	coll.Healthy()
	waitFor(t, time.Minute, "every line at the collector", func() bool {
		for i := range 900 {
			if coll.Count(line("m", i)) == 0 {
				return false
			}
		}
		return true
	}, p)
	p.stop()
	t.Logf("answers %v, %d events for 900 lines", coll.Answers(), coll.Total())
}

// TestElasticsearchOutputItem429s: the emulator answers 30% of the items 429 es_rejected_execution_exception;
// the output retries them until every line is indexed.
func TestElasticsearchOutputItem429s(t *testing.T) {
	t.Parallel()
	es := estest.Start(t, estest.Options{})
	es.FailItemFraction(0.3, 16)
	dir := t.TempDir()
	cfg := writeOutputsConfig(t, dir, filepath.Join(dir, "*.log"), fmt.Sprintf(`  - type: elasticsearch
    hosts: [%q]
    index: logs-app
    retry: {initial: 50ms, max: 200ms}
`, es.URL()), "")
	const lines = 1000
	appendLines(t, filepath.Join(dir, "app.log"), "e", 0, lines)
	p := start(t, dir, "-c", cfg, "--registry-file", filepath.Join(dir, "reg.db"), "--once", "--log-format", "json")
	if code := p.wait(2 * time.Minute); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.logs())
	}
	delivered := es.Deliveries()
	for i := range lines {
		if delivered[line("e", i)] == 0 {
			t.Fatalf("line %d never indexed; logs:\n%s", i, p.logs())
		}
	}
	attempts := 0
	for _, d := range es.Docs() {
		attempts += es.Attempts(d.ID)
	}
	if attempts <= lines {
		t.Fatalf("%d actions for %d lines: no item was answered 429 and retried", attempts, lines)
	}
	t.Logf("%d actions for %d lines", attempts, lines)
}
