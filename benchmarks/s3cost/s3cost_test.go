package s3cost_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/benchmarks"
	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/snapshot"
	"github.com/flickerlog/flicker/sources/api/oktatest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, miniotest.IdleConnections()...) }

// Scale divides every duration flicker is given: 10 makes a 5s snapshot interval 500ms, and one minute of wall
// time ten minutes of requests.
const Scale = 10

var (
	window = flag.Duration("s3cost.window", 3*time.Minute, "wall time counted per instance (times Scale in real time)")
	binary = flag.String("s3cost.binary", "", "measure this flicker binary instead of building ./cmd/flicker "+
		"(another commit's, for a before and after)")
)

// S3 Standard request prices, dollars per request.
const (
	putPrice = 0.005 / 1000
	getPrice = 0.0004 / 1000 // GET and HEAD
)

// settings are the S3 flags of one column of the table.
type settings struct {
	name                   string
	interval, ttl, history time.Duration
}

func (s settings) args() []string {
	return []string{"--snapshot-interval", (s.interval / Scale).String(), "--lease-ttl", (s.ttl / Scale).String(),
		"--history-interval", (s.history / Scale).String()}
}

var (
	defaults   = settings{"defaults (5s, 15s)", 5 * time.Second, 15 * time.Second, 5 * time.Minute}
	daemonset  = settings{"chart daemonset (10s, 120s)", 10 * time.Second, 120 * time.Second, 5 * time.Minute}
	deployment = settings{"chart deployment (5s, 60s)", 5 * time.Second, 60 * time.Second, 5 * time.Minute}
)

// instance is one flicker process behind its own counting proxy.
type instance struct {
	name  string
	set   settings
	keys  snapshot.Keys
	proxy *miniotest.HTTPProxy
	cmd   *exec.Cmd
	logs  bytes.Buffer // guarded by logMu
	logMu sync.Mutex
	from  map[string]int // proxy counts when the window began
	perH  map[string]float64
}

func (in *instance) Write(p []byte) (int, error) {
	in.logMu.Lock()
	defer in.logMu.Unlock()
	return in.logs.Write(p)
}

// BenchmarkS3Requests counts the S3 requests per hour of an idle API tailer (an Okta source with nothing new), a
// busy node agent (a file growing 20 lines a second of wall time, so every snapshot interval has a change) and a
// standby (--standby next to the API tailer), each at the defaults and at the chart's settings for its mode, all
// at once, each behind its own proxy. The window opens once every instance is up, so start-up requests are not
// counted. Run it with:
//
//	go test -run '^$' -bench S3Requests -benchtime 1x -timeout 30m ./benchmarks/s3cost/
//
// and -s3cost.binary to measure another build (the commit before issue 17's changes, for the "before" column).
func BenchmarkS3Requests(b *testing.B) {
	bin := buildFlicker(b)
	srv := miniotest.Start(b)
	okta := oktatest.Start(b, oktatest.Options{Token: "bench-token"})
	for b.Loop() {
		work := b.TempDir()
		logPath := filepath.Join(work, "logs", "app.log")
		if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
			b.Fatal(err)
		}
		apiCfg := writeFile(b, filepath.Join(work, "api.yaml"), fmt.Sprintf(`api_sources:
  - name: okta
    type: okta
    endpoint: %s
    auth: {okta_token: bench-token}
    polling_frequency: 1s
outputs:
  - type: file
    path: %s
`, okta.Endpoint(), filepath.Join(work, "api-out.jsonl")))
		fileCfg := writeFile(b, filepath.Join(work, "file.yaml"), fmt.Sprintf(`log_files:
  - name: app
    paths: [%q]
outputs:
  - type: file
    path: %s
`, logPath, filepath.Join(work, "file-out.jsonl")))

		ctx, cancel := context.WithCancel(context.Background())
		grow := growLog(ctx, b, logPath)
		var all []*instance
		start := func(name string, set settings, cfg string, bucket string, extra ...string) *instance {
			in := &instance{name: name, set: set, keys: snapshot.Keys{Bucket: bucket, Latest: "flicker/registry.json"},
				proxy: miniotest.NewHTTPProxy(b, srv)}
			state := filepath.Join(work, "state-"+strings.NewReplacer(" ", "-", "(", "", ")", "", ",", "").Replace(name+"-"+set.name))
			args := append([]string{"run", "-c", cfg, "--registry-file", in.keys.String(), "--state-dir", state,
				"--log-format", "json"}, append(set.args(), extra...)...)
			in.cmd = exec.Command(bin, args...)
			access, secret := srv.RootCredentials()
			in.cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+in.proxy.URL(), "AWS_REGION="+miniotest.Region,
				"AWS_S3_FORCE_PATH_STYLE=true", "AWS_ACCESS_KEY_ID="+access, "AWS_SECRET_ACCESS_KEY="+secret)
			in.cmd.Stderr = in
			if err := in.cmd.Start(); err != nil {
				b.Fatal(err)
			}
			all = append(all, in)
			return in
		}
		for i, set := range []settings{defaults, deployment} {
			bucket := fmt.Sprintf("api-%d", i)
			srv.MakeBucket(b, bucket)
			api := start("idle API tailer", set, apiCfg, bucket)
			waitFor(b, api, func() bool { return api.count("PUT", snapshot.KindHistory) > 0 })
			start("standby", set, apiCfg, bucket, "--standby")
		}
		for i, set := range []settings{defaults, daemonset} {
			bucket := fmt.Sprintf("node-%d", i)
			srv.MakeBucket(b, bucket)
			node := start("busy node agent", set, fileCfg, bucket)
			waitFor(b, node, func() bool { return node.count("PUT", snapshot.KindHistory) > 0 })
		}
		for _, in := range all {
			in := in
			waitFor(b, in, func() bool { return len(in.proxy.Requests()) > 0 })
		}
		time.Sleep(time.Second) // the standbys' first look at the lease
		for _, in := range all {
			in.from = in.proxy.Requests()
		}
		time.Sleep(*window) // the measurement itself
		for _, in := range all {
			in.perH = perHour(in.keys, in.from, in.proxy.Requests(), *window*Scale)
		}
		cancel()
		<-grow
		for _, in := range all {
			stop(b, in)
		}
		report(b, all)
	}
}

