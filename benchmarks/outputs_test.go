package benchmarks_test

// The output benchmark of issue 4: the built binary shipping one input to the network outputs (http to a local
// server that discards, elasticsearch to an in-process _bulk emulator, s3 to MinIO), each paired with the fsync'd
// file output as the baseline. Results and commands are in RESULTS.md.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/minio/minio-go/v7"

	"github.com/flickerlog/flicker/benchmarks"
	"github.com/flickerlog/flicker/internal/miniotest"
)

// outputsInputSize is the input of BenchmarkOutputs: a quarter of `make bench`'s, so that the slower outputs fit
// three rounds in a few minutes.
const outputsInputSize = 256 << 20

// outputsBucket is the bucket the s3 output writes to.
const outputsBucket = "bench"

// fileOutputs is the baseline: the fsync'd file output; %q is the path shipOnce gives it.
const fileOutputs = "outputs:\n  - type: file\n    path: %q\n"

// outputInput is the log every run ships.
type outputInput struct {
	path         string
	bytes, lines int64
}

// outputTarget is one sub-benchmark of BenchmarkOutputs.
type outputTarget struct {
	name    string
	outputs func(run int) string // the "outputs:" block of the given run (runs are numbered from 1)
	env     []string
	// check fails unless the run numbered run delivered every line of the input; nil for the file output, whose
	// file shipOnce removes (--once exits 0 only once every event was acknowledged).
	check func(b *testing.B, run int, lines int64)
	// probe, when set, is an output to try on an empty input first: an unknown type skips the sub-benchmark.
	probe bool
}

// BenchmarkOutputs runs the built binary with --once and a fresh local registry over the same 256 MiB log, one
// sub-benchmark per output. Every iteration of an output other than file is a pair: the fsync'd file output
// and that output, alternating which goes first (file in the 1st, 3rd, ... round), so that each output is
// compared with baseline runs made seconds, not minutes, apart. Every run is logged; the metrics are the
// means. Run it with -benchtime 3x:
//
//	go test -run '^$' -bench Outputs -benchtime 3x ./benchmarks/
func BenchmarkOutputs(b *testing.B) {
	bin := buildFlicker(b)
	in := outputsInput(b)

	srv := miniotest.Start(b)
	srv.MakeBucket(b, outputsBucket)
	access, secret := srv.RootCredentials()
	s3Env := []string{"AWS_ENDPOINT_URL=" + srv.URL(), "AWS_REGION=" + miniotest.Region, "AWS_S3_FORCE_PATH_STYLE=true",
		"AWS_ACCESS_KEY_ID=" + access, "AWS_SECRET_ACCESS_KEY=" + secret, "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
		"AWS_ENDPOINT_URL_S3="}
	client := srv.Client(b)
	httpServer := newDiscardServer(b)
	es := newBulkEmulator(b)

	targets := []outputTarget{
		{name: "file", outputs: func(int) string { return fileOutputs }},
		{name: "http", outputs: func(int) string {
			return fmt.Sprintf("outputs:\n  - type: http\n    url: %s/\n", httpServer.srv.URL)
		}, check: httpServer.check},
		{name: "http-uncompressed", outputs: func(int) string {
			return fmt.Sprintf("outputs:\n  - type: http\n    url: %s/\n    compression: none\n", httpServer.srv.URL)
		}, check: httpServer.check},
		{name: "elasticsearch", outputs: func(int) string {
			return fmt.Sprintf("outputs:\n  - type: elasticsearch\n    hosts: [%s]\n    index: bench\n", es.srv.URL)
		}, check: es.check, probe: true},
		{name: "elasticsearch-uncompressed", outputs: func(int) string {
			return fmt.Sprintf("outputs:\n  - type: elasticsearch\n    hosts: [%s]\n    index: bench\n"+
				"    compression: none\n", es.srv.URL)
		}, check: es.check, probe: true},
		{name: "s3", env: s3Env, outputs: func(run int) string {
			return fmt.Sprintf("outputs:\n  - type: s3\n    bucket: %s\n    prefix: run-%d/\n", outputsBucket, run)
		}, check: func(b *testing.B, run int, lines int64) { checkObjects(b, client, run, lines) }},
	}
	baseline := shipWorkload{name: "file", paths: in.path, bytes: in.bytes, outputs: fileOutputs}
	run := 0
	for _, target := range targets {
		b.Run("output="+target.name, func(b *testing.B) {
			if target.probe {
				probeOutput(b, bin, target.outputs(0))
			}
			var base, runs []outputRun
			paired := target.name != "file"
			shipBaseline := func() {
				base = append(base, shipOutput(b, bin, baseline, nil, in, "file", len(base)+1))
			}
			for round := 0; b.Loop(); round++ {
				if paired && round%2 == 0 {
					shipBaseline()
				}
				run++
				w := shipWorkload{name: target.name, paths: in.path, bytes: in.bytes, outputs: target.outputs(run)}
				runs = append(runs, shipOutput(b, bin, w, target.env, in, target.name, len(runs)+1))
				if target.check != nil {
					target.check(b, run, in.lines)
				}
				if paired && round%2 == 1 {
					shipBaseline()
				}
			}
			reportOutput(b, runs, base)
		})
	}
}

