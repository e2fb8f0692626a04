package benchmarks

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Run is one measured run of the flicker binary.
type Run struct {
	Name    string
	Bytes   int64 // input bytes
	Lines   int64
	Elapsed time.Duration
	CPU     time.Duration // user + system
	PeakRSS int64         // bytes
}

// MiBps is input MiB per second.
func (r Run) MiBps() float64 { return float64(r.Bytes) / (1 << 20) / r.Elapsed.Seconds() }

// MBps is input MB (10^6 bytes) per second, the unit the targets use.
func (r Run) MBps() float64 { return float64(r.Bytes) / 1e6 / r.Elapsed.Seconds() }

// LinesPerSec is input lines per second.
func (r Run) LinesPerSec() float64 { return float64(r.Lines) / r.Elapsed.Seconds() }

// CPUPerGiB is CPU seconds spent per GiB of input.
func (r Run) CPUPerGiB() float64 { return r.CPU.Seconds() / (float64(r.Bytes) / (1 << 30)) }

// RunFlicker runs binary with args in dir until it exits and measures it; the child's peak RSS and CPU come from
// its rusage.
func RunFlicker(binary, dir string, args ...string) (elapsed, cpu time.Duration, peakRSS int64, err error) {
	return RunFlickerEnv(binary, dir, nil, nil, args...)
}

// RunFlickerEnv is RunFlicker with env ("KEY=value") added to this process's environment, e.g. the AWS settings
// of an S3 registry, and the child's log (stderr) copied to logs when it is not nil.
func RunFlickerEnv(binary, dir string, env []string, logs io.Writer, args ...string) (elapsed, cpu time.Duration, peakRSS int64, err error) {
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if logs != nil {
		cmd.Stderr = io.MultiWriter(&stderr, logs)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, fmt.Errorf("%s %v: %w", binary, args, err)
	}
	// The child's rusage Maxrss is not its own peak: Linux carries the parent's peak RSS over the exec (Go
	// starts children with CLONE_VM), so a benchmark process holding a large input or emulator inflates it.
	// VmHWM of the child's /proc status is its own; it only grows, so the last sample is the peak give or take
	// the final 20 ms.
	sampled := make(chan int64)
	stop := make(chan struct{})
	go func() {
		var peak int64
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if v, ok := vmHWM(cmd.Process.Pid); ok {
				peak = max(peak, v)
			}
			select {
			case <-stop:
				sampled <- peak
				return
			case <-t.C:
			}
		}
	}()
	err = cmd.Wait()
	close(stop)
	peakRSS = <-sampled
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%s %v: %w\n%s", binary, args, err, stderr.String())
	}
	elapsed = time.Since(start)
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return elapsed, 0, 0, fmt.Errorf("no rusage on this platform")
	}
	cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return elapsed, cpu, peakRSS, nil
}

// vmHWM reads the peak resident set size of process pid from /proc, in bytes.
func vmHWM(pid int) (int64, bool) { return procStatus(pid, "VmHWM:") }

// WriteConfig writes a flicker config that ships logPath to the given outputs YAML (an "outputs:" block).
func WriteConfig(path, logPath, outputs string) error {
	cfg := fmt.Sprintf("log_files:\n  - name: bench\n    paths: [%q]\n%s", logPath, outputs)
	return os.WriteFile(path, []byte(cfg), 0o644)
}
