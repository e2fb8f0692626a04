package benchmarks

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Sent is what a load generator reports it delivered to a listening source.
type Sent struct {
	Events, Bytes int64
}

// RunListening runs binary with config as a receiver (no --once: a listening source never runs out of input)
// and measures it under the load send generates: it starts the binary with --http-addr, waits until listen (the
// source's address) accepts connections, calls send, and waits until flicker_pipeline_events_acknowledged_total
// reaches the events send reports. Elapsed runs from the start of send to that moment, and CPU is the binary's
// user and system time over the same span (from /proc/PID/stat); PeakRSS is its VmHWM then. It stops the binary
// with SIGTERM before returning.
func RunListening(binary, dir, config, listen string, timeout time.Duration, send func() (Sent, error)) (Run, error) {
	addr, err := freeAddr()
	if err != nil {
		return Run{}, err
	}
	cmd := exec.Command(binary, "-c", config, "--log-level", "warn", "--http-addr", addr)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return Run{}, fmt.Errorf("%s: %w", binary, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	run, err := measureListening(cmd.Process.Pid, addr, listen, timeout, exited, send)
	if err != nil {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
		return run, fmt.Errorf("%w\n%s", err, stderr.String())
	}
	return run, stopFlicker(cmd, exited, binary, &stderr)
}

func measureListening(pid int, metricsAddr, listen string, timeout time.Duration, exited <-chan error,
	send func() (Sent, error)) (Run, error) {
	var run Run
	deadline := time.Now().Add(timeout)
	// Up once the telemetry answers and the source accepts a connection (opened and closed at once: an empty
	// request or stream).
	for up := false; !up; {
		select {
		case err := <-exited:
			return run, fmt.Errorf("flicker exited before it listened on %s: %v", listen, err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return run, fmt.Errorf("flicker did not listen on %s within %s", listen, timeout)
		}
		if _, err := scrape(metricsAddr); err != nil {
			continue
		}
		if conn, err := net.DialTimeout("tcp", listen, time.Second); err == nil {
			conn.Close()
			up = true
		}
	}
	cpu0, err := procCPU(pid)
	if err != nil {
		return run, err
	}
	start := time.Now()
	sent, err := send()
	if err != nil {
		return run, fmt.Errorf("send: %w", err)
	}
	run.Bytes, run.Lines = sent.Bytes, sent.Events
	var acked int64
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if m, err := scrape(metricsAddr); err == nil {
			acked = m["flicker_pipeline_events_acknowledged_total"]
			if acked >= sent.Events {
				break
			}
		}
		select {
		case err := <-exited:
			return run, fmt.Errorf("flicker exited with %d of %d events acknowledged: %v", acked, sent.Events, err)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return run, fmt.Errorf("after %s: %d of %d events acknowledged", timeout, acked, sent.Events)
		}
	}
	run.Elapsed = time.Since(start)
	cpu1, err := procCPU(pid)
	if err != nil {
		return run, err
	}
	run.CPU = cpu1 - cpu0
	run.PeakRSS, _ = vmHWM(pid)
	return run, nil
}

// userHZ is the unit of the CPU times in /proc/PID/stat: USER_HZ, 100 on every Linux architecture Go runs on.
const userHZ = 100

// procCPU reads the user and system time process pid has used so far from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces: count fields after its last ')'.
	// utime and stime are fields 14 and 15, so the 12th and 13th after it.
	paren := bytes.LastIndexByte(b, ')')
	fields := strings.Fields(string(b[paren+1:]))
	if paren < 0 || len(fields) < 13 {
		return 0, errors.New("/proc/" + strconv.Itoa(pid) + "/stat: too few fields")
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}