// outputsInput returns the 256 MiB log in benchmarks/data (generated when missing) and reads it once, which
// counts its lines and puts it in the page cache before the first run.
func outputsInput(b *testing.B) outputInput {
	b.Helper()
	path, err := filepath.Abs(filepath.Join("data", fmt.Sprintf("input-%d.log", outputsInputSize)))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			b.Fatal(err)
		}
		if _, err := benchmarks.GenerateLog(path, outputsInputSize); err != nil {
			b.Fatal(err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	lines, _, err := benchmarks.SplitCeiling(path)
	if err != nil {
		b.Fatalf("read %s: %v", path, err)
	}
	return outputInput{path: path, bytes: fi.Size(), lines: lines}
}

// outputRun is a shipRun and peerCPU, the CPU this benchmark process spent during it: the http server's or the
// _bulk emulator's share of the two cores (the S3 check runs after the run; MinIO is another process).
type outputRun struct {
	shipRun
	peerCPU time.Duration
}

// shipOutput is shipOnce with a local registry, named and logged as run n of output name.
func shipOutput(b *testing.B, bin string, w shipWorkload, env []string, in outputInput, name string, n int) outputRun {
	b.Helper()
	before := selfCPU(b)
	r := outputRun{shipRun: shipOnce(b, bin, w, env, nil)}
	r.peerCPU = selfCPU(b) - before
	r.Name, r.Lines = name, in.lines
	b.Logf("%-26s #%d  shipping %6.3f s %6.1f MiB/s %5.2fM ev/s | wall %6.3f s %6.1f MiB/s %5.2fM ev/s | "+
		"CPU %5.2f s %5.2f s/GiB | RSS %5.1f MiB | peer CPU %5.2f s", name, n,
		r.shipping.Seconds(), shipMiBps(r), shipEventsps(r)/1e6, r.Elapsed.Seconds(), r.MiBps(), r.LinesPerSec()/1e6,
		r.CPU.Seconds(), r.CPUPerGiB(), float64(r.PeakRSS)/(1<<20), r.peerCPU.Seconds())
	return r
}

// selfCPU is the user and system CPU time of this process so far.
func selfCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func shipMiBps(r outputRun) float64    { return float64(r.Bytes) / (1 << 20) / r.shipping.Seconds() }
func shipEventsps(r outputRun) float64 { return float64(r.Lines) / r.shipping.Seconds() }

// reportOutput reports the means of the output's runs and, when it was paired with file runs, the output's
// shipping throughput as a percentage of theirs.
func reportOutput(b *testing.B, runs, base []outputRun) {
	mean := func(runs []outputRun, f func(outputRun) float64) float64 {
		var sum float64
		for _, r := range runs {
			sum += f(r)
		}
		return sum / float64(len(runs))
	}
	b.ReportMetric(0, "ns/op") // the time of a pair of runs says nothing
	b.ReportMetric(mean(runs, shipMiBps), "ship-MiB/s")
	b.ReportMetric(mean(runs, shipEventsps), "ship-events/s")
	b.ReportMetric(mean(runs, func(r outputRun) float64 { return r.MiBps() }), "wall-MiB/s")
	b.ReportMetric(mean(runs, func(r outputRun) float64 { return r.LinesPerSec() }), "wall-events/s")
	b.ReportMetric(mean(runs, func(r outputRun) float64 { return r.CPUPerGiB() }), "CPU-s/GiB")
	b.ReportMetric(mean(runs, func(r outputRun) float64 { return float64(r.PeakRSS) / (1 << 20) }), "RSS-MiB")
	b.ReportMetric(mean(runs, func(r outputRun) float64 { return r.peerCPU.Seconds() }), "peer-CPU-s")
	if len(base) > 0 {
		fileShip := mean(base, shipMiBps)
		b.ReportMetric(fileShip, "file-ship-MiB/s")
		b.ReportMetric(100*mean(runs, shipMiBps)/fileShip, "%-of-file")
	}
}

// probeOutput skips the sub-benchmark when the binary does not know the output's type yet (it is wired into
// cmd/flicker separately from the sink), by shipping an empty file to it.
func probeOutput(b *testing.B, bin, outputs string) {
	b.Helper()
	work := b.TempDir()
	empty := filepath.Join(work, "empty.log")
	cfg := filepath.Join(work, "config.yaml")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := benchmarks.WriteConfig(cfg, empty, outputs); err != nil {
		b.Fatal(err)
	}
	_, _, _, err := benchmarks.RunFlickerEnv(bin, work, nil, nil, "-c", cfg, "--once",
		"--registry-file", filepath.Join(work, "registry.db"))
	switch {
	case err != nil && strings.Contains(err.Error(), "unknown type"):
		b.Skipf("this build of flicker has no such output: %v", err)
	case err != nil:
		b.Fatal(err)
	}
}

// discardServer is the http output's peer: it reads every body and answers 200 with no body. It counts the
// lines of uncompressed bodies; a gzip body is only counted in bytes (decompressing it here would take CPU from
// the binary being measured).
type discardServer struct {
	srv                         *httptest.Server
	requests, bytes, lines, gzd atomic.Int64
}

func newDiscardServer(b *testing.B) *discardServer {
	s := &discardServer{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var dst io.Writer = io.Discard
		if r.Header.Get("Content-Encoding") == "gzip" {
			s.gzd.Add(1)
		} else {
			dst = lineCounter{&s.lines}
		}
		n, err := io.Copy(dst, r.Body)
		s.bytes.Add(n)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.requests.Add(1)
	}))
	b.Cleanup(s.srv.Close)
	return s
}

