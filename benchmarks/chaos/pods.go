package chaos

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/flickerlog/flicker/benchmarks"
)

// How a pod started or ended.
const (
	startFirst    = "first"
	startKill9    = "after_kill9"
	startLongDown = "after_kill9_long_downtime"
	startSIGTERM  = "after_sigterm"
	startStandby  = "standby"
	startCorrupt  = "after_corrupt_kill9"
	startDied     = "after_unexpected_exit"

	endKill9   = "kill9"
	endSIGTERM = "sigterm"
	endExited  = "exited"
)

// pod is one flicker process, as a Kubernetes pod with an emptyDir would run it: its own state dir, its own file
// output file and metrics address.
type pod struct {
	id       int
	start    string
	standby  bool
	outputs  [numOutputs]bool
	stateDir string
	outPath  string
	addr     string // --http-addr
	cmd      *exec.Cmd
	done     chan struct{} // closed once the process exited and was waited for
	log      *podLog
	started  time.Time

	mu       sync.Mutex
	ended    time.Time
	end      string
	exit     int
	peakRSS  int64
	maxFDs   int
	maxGor   int
	firstGor int
	lastGor  int
	firstFDs int
	lastFDs  int
	metrics  map[string]float64 // the last scrape
	scrapes  int
	atKill   *snapshotAtKill
	until    time.Time // a standby: when the holder it waited next to was killed
}

// snapshotAtKill is what the pod's metrics said of its snapshots just before it was killed.
type snapshotAtKill struct {
	Uploads        float64 `json:"uploads"`
	LastSuccessAge float64 `json:"last_success_age_seconds"`
	Duration       float64 `json:"duration_seconds"`
	Scraped        float64 `json:"scraped_at_seconds"` // since the run began
}

// podLog keeps a pod's stderr (its JSON logs) in a file and watches for the lines the harness needs.
type podLog struct {
	mu       sync.Mutex
	w        *bufio.Writer
	f        *os.File
	partial  []byte
	restored time.Time // the created time of the snapshot restored; zero: none yet
	writer   string    // this pod's writer id
	from     string    // the writer id of the snapshot it restored
	first    bool      // "no snapshot stored yet"
	ready    time.Time // when "S3 registry ready" was seen
	fallback bool
	fenced   bool
	errors   []string
}

func newPodLog(path string) (*podLog, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &podLog{f: f, w: bufio.NewWriter(f)}, nil
}

func (l *podLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(p)
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.line(l.partial[:i])
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

func (l *podLog) line(b []byte) {
	var rec struct {
		Level   string    `json:"level"`
		Msg     string    `json:"message"`
		Created time.Time `json:"created"`
		Writer  string    `json:"writer"`
		From    string    `json:"snapshot_writer"`
	}
	if json.Unmarshal(b, &rec) != nil {
		return
	}
	switch {
	case rec.Msg == "registry restored":
		l.restored = rec.Created
	case strings.HasPrefix(rec.Msg, "FALLBACK:"):
		l.restored, l.fallback = rec.Created, true
	case strings.HasPrefix(rec.Msg, "no snapshot stored yet"):
		l.first = true
	case rec.Msg == "S3 registry ready":
		l.ready, l.writer, l.from = time.Now(), rec.Writer, rec.From
	case strings.HasPrefix(rec.Msg, "FENCED"):
		l.fenced = true
	}
	if rec.Level == "error" && len(l.errors) < 20 {
		l.errors = append(l.errors, string(b))
	}
}

func (l *podLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.w.Flush()
	_ = l.f.Close()
}

// state returns what the log said so far.
func (l *podLog) state() (restored, ready time.Time, first, fallback bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.restored, l.ready, l.first, l.fallback
}

// writers returns the pod's writer id and that of the snapshot it restored.
func (l *podLog) writers() (own, from string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writer, l.from
}

// sample reads the pod's peak RSS, open descriptors and metrics once.
func (p *pod) sample(ctx context.Context, client *http.Client, runStart time.Time) {
	pid := p.cmd.Process.Pid
	rss, okRSS := benchmarks.PeakRSS(pid)
	fds, errFDs := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	m, errM := benchmarks.ScrapeMetrics(ctx, client, "http://"+p.addr+"/metrics")
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.ended.IsZero() {
		return
	}
	if okRSS {
		p.peakRSS = max(p.peakRSS, rss)
	}
	if errFDs == nil {
		p.maxFDs = max(p.maxFDs, len(fds))
		if p.firstFDs == 0 {
			p.firstFDs = len(fds)
		}
		p.lastFDs = len(fds)
	}
	if errM == nil {
		p.metrics = m
		p.scrapes++
		if g, ok := m["go_goroutines"]; ok {
			if p.firstGor == 0 {
				p.firstGor = int(g)
			}
			p.lastGor = int(g)
			p.maxGor = max(p.maxGor, int(g))
		}
	}
}

// current returns the goroutines and open descriptors of the pod's last sample.
func (p *pod) current() (goroutines, fds int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastGor, p.lastFDs
}

// watch samples the pod every interval until it exits or ctx ends.
func (p *pod) watch(ctx context.Context, interval time.Duration, runStart time.Time) {
	client := &http.Client{Timeout: interval}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		p.sample(ctx, client, runStart)
		select {
		case <-ctx.Done():
			return
		case <-p.done:
			return
		case <-tick.C:
		}
	}
}

// signal sends sig to the pod and waits for it to exit, killing it after timeout.
func (p *pod) stop(sig syscall.Signal, how string, timeout time.Duration) {
	p.mu.Lock()
	if p.end == "" {
		p.end = how
	}
	p.mu.Unlock()
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// exited reports whether the process has ended.
func (p *pod) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// defaultClient scrapes a pod outside its sampling loop.
var defaultClient = &http.Client{Timeout: 2 * time.Second}

// freeAddr returns a 127.0.0.1 address whose port was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
