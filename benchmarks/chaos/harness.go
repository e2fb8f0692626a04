package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flickerlog/flicker/benchmarks"
	"github.com/flickerlog/flicker/internal/miniotest"
)

// Settings of every pod (see doc.go).
const (
	bucket           = "chaos"
	registryKey      = "chaos/registry.json"
	snapshotInterval = time.Second
	leaseTTL         = 3 * time.Second
	historyInterval  = 5 * time.Second
	historySlots     = 24
	shutdownTimeout  = 10 * time.Second
	commitInterval   = 250 * time.Millisecond
	maxLineBytes     = 2048
	scanInterval     = 200 * time.Millisecond
	pollInterval     = 250 * time.Millisecond // the harness reads the outputs this often
	sampleInterval   = time.Second            // and samples each pod's memory, descriptors and metrics
	// minUptime is how long a pod reads before a fault ends it.
	minUptime = 2 * time.Second
	// readSlack is how long after "S3 registry ready" a pod is taken to be reading: its first scan.
	readSlack = time.Second
	// dupSlack widens the duplicate window: a delivery is seen by the harness up to pollInterval after it was
	// written, and acknowledged and committed up to a commit interval (and the latency of a loaded machine)
	// after that. See doc.go.
	dupSlack = 3 * time.Second
	// outputFSBytes is the size of the tmpfs the file outputs write to: the disk a fault fills. Each pod's output
	// rotates at outputRotateBytes keeping one rotated file, and the harness removes a pod's files once it
	// ended and they were read.
	outputFSBytes     = 96 << 20
	outputRotateBytes = 4 << 20
	outputRotateFiles = 4
	// memoryBound is the limit on each flicker process's peak RSS.
	memoryBound = 128 << 20
)

// runConfig is what the flags chose.
type runConfig struct {
	duration   time.Duration
	seed       uint64
	files      int
	containers int           // Docker containers, and as many Kubernetes pods
	netOutputs bool          // each pod also ships to http or elasticsearch
	soak       time.Duration // after the faults, one pod runs this long through outages only (see soak.go)
	writer     writerOptions
}

// harness is one chaos run: MinIO behind its fault proxy, the writers, the pods, and the ledger.
type harness struct {
	t      *testing.T
	cfg    runConfig
	bin    string
	dir    string
	logDir string // the writers' files
	outDir string // the file outputs'
	podDir string // state dirs, configs, pod logs
	// keepDir is where each pod's output files are copied before the harness removes them (-chaos.dir); "": not
	// kept.
	keepDir string
	start   time.Time

	noTmpfs string // why the outputs are not on a tmpfs (the disk-full fault is then not injected)
	net     netServers

	minio *miniotest.Server
	proxy *miniotest.Proxy
	env   []string

	ledger    *ledger
	rotations *rotationLog
	writers   []*fileWriter
	contDir   string // the container runtimes' logs
	conts     []*containerWriter

	ctx    context.Context // ends when the run ends; background goroutines stop on it
	cancel context.CancelFunc
	bg     sync.WaitGroup

	mu       sync.Mutex
	pods     []*pod
	holder   *pod // the pod that runs (or is meant to); nil between a kill and the next start
	tails    []*outputTail
	faults   []faultRecord
	corrupts int // corrupt faults so far
	bgErr    error
}

// window is a span of the run, in seconds since it began.
type window struct {
	From float64 `json:"from"`
	To   float64 `json:"to"`
	Why  string  `json:"why"`
	Next int     `json:"next_pod"` // the pod whose readiness ended it
}

// faultRecord is one fault injected.
type faultRecord struct {
	Kind   string  `json:"kind"`
	At     float64 `json:"at"` // seconds since the run began
	For    float64 `json:"for_seconds,omitempty"`
	Detail string  `json:"detail,omitempty"`
}

func (h *harness) since(t time.Time) float64 { return t.Sub(h.start).Seconds() }

// fail records an error of a background goroutine; the test fails with it at the end.
func (h *harness) fail(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.bgErr == nil {
		h.bgErr = err
	}
}

// reading reports whether a pod is running and has been reading for readSlack.
func (h *harness) reading() bool {
	h.mu.Lock()
	p := h.holder
	h.mu.Unlock()
	if p == nil || p.exited() {
		return false
	}
	_, ready, _, _ := p.log.state()
	return !ready.IsZero() && time.Since(ready) >= readSlack
}

