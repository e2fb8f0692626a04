package main_test

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/flickerlog/flicker/sinks/elasticsearch/estest"
	"github.com/flickerlog/flicker/sinks/http/collecttest"
)

// These tests run the flicker binary with the HTTP output against an httptest server in this process (a real
// HTTP/1.1 server on 127.0.0.1), and with the S3 output against the pinned MinIO.

func writeOutputsConfig(t *testing.T, dir, logGlob, outputs, queue string) string {
	t.Helper()
	cfg := fmt.Sprintf("log_files:\n  - name: app\n    paths: [%q]\n    scan_interval: 50ms\noutputs:\n%s\nbatch:\n  max_wait: 20ms\n%s",
		logGlob, outputs, queue)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// collectorRun is the set-up the copytruncate, phantom and missing-file tests share: the files of logs/<glob>
// shipped to a local HTTP collector (collecttest), the registry in reg.db, committed every 50ms.
type collectorRun struct {
	dir, logs, reg, cfg string
	coll                *collecttest.Server
}

func newCollectorRun(t *testing.T, glob, queue string) *collectorRun {
	t.Helper()
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	coll := collecttest.Start(t)
	cfg := writeOutputsConfig(t, dir, filepath.Join(logs, glob), fmt.Sprintf("  - type: http\n    url: %q\n",
		coll.URL()), queue)
	return &collectorRun{dir: dir, logs: logs, reg: filepath.Join(dir, "reg.db"), cfg: cfg, coll: coll}
}

// start runs flicker on the set-up with args added.
func (r *collectorRun) start(t *testing.T, args ...string) *proc {
	return start(t, r.dir, append([]string{"-c", r.cfg, "--registry-file", r.reg, "--commit-interval", "50ms"},
		args...)...)
}

// setScanInterval rewrites the set-up's config with scan_interval d instead of 50ms.
func (r *collectorRun) setScanInterval(t *testing.T, d string) {
	t.Helper()
	cfg, err := os.ReadFile(r.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.cfg, []byte(strings.Replace(string(cfg), "scan_interval: 50ms", "scan_interval: "+d, 1)),
		0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFanOutHealthyOutputNeverDuplicated: with a file output and an HTTP output that fails for a while, the file
// output gets every event exactly once (only the failing output's events are retried) and the HTTP endpoint
// gets every event once it recovers.
func TestFanOutHealthyOutputNeverDuplicated(t *testing.T) {
	dir := t.TempDir()
	coll := collecttest.Start(t)
	coll.FailNext(8, http.StatusServiceUnavailable)
	out := filepath.Join(dir, "out.ndjson")
	cfg := writeOutputsConfig(t, dir, filepath.Join(dir, "*.log"), fmt.Sprintf(`  - type: file
    path: %q
  - type: http
    url: %q
    retry: {initial: 50ms, max: 200ms}
`, out, coll.URL()), "")
	appendLines(t, filepath.Join(dir, "app.log"), "f", 0, 3000)
	p := start(t, dir, "-c", cfg, "--registry-file", filepath.Join(dir, "reg.db"), "--once", "--log-format", "json")
	if code := p.wait(2 * time.Minute); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.logs())
	}
	counts := countMessages(readOutput(t, out))
	for i := range 3000 {
		if c := counts[line("f", i)]; c != 1 {
			t.Fatalf("file output got line %d %d times, want exactly once", i, c)
		}
		if coll.Count(line("f", i)) == 0 {
			t.Fatalf("HTTP output never got line %d", i)
		}
	}
	if coll.Requests() <= 8 {
		t.Fatalf("only %d requests: the failures were not retried", coll.Requests())
	}
}

// backpressureHold is how long the HTTP output stays blocked in TestBackpressureBoundsMemory:
// FLICKER_BACKPRESSURE_SECONDS, default 5 (the 30 s is `FLICKER_BACKPRESSURE_SECONDS=30`).
func backpressureHold(t *testing.T) time.Duration {
	if v := os.Getenv("FLICKER_BACKPRESSURE_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("FLICKER_BACKPRESSURE_SECONDS=%q: want a positive number of seconds", v)
		}
		return time.Duration(n) * time.Second
	}
	return 5 * time.Second
}

