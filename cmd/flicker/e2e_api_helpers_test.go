package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sources/api/oktatest"
)

// These tests run the flicker binary with api_sources against the emulators of sources/api/oktatest and
// sources/api/apitest on 127.0.0.1, shipping into a file output. An event is recognised by its id (the Okta uuid)
// and its message must be the item's JSON exactly as the emulator serves it.

// apiToken is the emulators' valid token; no log line or export may contain it.
const apiToken = "00e2eOktaToken-must-never-be-logged"

// apiEvent is one API event read back from the file output.
type apiEvent struct {
	Timestamp string `json:"@timestamp"`
	Message   string `json:"message"`
	ID        string `json:"id"`
	Input     struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"input"`
	API struct {
		Endpoint string `json:"endpoint"`
	} `json:"api"`
}

// readAPIOutput parses every complete line of the file output at path; a line cut by a kill -9 is skipped.
func readAPIOutput(t *testing.T, path string) []apiEvent { return readEvents[apiEvent](t, path) }

// idCounts maps each event id to how often it arrived.
func idCounts(evs []apiEvent) map[string]int {
	c := make(map[string]int, len(evs))
	for _, ev := range evs {
		c[ev.ID]++
	}
	return c
}

// scanIDs counts the ids of the complete lines of the output at path without decoding them (waits read the file
// many times): the first `,"id":"` of a line is the id member, since the message before it is an escaped string.
func scanIDs(t *testing.T, path string) (counts map[string]int, lines int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	counts = map[string]int{}
	for len(b) > 0 {
		line, rest, ok := bytes.Cut(b, []byte{'\n'})
		if !ok {
			break // a line being written
		}
		b = rest
		if _, after, ok := bytes.Cut(line, []byte(`,"id":"`)); ok {
			if id, _, ok := bytes.Cut(after, []byte{'"'}); ok {
				counts[string(id)]++
				lines++
			}
		}
	}
	return counts, lines
}

// waitIDs waits until every id of want is in the output at path.
func waitIDs(t *testing.T, timeout time.Duration, path string, want []string, what string, p *proc) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		counts, lines := scanIDs(t, path)
		missing := 0
		for _, id := range want {
			if counts[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %d of %d missing (%d events arrived); logs:\n%s",
				timeout, what, missing, len(want), lines, p.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitEvents waits until at least n events are in the output at path.
func waitEvents(t *testing.T, timeout time.Duration, path string, n int, p *proc) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		_, lines := scanIDs(t, path)
		if lines >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %d events, %d arrived; logs:\n%s", timeout, n, lines, p.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitPolls waits until an emulator answered n more requests than it had when called: flicker polled past the
// last event n times, so a page it would wrongly ship again has been read and is delivered by the SIGTERM's
// drain. It replaces a fixed sleep that a loaded machine could outrun.
func waitPolls(t *testing.T, requests func() int, n int, p *proc) {
	t.Helper()
	want := requests() + n
	waitFor(t, time.Minute, fmt.Sprintf("%d more polls", n), func() bool { return requests() >= want }, p)
}

// source describes an emulator for checkShape: the input name, the endpoint and the exact item JSON by id.
type source struct {
	input, endpoint string
	item            func(id string) ([]byte, bool)
	published       func(id string) (time.Time, bool) // nil: @timestamp not checked
}

func oktaOf(input string, srv *oktatest.Server) source {
	return source{input: input, endpoint: srv.Endpoint(), item: srv.Event, published: srv.Published}
}

// checkShape checks every event of src's input in evs: the message is the item as served, byte for byte, input
// and api.endpoint name the source, and @timestamp is the item's published time.
func checkShape(t *testing.T, evs []apiEvent, src source) {
	t.Helper()
	for _, ev := range evs {
		if ev.Input.Name != src.input {
			continue
		}
		item, ok := src.item(ev.ID)
		if !ok {
			t.Fatalf("event id %q is not an item of %s", ev.ID, src.input)
		}
		if ev.Message != string(item) {
			t.Fatalf("event %s: message is not the item as served:\n got %.200s\nwant %.200s", ev.ID, ev.Message, item)
		}
		if ev.Input.Type != "api" || ev.API.Endpoint != src.endpoint {
			t.Fatalf("event %s: input type %q, api.endpoint %q; want api and %s", ev.ID, ev.Input.Type, ev.API.Endpoint,
				src.endpoint)
		}
		if src.published == nil {
			continue
		}
		want, _ := src.published(ev.ID)
		got, err := time.Parse(time.RFC3339Nano, ev.Timestamp)
		if err != nil || !got.Equal(want) {
			t.Fatalf("event %s: @timestamp %q, want published %s", ev.ID, ev.Timestamp, want.Format(time.RFC3339Nano))
		}
	}
}

// exactlyOnceIDs checks that every id of want arrived exactly once and nothing else of input arrived.
func exactlyOnceIDs(t *testing.T, evs []apiEvent, input string, want []string) {
	t.Helper()
	counts := map[string]int{}
	for _, ev := range evs {
		if ev.Input.Name == input {
			counts[ev.ID]++
		}
	}
	for _, id := range want {
		if counts[id] != 1 {
			t.Fatalf("%s: event %s arrived %d times, want exactly once (%d events, %d distinct, %d wanted)",
				input, id, counts[id], len(evs), len(counts), len(want))
		}
	}
	if len(counts) != len(want) {
		t.Fatalf("%s: %d distinct events arrived, want %d", input, len(counts), len(want))
	}
}

// apiSource is one api_sources entry: name, endpoint and more "key: value" lines.
func apiSource(name, endpoint string, lines ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %s\n    endpoint: %q\n", name, endpoint)
	for _, l := range lines {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// oktaSource is an okta entry with pages of limit events, polling every 100ms unless lines set the frequency.
func oktaSource(name, endpoint, token string, limit int, lines ...string) string {
	base := []string{"type: okta", fmt.Sprintf("auth: {okta_token: %q}", token),
		fmt.Sprintf("params: {limit: %q}", strconv.Itoa(limit))}
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "polling_frequency") }) {
		base = append(base, "polling_frequency_ms: 100")
	}
	return apiSource(name, endpoint, append(base, lines...)...)
}

// writeAPIConfig writes a config shipping the api_sources entries to a file output at outPath.
func writeAPIConfig(t *testing.T, dir, outPath string, sources ...string) string {
	t.Helper()
	cfg := "api_sources:\n" + strings.Join(sources, "") + fmt.Sprintf(`outputs:
  - type: file
    name: out
    path: %q
batch:
  max_wait: 20ms
`, outPath)
	path := filepath.Join(dir, "api.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// feeder adds events to an emulator in batches while flicker runs: the events of one Add share a published time,
// so batches of a few hundred spread the times like a live org.
type feeder struct {
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	added []string
}

// feed adds total events, batch at a time, one batch every interval, in a goroutine that ends when done or
// when the test ends.
func feed(t *testing.T, add func(int) []string, total, batch int, interval time.Duration) *feeder {
	f := &feeder{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for n := 0; n < total; n += batch {
			ids := add(min(batch, total-n))
			f.mu.Lock()
			f.added = append(f.added, ids...)
			f.mu.Unlock()
			select {
			case <-tick.C:
			case <-f.stop:
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(f.stop)
		<-f.done
	})
	return f
}

func (f *feeder) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.added)
}

// wait waits for the last batch and returns every id added.
func (f *feeder) wait(t *testing.T) []string {
	t.Helper()
	select {
	case <-f.done:
	case <-time.After(time.Minute):
		t.Fatal("the feeder did not finish within a minute")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.added)
}

// exportedCursor is an API cursor in `flicker registry export`.
type exportedCursor struct {
	Input     string   `json:"input"`
	Cursor    string   `json:"cursor"`
	RecentIDs []string `json:"recent_ids"`
	Endpoint  string   `json:"endpoint"`
}

// exportCursor runs `flicker registry export` on a local registry and returns input's cursor and the export.
func exportCursor(t *testing.T, reg, input string) (exportedCursor, bool, string) {
	t.Helper()
	out, err := exec.Command(binary, "registry", "export", "--registry-file", reg).Output()
	if err != nil {
		t.Fatalf("registry export: %v\n%s", err, out)
	}
	var doc struct {
		Cursors []exportedCursor `json:"cursors"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, out)
	}
	for _, c := range doc.Cursors {
		if c.Input == input {
			return c, true, string(out)
		}
	}
	return exportedCursor{}, false, string(out)
}

// checkReplayBound checks a restart after a crash whose last committed cursor ended at lastAcked: every uuid
// arrived, the ones up to lastAcked (persistence order) exactly once, later ones at most twice. It returns how many
// arrived twice.
func checkReplayBound(t *testing.T, uuids []string, counts map[string]int, lastAcked string) int {
	t.Helper()
	cut := slices.Index(uuids, lastAcked)
	if cut < 0 {
		t.Fatalf("the committed cursor's last id %s is not an event of the emulator", lastAcked)
	}
	twice := 0
	for i, id := range uuids {
		c := counts[id]
		switch {
		case c == 0:
			t.Fatalf("event %d (%s) lost", i, id)
		case i <= cut && c != 1:
			t.Fatalf("event %d (%s) arrived %d times although the committed cursor covered events 0..%d", i, id, c, cut)
		case c > 2:
			t.Fatalf("event %d (%s) arrived %d times: one crash re-sends a page at most once", i, id, c)
		case c == 2:
			twice++
		}
	}
	if len(counts) != len(uuids) {
		t.Fatalf("%d distinct ids arrived, the emulator has %d events", len(counts), len(uuids))
	}
	return twice
}