// waitReading waits until the holder has been reading for d, for at most timeout (a pod that waits for the
// lease of a killed one takes the lease TTL plus the skew margin).
func (h *harness) waitReading(d, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		p := h.holder
		h.mu.Unlock()
		if p != nil && !p.exited() {
			if _, ready, _, _ := p.log.state(); !ready.IsZero() && time.Since(ready) >= d {
				return
			}
		}
		h.sleep(50 * time.Millisecond)
	}
}

// startPod starts a flicker: a new pod with a fresh state dir, file output and metrics address.
func (h *harness) startPod(start string, standby bool) *pod {
	h.t.Helper()
	h.mu.Lock()
	id := len(h.pods)
	h.mu.Unlock()
	addr, err := freeAddr()
	if err != nil {
		h.t.Fatalf("pod %d: %v", id, err)
	}
	p := &pod{id: id, start: start, standby: standby, addr: addr, done: make(chan struct{}),
		stateDir: filepath.Join(h.podDir, fmt.Sprintf("state-%03d", id)),
		outPath:  filepath.Join(h.outDir, fmt.Sprintf("pod-%03d.ndjson", id))}
	p.outputs[outFile] = true
	if h.cfg.netOutputs {
		p.outputs[chooseNet(h.cfg.seed, id)] = true
	}
	config := filepath.Join(h.podDir, fmt.Sprintf("config-%03d.yaml", id))
	if err := os.WriteFile(config, []byte(h.podConfig(p)), 0o644); err != nil {
		h.t.Fatal(err)
	}
	if p.log, err = newPodLog(filepath.Join(h.podDir, fmt.Sprintf("pod-%03d.log", id))); err != nil {
		h.t.Fatal(err)
	}
	args := []string{"run", "-c", config, "--registry-file", "s3://" + bucket + "/" + registryKey,
		"--state-dir", p.stateDir, "--log-format", "json", "--http-addr", addr,
		"--snapshot-interval", snapshotInterval.String(), "--lease-ttl", leaseTTL.String(),
		"--history-interval", historyInterval.String(), "--history-slots", fmt.Sprint(historySlots),
		"--shutdown-timeout", shutdownTimeout.String(), "--commit-interval", commitInterval.String(),
		"--restore-timeout", "120s", "--stall-timeout", "0"}
	if standby {
		args = append(args, "--standby")
	}
	p.cmd = exec.Command(h.bin, args...)
	p.cmd.Env = append(os.Environ(), h.env...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.Dir = h.podDir
	if err := p.cmd.Start(); err != nil {
		h.t.Fatalf("pod %d: start flicker: %v", id, err)
	}
	p.started = time.Now()
	tail := &outputTail{path: p.outPath, pod: id, out: outFile, exited: p.exited, keep: h.keepDir}
	h.mu.Lock()
	h.pods = append(h.pods, p)
	h.tails = append(h.tails, tail)
	if !standby {
		h.holder = p
	}
	h.mu.Unlock()
	h.bg.Add(2)
	go func() {
		defer h.bg.Done()
		err := p.cmd.Wait()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		}
		p.mu.Lock()
		p.ended, p.exit = time.Now(), code
		if p.end == "" {
			p.end = endExited
		}
		p.mu.Unlock()
		p.log.close()
		close(p.done)
	}()
	go func() {
		defer h.bg.Done()
		p.watch(h.ctx, sampleInterval, h.start)
	}()
	return p
}

// podConfig is the YAML of pod p: the writers' files (plain lines) to the pod's outputs.
func (h *harness) podConfig(p *pod) string {
	return fmt.Sprintf(`log_files:
  - name: chaos
    paths: [%q]
    scan_interval: %s
    close_inactive: 5s
    max_line_bytes: %d
    fields: {pod: "%d"}
batch:
  max_wait: 50ms
outputs:
  - type: file
    name: file
    path: %q
    rotate_bytes: %d
    rotate_files: %d
    retry:
      initial: 50ms
      max: 1s
`, filepath.Join(h.logDir, "*.log"), scanInterval, maxLineBytes, p.id, p.outPath, outputRotateBytes,
		outputRotateFiles) + netConfig(p, h.netURL(p)) + h.containerConfig(p)
}