// check fails unless the last run sent requests, and, for uncompressed bodies, exactly one line per input line.
func (s *discardServer) check(b *testing.B, _ int, lines int64) {
	b.Helper()
	requests, gzd, got := s.requests.Swap(0), s.gzd.Swap(0), s.lines.Swap(0)
	n := s.bytes.Swap(0)
	b.Logf("http server: %d requests (%d gzip), %.1f MiB of bodies", requests, gzd, float64(n)/(1<<20))
	switch {
	case requests == 0:
		b.Fatal("the http server received no request")
	case gzd == 0 && got != lines:
		b.Fatalf("the http server received %d lines of %d", got, lines)
	}
}

type lineCounter struct{ n *atomic.Int64 }

func (c lineCounter) Write(p []byte) (int, error) {
	c.n.Add(int64(bytes.Count(p, []byte{'\n'})))
	return len(p), nil
}

// bulkEmulator answers Elasticsearch's _bulk as cheaply as it can while still reading every action: it
// decompresses the body, counts the action lines and answers 200 with what Elasticsearch returns for the sink's
// filter_path (errors,items.*.error,items.*.status): {"errors":false,"items":[...]} with one
// {"index":{"status":201}} per action (the sink stops reading at "errors":false and drains the rest).
type bulkEmulator struct {
	srv                *httptest.Server
	bufs               sync.Pool // *bulkBuffers
	requests, actions  atomic.Int64
	wireBytes, rawSize atomic.Int64
}

type bulkBuffers struct {
	body, resp bytes.Buffer
	zr         *gzip.Reader
}

