package main_test

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/flickerlog/flicker/sinks/elasticsearch/estest"
	"github.com/flickerlog/flicker/sinks/http/collecttest"
)

// These tests check per-output positions through the binary (DESIGN.md section 6): with one output down, a
// SIGTERM whose drain gives up on it, and a restart with both up, the healthy output receives nothing again and
// the other one receives every event exactly once.

// healthyOutput is one output kind in the healthy role.
type healthyOutput struct {
	config   string                // its entry under outputs:, named healthy
	args     []string              // the registry flags (and any other) of both runs
	first    []string              // flags of the first run only
	restart  []string              // flags of the restart only
	shutdown string                // --shutdown-timeout
	env      []string              // added to the environment (S3 settings)
	stdout   io.Writer             // the child's stdout
	logPath  string                // the log file shipped
	received func() map[string]int // every message it received, with how many times
	// objects, for an output whose replays are idempotent (S3: object keys derive from event ids, so counting
	// messages cannot see a re-sent object), lists what it wrote: key -> last modified.
	objects func() map[string]time.Time
}

// sumCounts is how many events arrived, duplicates included.
func sumCounts(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// localHealthy is the common part of the kinds without S3: the log and a local registry in dir.
func localHealthy(dir, config string, received func() map[string]int) healthyOutput {
	return healthyOutput{config: config, args: []string{"--registry-file", filepath.Join(dir, "reg.db")},
		shutdown: "3s", stdout: os.Stdout, logPath: filepath.Join(dir, "logs", "app.log"), received: received}
}

var healthyKinds = []struct {
	name  string
	setup func(t *testing.T, dir string) healthyOutput
}{
	{"file", func(t *testing.T, dir string) healthyOutput {
		out := filepath.Join(dir, "out.ndjson")
		return localHealthy(dir, fmt.Sprintf("  - type: file\n    name: healthy\n    path: %q\n", out),
			func() map[string]int { return countMessages(readOutput(t, out)) })
	}},
	{"stdout", func(t *testing.T, dir string) healthyOutput {
		out := filepath.Join(dir, "stdout.ndjson")
		f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		h := localHealthy(dir, "  - type: stdout\n    name: healthy\n",
			func() map[string]int { return countMessages(readOutput(t, out)) })
		h.stdout = f
		return h
	}},
	{"http", func(t *testing.T, dir string) healthyOutput {
		coll := collecttest.Start(t)
		return localHealthy(dir, fmt.Sprintf("  - type: http\n    name: healthy\n    url: %q\n", coll.URL()),
			coll.Messages)
	}},
	{"elasticsearch", func(t *testing.T, dir string) healthyOutput {
		// Indexed counts a document indexed twice (same _id, _version 2) as a duplicate.
		es := estest.Start(t, estest.Options{})
		return localHealthy(dir, fmt.Sprintf("  - type: elasticsearch\n    name: healthy\n    hosts: [%q]\n    index: logs-app\n",
			es.URL()), es.Indexed)
	}},
	{"s3 (and an S3 registry)", func(t *testing.T, _ string) healthyOutput {
		f := newS3Fixture(t)
		f.srv.MakeBucket(t, "archive")
		// The restart is a new pod (state dir): the positions come back through the final snapshot, which needs
		// a larger share of the shutdown budget than the 1 s that 3 s would leave.
		return healthyOutput{
			config: "  - type: s3\n    name: healthy\n    bucket: archive\n    prefix: logs/\n    max_object_age: 300ms\n",
			args: []string{"--registry-file", f.registry, "--snapshot-interval", "200ms", "--lease-ttl", "2s",
				"--restore-timeout", "20s"},
			first:    []string{"--state-dir", filepath.Join(f.dir, "state-first")},
			restart:  []string{"--state-dir", filepath.Join(f.dir, "state-restart")},
			shutdown: "8s", env: f.env, stdout: os.Stdout, logPath: f.logPath,
			received: func() map[string]int { return archived(t, f, "archive") },
			objects: func() map[string]time.Time {
				objs := map[string]time.Time{}
				for obj := range f.client.ListObjects(f.ctx(), "archive", minio.ListObjectsOptions{Recursive: true}) {
					if obj.Err != nil {
						t.Fatal(obj.Err)
					}
					objs[obj.Key] = obj.LastModified
				}
				return objs
			},
		}
	}},
}

// outposTotal is how many lines the per-output position tests ship.
const outposTotal = 3000

// outposSetup writes outposTotal lines and a config with h and an HTTP output named down that answers 503 while
// failing is set; it returns the flags of both runs.
func outposSetup(t *testing.T, dir string, h healthyOutput) (args []string, down *collecttest.Server, failing *atomic.Bool) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(h.logPath), 0o755); err != nil {
		t.Fatal(err)
	}
	failing = new(atomic.Bool)
	failing.Store(true)
	down = collecttest.Start(t, collecttest.FailWith(func(int) int {
		if failing.Load() {
			return http.StatusServiceUnavailable
		}
		return 0
	}))
	cfg := writeOutputsConfig(t, dir, filepath.Join(filepath.Dir(h.logPath), "*.log"), h.config+fmt.Sprintf(
		"  - type: http\n    name: down\n    url: %q\n    retry: {initial: 50ms, max: 200ms}\n", down.URL()), "")
	appendLines(t, h.logPath, "o", 0, outposTotal)
	return append([]string{"-c", cfg, "--log-format", "json", "--shutdown-timeout", h.shutdown}, h.args...), down, failing
}