// containerConfig is the YAML of the container inputs.
func (h *harness) containerConfig(p *pod) string {
	if h.cfg.containers == 0 {
		return ""
	}
	docker, pods := containerPaths(h.contDir)
	return fmt.Sprintf(`docker_containers:
  - name: docker
    path: %q
    scan_interval: %s
    max_line_bytes: %d
    fields: {pod: "%d"}
kubernetes:
  - name: kubernetes
    path: %q
    scan_interval: %s
    max_line_bytes: %d
    fields: {pod: "%d"}
`, docker, scanInterval, containerMaxLine, p.id, pods, scanInterval, containerMaxLine, p.id)
}

// endHolder ends the running pod with sig (SIGKILL: a crash; SIGTERM: a clean stop) and records the downtime's
// beginning. A killed pod's snapshot metrics are scraped just before, for the report.
func (h *harness) endHolder(sig syscall.Signal) *pod {
	h.mu.Lock()
	p := h.holder
	h.holder = nil
	h.mu.Unlock()
	if p == nil || p.exited() {
		return p
	}
	ctx, cancel := context.WithTimeout(h.ctx, 2*time.Second)
	if m, err := benchmarks.ScrapeMetrics(ctx, defaultClient, "http://"+p.addr+"/metrics"); err == nil {
		p.mu.Lock()
		p.metrics = m
		if sig == syscall.SIGKILL {
			p.atKill = &snapshotAtKill{Uploads: m["flicker_snapshot_uploads_total"],
				LastSuccessAge: m["flicker_snapshot_last_success_age_seconds"],
				Duration:       m["flicker_snapshot_duration_seconds"], Scraped: h.since(time.Now())}
		}
		p.mu.Unlock()
	}
	cancel()
	how := endSIGTERM
	if sig == syscall.SIGKILL {
		how = endKill9
	}
	p.stop(sig, how, shutdownTimeout+20*time.Second)
	return p
}

// collect polls every pod's outputs until ctx ends.
func (h *harness) collect(ctx context.Context) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if err := h.pollOutputs(); err != nil {
			h.fail(err) // and go on: what can still be read is
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (h *harness) pollOutputs() error {
	h.mu.Lock()
	tails := append([]*outputTail(nil), h.tails...)
	h.mu.Unlock()
	now := time.Now()
	var errs []error
	for _, t := range tails {
		if t.finished {
			continue
		}
		ended := t.exited()
		found := t.f != nil
		if err := t.poll(h.ledger, now); err != nil {
			errs = append(errs, err)
			continue
		}
		if !found && t.early > 0 {
			h.t.Logf("pod %d's output rotated %d times before the harness first found it: read from %s.%d",
				t.pod, t.early, t.path, t.early)
		}
		if ended {
			// Read after its pod exited: nothing more comes. Its files go, to keep the small disk free.
			if err := t.finish(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// mountOutputs puts the file outputs' directory on a tmpfs of outputFSBytes, for the disk-full fault. Where
// mounting is impossible (not root) the run goes on without that fault and the report says why.
func (h *harness) mountOutputs() {
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", outputFSBytes), "none", h.outDir).CombinedOutput()
	if err != nil {
		h.noTmpfs = fmt.Sprintf("mount a tmpfs at %s: %v: %s", h.outDir, err, out)
		return
	}
	h.t.Cleanup(func() {
		if out, err := exec.Command("umount", h.outDir).CombinedOutput(); err != nil {
			h.t.Errorf("umount %s: %v: %s", h.outDir, err, out)
		}
	})
}

// sleep waits for d, replacing the running pod when it exits on its own. It returns early when the run ends.
func (h *harness) sleep(d time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		h.mu.Lock()
		p := h.holder
		h.mu.Unlock()
		var done <-chan struct{}
		if p != nil {
			done = p.done
		}
		timer := time.NewTimer(left)
		select {
		case <-timer.C:
			return
		case <-h.ctx.Done():
			timer.Stop()
			return
		case <-done:
			timer.Stop()
			h.mu.Lock()
			if h.holder == p {
				h.holder = nil
			}
			h.mu.Unlock()
			h.t.Logf("pod %d exited by itself (code %d) at %.1fs; starting a new one", p.id, p.exit, h.since(time.Now()))
			h.startPod(startDied, false)
		}
	}
}
