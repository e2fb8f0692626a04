package main_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sources/api/apitest"
)

// These tests run the flicker binary with api_sources against the emulators of sources/api/oktatest and
// sources/api/apitest on 127.0.0.1, shipping into a file output. An event is recognised by its id (the Okta uuid)
// and its message must be the item's JSON exactly as the emulator serves it.

// TestAPIGenericBodyCursorAndNextURL: the generic type against a body-cursor API in both styles (a cursor always
// returned, as 1Password; an empty one on the last page, as Slack) and a next-URL API (Microsoft Graph), items
// added while flicker runs and while it is stopped: each delivered once, exactly as served.
func TestAPIGenericBodyCursorAndNextURL(t *testing.T) {
	t.Parallel()
	const token = "generic-bearer-token-not-for-logs"
	always := apitest.StartBodyCursor(t, apitest.BodyCursorOptions{Token: token})
	slack := apitest.StartBodyCursor(t, apitest.BodyCursorOptions{Token: token, EmptyCursorAtEnd: true})
	graph := apitest.StartNextURL(t, apitest.NextURLOptions{Token: token})
	bodyCursor := func(name, endpoint string) string {
		return apiSource(name, endpoint, "type: generic", "polling_frequency_ms: 100",
			fmt.Sprintf("auth: {bearer_token: %q}", token), "pagination: body_cursor",
			"cursor_path: response_metadata.next_cursor", "cursor_param: "+apitest.BodyCursorParam,
			"has_more_path: has_more", "items_path: items", "time_path: "+apitest.BodyCursorTimeField,
			"since_param: "+apitest.DefaultSinceParam, "params: {limit: \"200\"}")
	}
	dir := t.TempDir()
	out, reg := filepath.Join(dir, "out.ndjson"), filepath.Join(dir, "reg.db")
	cfg := writeAPIConfig(t, dir, out, bodyCursor("onepassword", always.Endpoint()), bodyCursor("slack", slack.Endpoint()),
		apiSource("graph", graph.Endpoint(), "type: generic", "polling_frequency_ms: 100",
			fmt.Sprintf("auth: {bearer_token: %q}", token), "pagination: next_url",
			fmt.Sprintf("next_url_path: %q", apitest.NextURLLinkField), "items_path: value",
			"time_path: "+apitest.NextURLTimeField, "since_param: "+apitest.DefaultSinceParam,
			fmt.Sprintf("params: {%q: \"100\"}", apitest.NextURLLimit)))
	args := []string{"-c", cfg, "--registry-file", reg, "--log-format", "json"}

	type emulator struct {
		name string
		add  func(int) []string
		src  source
		want []string
	}
	apis := []*emulator{
		{name: "onepassword", add: always.Add,
			src: source{input: "onepassword", endpoint: always.Endpoint(), item: always.Item}},
		{name: "slack", add: slack.Add, src: source{input: "slack", endpoint: slack.Endpoint(), item: slack.Item}},
		{name: "graph", add: graph.Add, src: source{input: "graph", endpoint: graph.Endpoint(), item: graph.Item}},
	}
	addAll := func(n int) {
		for _, a := range apis {
			a.want = append(a.want, a.add(n)...)
		}
	}
	waitAll := func(p *proc, what string) {
		for _, a := range apis {
			waitIDs(t, time.Minute, out, a.want, a.name+": "+what, p)
		}
	}
	addAll(700)
	p := start(t, dir, args...)
	waitAll(p, "the first 700 items")
	for range 3 {
		addAll(150)
		time.Sleep(150 * time.Millisecond)
	}
	waitAll(p, "items added while running")
	p.stop()
	addAll(120)
	p2 := start(t, dir, args...)
	waitAll(p2, "items added while stopped")
	addAll(80)
	waitAll(p2, "items added after the restart")
	// Each source polled past its last item twice: a page read again is delivered by the stop's drain.
	waitPolls(t, func() int { return always.Stats().Requests }, 2, p2)
	waitPolls(t, func() int { return slack.Stats().Requests }, 2, p2)
	waitPolls(t, func() int { return graph.Stats().Requests }, 2, p2)
	p2.stop()

	evs := readAPIOutput(t, out)
	for _, a := range apis {
		exactlyOnceIDs(t, evs, a.name, a.want)
		checkShape(t, evs, a.src)
	}
	if logs := p.stderr.String() + p2.stderr.String(); strings.Contains(logs, token) {
		t.Fatal("the bearer token appears in the logs")
	}
}

// labelledMetric returns the value of the sample of name whose labels include each of labels (`key="value"`).
func labelledMetric(body, name string, labels ...string) (float64, bool) {
	for _, l := range strings.Split(body, "\n") {
		rest, ok := strings.CutPrefix(l, name+"{")
		if !ok {
			continue
		}
		lbls, val, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		match := true
		for _, want := range labels {
			match = match && slices.Contains(strings.Split(lbls, ","), want)
		}
		if match {
			v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			return v, err == nil
		}
	}
	return 0, false
}