// runOutposFirst runs flicker until h received every line while down failed, then stops it with SIGTERM.
func runOutposFirst(t *testing.T, dir string, h healthyOutput, args []string, down *collecttest.Server) {
	t.Helper()
	p := startStdout(t, dir, h.stdout, h.env, append(args[:len(args):len(args)], h.first...)...)
	waitFor(t, time.Minute, "the healthy output to receive every line while the other fails", func() bool {
		return sumCounts(h.received()) >= outposTotal && down.Requests() > 0
	}, p)
	// The drain gives up on the failing output; the healthy one still closes cleanly: exit 0.
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(time.Minute); code != 0 {
		t.Fatalf("exit %d after SIGTERM; logs:\n%s", code, p.logs())
	}
	if got := sumCounts(h.received()); got != outposTotal {
		t.Fatalf("healthy output received %d events before the restart, want %d", got, outposTotal)
	}
}

// restartOutpos runs flicker --once with the failing output recovered and returns its logs.
func restartOutpos(t *testing.T, dir string, h healthyOutput, args []string, failing *atomic.Bool) string {
	t.Helper()
	failing.Store(false)
	p := startStdout(t, dir, h.stdout, h.env, append(append(args[:len(args):len(args)], h.restart...), "--once")...)
	if code := p.wait(2 * time.Minute); code != 0 {
		t.Fatalf("restart exited %d:\n%s", code, p.logs())
	}
	return p.logs()
}

// checkReceived fails unless the healthy output received every line want times in all and down every line once.
func checkReceived(t *testing.T, kind string, got map[string]int, want int, down *collecttest.Server, logs string) {
	t.Helper()
	for i := range outposTotal {
		if c := got[line("o", i)]; c != want {
			t.Fatalf("healthy %s output received line %d %d times, want %d (%d events in all); logs:\n%s",
				kind, i, c, want, sumCounts(got), logs)
		}
		if c := down.Count(line("o", i)); c != 1 {
			t.Fatalf("the output that was down received line %d %d times, want once; logs:\n%s", i, c, logs)
		}
	}
}

// TestHealthyOutputReceivesNothingAgainAfterSIGTERM runs every output kind as the healthy one next to an HTTP
// output that answers 503 until the restart.
func TestHealthyOutputReceivesNothingAgainAfterSIGTERM(t *testing.T) {
	for _, kind := range healthyKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			h := kind.setup(t, dir)
			args, down, failing := outposSetup(t, dir, h)
			runOutposFirst(t, dir, h, args, down)
			var written map[string]time.Time
			if h.objects != nil {
				written = h.objects()
			}
			logs := restartOutpos(t, dir, h, args, failing)
			if h.objects != nil {
				if again := h.objects(); !maps.EqualFunc(again, written, time.Time.Equal) {
					t.Fatalf("healthy %s output wrote objects after the restart (new or rewritten): %v before, %v after",
						kind.name, written, again)
				}
			}
			checkReceived(t, kind.name, h.received(), 1, down, logs)
		})
	}
}