func newBulkEmulator(b *testing.B) *bulkEmulator {
	e := &bulkEmulator{}
	e.bufs.New = func() any { return &bulkBuffers{} }
	e.srv = httptest.NewServer(http.HandlerFunc(e.bulk))
	b.Cleanup(e.srv.Close)
	return e
}

func (e *bulkEmulator) bulk(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/_bulk") {
		http.Error(w, `{"error":"not _bulk"}`, http.StatusNotFound)
		return
	}
	bb := e.bufs.Get().(*bulkBuffers)
	defer e.bufs.Put(bb)
	bb.body.Reset()
	wire := &countingReader{r: r.Body}
	var body io.Reader = wire
	if r.Header.Get("Content-Encoding") == "gzip" {
		var err error
		if bb.zr == nil {
			bb.zr, err = gzip.NewReader(wire)
		} else {
			err = bb.zr.Reset(wire)
		}
		if err != nil {
			http.Error(w, `{"error":"bad gzip"}`, http.StatusBadRequest)
			return
		}
		body = bb.zr
	}
	if _, err := bb.body.ReadFrom(body); err != nil {
		http.Error(w, `{"error":"read body"}`, http.StatusBadRequest)
		return
	}
	e.wireBytes.Add(wire.n)
	e.rawSize.Add(int64(bb.body.Len()))

	// Every document is one line after its action line, so the actions are half the lines. The answer is what
	// Elasticsearch sends for the sink's filter_path=errors,items.*.error,items.*.status: no _id, no _index.
	actions := int64(bytes.Count(bb.body.Bytes(), []byte{'\n'}) / 2)
	resp := &bb.resp
	resp.Reset()
	resp.WriteString(`{"errors":false,"items":[`)
	for i := range actions {
		if i > 0 {
			resp.WriteByte(',')
		}
		resp.WriteString(`{"index":{"status":201}}`)
	}
	resp.WriteString("]}")
	e.requests.Add(1)
	e.actions.Add(actions)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(resp.Bytes())
}

// check fails unless the last run indexed one action per input line (more would be retries, which this
// emulator never causes).
func (e *bulkEmulator) check(b *testing.B, _ int, lines int64) {
	b.Helper()
	requests, actions := e.requests.Swap(0), e.actions.Swap(0)
	wire, raw := e.wireBytes.Swap(0), e.rawSize.Swap(0)
	b.Logf("_bulk emulator: %d requests, %d actions, %.1f MiB NDJSON, %.1f MiB on the wire",
		requests, actions, float64(raw)/(1<<20), float64(wire)/(1<<20))
	if actions != lines {
		b.Fatalf("the emulator received %d actions for %d lines", actions, lines)
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// checkObjects fails unless the s3 run numbered run left objects under run-N/ that hold one line per input line
// (read after the run, outside its measurement).
func checkObjects(b *testing.B, client *minio.Client, run int, lines int64) {
	b.Helper()
	ctx := miniotest.Context(b)
	var objects, stored, got int64
	var zr *gzip.Reader
	for info := range client.ListObjects(ctx, outputsBucket, minio.ListObjectsOptions{
		Prefix: fmt.Sprintf("run-%d/", run), Recursive: true}) {
		if info.Err != nil {
			b.Fatalf("list run-%d/: %v", run, info.Err)
		}
		objects++
		stored += info.Size
		obj, err := client.GetObject(ctx, outputsBucket, info.Key, minio.GetObjectOptions{})
		if err != nil {
			b.Fatalf("get %s: %v", info.Key, err)
		}
		var body io.Reader = obj
		if strings.HasSuffix(info.Key, ".gz") {
			if zr == nil {
				zr, err = gzip.NewReader(obj)
			} else {
				err = zr.Reset(obj)
			}
			if err != nil {
				b.Fatalf("gunzip %s: %v", info.Key, err)
			}
			body = zr
		}
		var n atomic.Int64
		_, err = io.Copy(lineCounter{&n}, body)
		_ = obj.Close()
		if err != nil {
			b.Fatalf("read %s: %v", info.Key, err)
		}
		got += n.Load()
	}
	b.Logf("s3: %d objects, %.1f MiB stored", objects, float64(stored)/(1<<20))
	if got != lines {
		b.Fatalf("the objects under run-%d/ hold %d lines of %d", run, got, lines)
	}
}
