package benchmarks

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// OpenFilesRun is a following run of flicker over many logs, measured at the moment every event is acknowledged
// while the process holds every log open.
type OpenFilesRun struct {
	OpenFDs   int           // the process's descriptors open on files under the input's root (from /proc)
	FilesOpen int64         // what flicker reports: flicker_input_files_open
	Acked     int64         // flicker_pipeline_events_acknowledged_total
	RSS       int64         // VmRSS, bytes
	PeakRSS   int64         // VmHWM: the peak so far, bytes
	Elapsed   time.Duration // from start to that moment
}

// RunOpenFiles starts binary with config and no --once (so that it follows the logs and keeps them open), and
// waits until at least files descriptors under root are open and events events are acknowledged, then reads its
// memory and stops it with SIGTERM. Not --once: that exits once everything is acknowledged, so there is no
// steady moment with every log open to measure.
func RunOpenFiles(binary, dir, config, root string, files int, events int64, timeout time.Duration) (OpenFilesRun, error) {
	addr, err := freeAddr()
	if err != nil {
		return OpenFilesRun{}, err
	}
	cmd := exec.Command(binary, "-c", config, "--log-level", "warn", "--http-addr", addr)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return OpenFilesRun{}, fmt.Errorf("%s: %w", binary, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	run, err := awaitOpenFiles(cmd.Process.Pid, addr, root, files, events, timeout, exited)
	run.Elapsed = time.Since(start)
	if err != nil {
		_ = cmd.Process.Kill()
		<-exited
		return run, fmt.Errorf("%w\n%s", err, stderr.String())
	}
	return run, stopFlicker(cmd, exited, binary, &stderr)
}

// stopFlicker sends SIGTERM to the flicker started as cmd, whose Wait result arrives on exited, and waits up to
// 30 s for a clean exit; it kills the process after that. The error carries flicker's stderr.
func stopFlicker(cmd *exec.Cmd, exited <-chan error, binary string, stderr *bytes.Buffer) error {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			return fmt.Errorf("%s stopped: %w\n%s", binary, err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%s did not stop within 30s of SIGTERM\n%s", binary, stderr.String())
	}
	return nil
}

func awaitOpenFiles(pid int, addr, root string, files int, events int64, timeout time.Duration,
	exited <-chan error) (OpenFilesRun, error) {
	var run OpenFilesRun
	deadline := time.After(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			return run, fmt.Errorf("flicker exited before it held the files open: %v", err)
		case <-deadline:
			return run, fmt.Errorf("after %s: %d descriptors open under %s (want %d), %d events acknowledged (want %d)",
				timeout, run.OpenFDs, root, files, run.Acked, events)
		case <-tick.C:
		}
		run.OpenFDs = openUnder(pid, root)
		m, err := scrape(addr)
		if err != nil {
			continue // the listener is not up yet
		}
		run.FilesOpen, run.Acked = m["flicker_input_files_open"], m["flicker_pipeline_events_acknowledged_total"]
		if run.OpenFDs >= files && run.Acked >= events {
			run.RSS, _ = procStatus(pid, "VmRSS:")
			run.PeakRSS, _ = procStatus(pid, "VmHWM:")
			return run, nil
		}
	}
}

// openUnder counts the descriptors of process pid open on files under root.
func openUnder(pid int, root string) int {
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(fdDir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join(fdDir, e.Name())); err == nil &&
			strings.HasPrefix(target, root+string(filepath.Separator)) {
			n++
		}
	}
	return n
}

// scrape reads flicker's /metrics at addr, each metric summed over its labels, in whole units.
func scrape(addr string) (map[string]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m, err := ScrapeMetrics(ctx, http.DefaultClient, "http://"+addr+"/metrics")
	if err != nil {
		return nil, err
	}
	sums := make(map[string]int64, len(m))
	for name, v := range m {
		sums[name] = int64(v)
	}
	return sums, nil
}

// procStatus reads a kB field of /proc/PID/status (VmRSS:, VmHWM:) in bytes.
func procStatus(pid int, field string) (int64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// freeAddr returns a 127.0.0.1 address with a port free now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