// TestRegistryResetForgetsOutputPositions: after the same first run, `registry reset` starts the input over for
// every output: the healthy one receives every line a second time, the other once.
func TestRegistryResetForgetsOutputPositions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := healthyKinds[0].setup(t, dir)
	args, down, failing := outposSetup(t, dir, h)
	runOutposFirst(t, dir, h, args, down)
	reset := start(t, dir, "registry", "reset", "--registry-file", filepath.Join(dir, "reg.db"), "app")
	if code := reset.wait(time.Minute); code != 0 {
		t.Fatalf("registry reset exited %d:\n%s", code, reset.logs())
	}
	logs := restartOutpos(t, dir, h, args, failing)
	checkReceived(t, "file", h.received(), 2, down, logs)
}

// scrapeMetric reads one sample from flicker's /metrics at addr: the one with label (name{label}), or with no
// label when label is ""; -1 when it cannot be read.
func scrapeMetric(addr, name, label string) float64 {
	_, body, err := get("http://" + addr + "/metrics")
	if err != nil {
		return -1
	}
	v, ok := labeledValue(body, name, label)
	if label == "" {
		v, ok = metricValue(body, name)
	}
	if !ok {
		return -1
	}
	return v
}

// waitRegistrySettled waits until flicker_registry_seq on addr has not changed for quiet: every commit that was
// coming has been written, so a kill -9 now loses nothing that was committed.
func waitRegistrySettled(t *testing.T, addr string, quiet time.Duration, p *proc) {
	t.Helper()
	seq, since := scrapeMetric(addr, "flicker_registry_seq", ""), time.Now()
	waitFor(t, 30*time.Second, "the registry to stay unchanged for "+quiet.String(), func() bool {
		if now := scrapeMetric(addr, "flicker_registry_seq", ""); now != seq {
			seq, since = now, time.Now()
		}
		return time.Since(since) >= quiet
	}, p)
}

// labeledValue finds the sample of name{label} in a Prometheus text body.
func labeledValue(body, name, label string) (float64, bool) {
	return metricValue(body, name+"{"+label+"}")
}

// TestHealthyOutputDuplicatesAfterKillBoundedByLastCommit: the same first run ends with kill -9 once the healthy
// output's last events are settled and a registry commit followed. The healthy output then receives again at
// most what it accepted after that commit's start (the last batch, if the commit raced with it), not
// everything; the other receives everything once.
func TestHealthyOutputDuplicatesAfterKillBoundedByLastCommit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := healthyKinds[0].setup(t, dir)
	args, down, failing := outposSetup(t, dir, h)
	addr := freeAddr(t)
	p := start(t, dir, append(args[:len(args):len(args)], "--http-addr", addr, "--commit-interval", "50ms")...)
	metric := func(name, label string) float64 { return scrapeMetric(addr, name, label) }
	waitFor(t, time.Minute, "the healthy output to accept every line while the other fails", func() bool {
		return metric("flicker_output_events_total", `output="healthy"`) == outposTotal && down.Requests() > 0
	}, p)
	// A queued change is committed within one --commit-interval: wait for a commit, or for twenty intervals
	// without one (then the last commit had the healthy output's last position already).
	seq := metric("flicker_registry_seq", "")
	for deadline := time.Now().Add(time.Second); metric("flicker_registry_seq", "") == seq && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	p.kill()
	logs := restartOutpos(t, dir, h, args, failing)
	got := h.received()
	dups := sumCounts(got) - outposTotal
	for i := range outposTotal {
		if c := got[line("o", i)]; c < 1 || c > 2 {
			t.Fatalf("healthy output received line %d %d times; logs:\n%s", i, c, logs)
		}
		if c := down.Count(line("o", i)); c != 1 {
			t.Fatalf("the output that was down received line %d %d times, want once; logs:\n%s", i, c, logs)
		}
	}
	if dups > 2048 { // default batch.max_events: the last batch at most
		t.Fatalf("healthy output received %d of %d lines again after kill -9, want at most the last batch", dups,
			outposTotal)
	}
	t.Logf("healthy output received %d lines again after kill -9", dups)
}