// TestBackpressureBoundsMemory: an HTTP output that blocks every request holds the pipeline; reading stops at the
// queue's byte bound (8 MiB here) while the log holds 46 MiB, the Go heap stays far below the input,
// and when the output recovers everything arrives.
func TestBackpressureBoundsMemory(t *testing.T) {
	dir := t.TempDir()
	coll := collecttest.Start(t)
	coll.Stall()
	cfg := writeOutputsConfig(t, dir, filepath.Join(dir, "*.log"), fmt.Sprintf("  - type: http\n    url: %q\n    timeout: 10m\n", coll.URL()),
		"queue:\n  max_bytes: 8388608\n")
	const lines = 400_000 // ~46 MiB of 121-byte lines
	appendLines(t, filepath.Join(dir, "app.log"), "b", 0, lines)
	addr := freeAddr(t)
	p := start(t, dir, "-c", cfg, "--registry-file", filepath.Join(dir, "reg.db"), "--once", "--log-format", "json",
		"--http-addr", addr)
	waitFor(t, time.Minute, "the blocked output to hold a request", func() bool { return coll.Requests() > 0 }, p)
	deadline := time.Now().Add(backpressureHold(t))
	var maxQueue, maxHeap float64
	for time.Now().Before(deadline) {
		if _, body, err := get("http://" + addr + "/metrics"); err == nil {
			if v, ok := metricValue(body, "flicker_queue_bytes"); ok && v > maxQueue {
				maxQueue = v
			}
			if v, ok := metricValue(body, "go_memstats_heap_inuse_bytes"); ok && v > maxHeap {
				maxHeap = v
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	rss := peakRSS(t, p.cmd.Process.Pid)
	coll.Healthy()
	if code := p.wait(3 * time.Minute); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.logs())
	}
	if maxQueue == 0 || maxQueue > 8388608+64<<10 {
		t.Fatalf("queue bytes peaked at %.0f while blocked, bound 8 MiB", maxQueue)
	}
	const input = lines * 121
	// The heap, not the RSS: this binary is built with -race, whose shadow memory inflates the RSS.
	if maxHeap == 0 || maxHeap > 40<<20 {
		t.Fatalf("Go heap in use peaked at %.1f MiB while blocked with a 46 MiB input and an 8 MiB queue", maxHeap/(1<<20))
	}
	if got := coll.Total(); got < lines {
		t.Fatalf("%d of %d lines arrived after the output recovered", got, lines)
	}
	t.Logf("blocked %s: queue peaked at %.1f MiB, heap in use at %.1f MiB, peak RSS %d MiB (race build), input %d MiB",
		backpressureHold(t), maxQueue/(1<<20), maxHeap/(1<<20), rss>>20, input>>20)
}

// metricValue finds an unlabelled sample in a Prometheus text body.
func metricValue(body, name string) (float64, bool) {
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

// peakRSS is the process's VmHWM from /proc (bytes).
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// TestS3OutputKillAndReplay: the S3 output against MinIO, flicker killed (-9) while archiving and started again:
// every line is in some object (duplicates only from what was not acknowledged).
func TestS3OutputKillAndReplay(t *testing.T) {
	f := newS3Fixture(t)
	f.srv.MakeBucket(t, "archive")
	f.config = writeOutputsConfig(t, f.dir, filepath.Join(filepath.Dir(f.logPath), "*.log"), `  - type: s3
    bucket: archive
    prefix: "logs/%{input}/%{+yyyy/MM/dd/HH}/"
    max_object_bytes: 262144
    max_object_age: 1h # the last object of the --once run is written by the drain's flush, not by age
`, "")
	const total = 20000
	appendLines(t, f.logPath, "s", 0, total/2)
	reg := filepath.Join(f.dir, "reg.db")
	p := startEnv(t, f.dir, f.env, "-c", f.config, "--registry-file", reg, "--log-format", "json")
	waitFor(t, time.Minute, "some objects", func() bool { return len(archived(t, f, "archive")) > 2000 }, p)
	p.kill()
	appendLines(t, f.logPath, "s", total/2, total)
	// At debug level the S3 output logs each object, so that its log lines are checked too (checkLogKeys).
	p2 := startEnv(t, f.dir, f.env, "-c", f.config, "--registry-file", reg, "--log-format", "json", "--once",
		"--log-level", "debug")
	if code := p2.wait(2 * time.Minute); code != 0 {
		t.Fatalf("exit %d after the crash:\n%s", code, p2.logs())
	}
	counts := archived(t, f, "archive")
	for i := range total {
		if counts[line("s", i)] == 0 {
			t.Fatalf("line %d is in no object", i)
		}
	}
	keys := 0
	for obj := range f.client.ListObjects(f.ctx(), "archive", minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		if !strings.HasPrefix(obj.Key, "logs/app/") || !strings.HasSuffix(obj.Key, ".ndjson.gz") {
			t.Fatalf("object key %q, want logs/app/<yyyy/MM/dd/HH>/<id>.ndjson.gz", obj.Key)
		}
		keys++
	}
	t.Logf("%d objects", keys)
}

// archived counts the messages in every object of bucket (gzip NDJSON).
func archived(t *testing.T, f *s3Fixture, bucket string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for obj := range f.client.ListObjects(f.ctx(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		o, err := f.client.GetObject(f.ctx(), bucket, obj.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(o)
		if err != nil {
			o.Close()
			t.Fatalf("%s: %v", obj.Key, err)
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(make([]byte, 1<<20), 8<<20)
		for sc.Scan() {
			var ev shipped
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("%s: %v", obj.Key, err)
			}
			counts[ev.Message]++
		}
		o.Close()
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", obj.Key, err)
		}
	}
	return counts
}

// TestElasticsearchOutputWiring: the binary ships to the elasticsearch output, with its API key, every event
// under its own id. The server is the sink's _bulk emulator (sinks/elasticsearch/estest), which answers per item.
func TestElasticsearchOutputWiring(t *testing.T) {
	es := estest.Start(t, estest.Options{APIKey: "c2VjcmV0"})
	dir := t.TempDir()
	cfg := writeOutputsConfig(t, dir, filepath.Join(dir, "*.log"), fmt.Sprintf(`  - type: elasticsearch
    hosts: [%q]
    index: logs-app
    api_key: c2VjcmV0
`, es.URL()), "")
	appendLines(t, filepath.Join(dir, "app.log"), "e", 0, 500)
	p := start(t, dir, "-c", cfg, "--once", "--log-format", "json")
	if code := p.wait(time.Minute); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.logs())
	}
	if n := len(es.Docs()); n != 500 || es.Unauthorized() != 0 || len(es.IDMismatches()) != 0 {
		t.Fatalf("%d documents, %d refused credentials, ids differing from _id: %v:\n%s", n, es.Unauthorized(),
			es.IDMismatches(), p.logs())
	}
	for _, d := range es.Docs() {
		if d.Index != "logs-app" || d.Version != 1 {
			t.Fatalf("document %s in %s, version %d", d.ID, d.Index, d.Version)
		}
	}
	indexed := es.Indexed()
	for i := range 500 {
		if n := indexed[line("e", i)]; n != 1 {
			t.Fatalf("line %d indexed %d times", i, n)
		}
	}
}

// TestHTTPOutputWorkersKeepRequestsInFlight: with workers: 3 the output keeps three requests open against a
// server that has not answered yet, never a fourth, and every line arrives exactly once when the server answers.
func TestHTTPOutputWorkersKeepRequestsInFlight(t *testing.T) {
	dir := t.TempDir()
	coll := collecttest.Start(t)
	coll.Stall()
	cfg := writeOutputsConfig(t, dir, filepath.Join(dir, "*.log"), fmt.Sprintf(`  - type: http
    url: %q
    workers: 3
`, coll.URL()), "  max_events: 100\n")
	appendLines(t, filepath.Join(dir, "app.log"), "w", 0, 2000)
	addr := freeAddr(t)
	p := start(t, dir, "-c", cfg, "--registry-file", filepath.Join(dir, "reg.db"), "--once", "--log-format", "json",
		"--http-addr", addr)
	waitFor(t, time.Minute, "three requests in flight", func() bool { return coll.Requests() >= 3 }, p)
	// Every line read, so a fourth batch is ready (the 300ms below is not spent waiting for the reader on a
	// loaded machine): a fourth request would arrive by then.
	waitFor(t, time.Minute, "the whole file read", func() bool {
		code, body, err := get("http://" + addr + "/metrics")
		n, _ := labelledMetric(body, "flicker_input_events_total", `input="app"`)
		return err == nil && code == 200 && n == 2000
	}, p)
	time.Sleep(300 * time.Millisecond)
	if n := coll.Requests(); n != 3 {
		t.Fatalf("%d requests in flight with workers: 3", n)
	}
	coll.Healthy()
	if code := p.wait(2 * time.Minute); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.logs())
	}
	for i := range 2000 {
		if c := coll.Count(line("w", i)); c != 1 {
			t.Fatalf("line %d arrived %d times, want exactly once", i, c)
		}
	}
}