// count is how many requests of op on keys of kind the proxy has seen.
func (in *instance) count(op, kind string) int {
	n := 0
	for k, c := range in.proxy.Requests() {
		method, path, _ := strings.Cut(k, " ")
		if method == op && in.keys.Kind(path) == kind {
			n += c
		}
	}
	return n
}

// perHour is the requests between from and to, by "op kind", per real hour (real is the scaled-up window).
func perHour(keys snapshot.Keys, from, to map[string]int, real time.Duration) map[string]float64 {
	out := map[string]float64{}
	for k, n := range to {
		method, path, _ := strings.Cut(k, " ")
		if d := n - from[k]; d > 0 {
			out[method+" "+keys.Kind(path)] += float64(d) * float64(time.Hour) / float64(real)
		}
	}
	return out
}

func report(b *testing.B, all []*instance) {
	b.Logf("scale %d: %s of wall time per instance = %s of requests", Scale, *window, *window*Scale)
	b.Logf("%-17s | %-27s | %8s | %8s | %8s | %8s | %8s | %8s | %-42s", "instance", "settings", "PUT/h", "GET/h",
		"HEAD/h", "PUT/mo", "GET+HEAD", "$/month", "PUT/h by key kind")
	for _, in := range all {
		var put, get, head float64
		var kinds []string
		for k, v := range in.perH {
			op, kind, _ := strings.Cut(k, " ")
			switch op {
			case "PUT":
				put += v
				kinds = append(kinds, fmt.Sprintf("%s %.0f", kind, v))
			case "GET":
				get += v
			case "HEAD":
				head += v
			}
		}
		slices.Sort(kinds)
		const hours = 730
		month := hours * (put*putPrice + (get+head)*getPrice)
		b.Logf("%-17s | %-27s | %8.0f | %8.0f | %8.0f | %8.0f | %8.0f | %8.2f | %s", in.name, in.set.name, put, get,
			head, put*hours, (get+head)*hours, month, strings.Join(kinds, ", "))
		unit := strings.ReplaceAll(in.name+"/"+in.set.name, " ", "_")
		b.ReportMetric(month, "$/month:"+unit)
	}
}

// growLog appends a line every 50ms of wall time until ctx ends; the channel closes when it has stopped.
func growLog(ctx context.Context, b *testing.B, path string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			b.Error(err)
			return
		}
		defer f.Close()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			if _, err := fmt.Fprintf(f, "line %d of a busy node\n", n); err != nil {
				b.Error(err)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return done
}

func stop(b *testing.B, in *instance) {
	_ = in.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- in.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		_ = in.cmd.Process.Kill()
		<-done
		b.Errorf("%s (%s) did not stop on SIGTERM", in.name, in.set.name)
	}
}

// waitFor polls cond for up to a minute, failing with the instance's log.
func waitFor(b *testing.B, in *instance, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			in.logMu.Lock()
			defer in.logMu.Unlock()
			b.Fatalf("%s (%s) did not start:\n%s", in.name, in.set.name, in.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func writeFile(b *testing.B, path, content string) string {
	b.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

func buildFlicker(b *testing.B) string {
	b.Helper()
	if *binary != "" {
		return *binary
	}
	bin, err := benchmarks.BuildFlicker(b.TempDir(), false)
	if err != nil {
		b.Fatal(err)
	}
	return bin
}
