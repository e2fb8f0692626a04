// Command flickerbench is the end-to-end performance harness behind `make bench`: it generates a log of about
// -size bytes (kept in -dir and reused), runs the flicker binary over it with --once to a discard output and to
// an fsync'd file output, and prints MB/s, lines/s, CPU seconds per GiB and peak RSS next to the machine's
// ceilings.
//
// -workloads adds the container inputs over the same lines: docker_containers over a Docker json-file log of
// about -size bytes, and a log_files input with `format: cri` over a containerd log of that size; each run is
// printed next to the plain file's run of the same round. -containers N (0: none) then measures memory with N
// containers' logs open: flicker follows them (no --once) and its RSS is read once every event is acknowledged,
// with every log open (checked in /proc/PID/fd), for docker_containers and for the kubernetes input. A workload
// whose config this binary refuses (`flicker validate` exits 2) is skipped with the reason.
//
// -workloads nginx,json adds the processing of issue 15 over logs of -size bytes of their own: nginx combined
// lines read plain, through dissect + timestamp and through parse_regex + timestamp; JSON lines read plain and
// through parse_json + timestamp. Each processed run is compared with the plain run over the same log.
//
// -workloads http,syslog adds the listening sources of issue 13, fed over loopback by benchmarks/loadgen with
// each of -senders concurrent senders: NDJSON bodies of about -body-bytes POSTed to an http_sources input, RFC
// 5424 octet-counted frames (syslog-newline: newline-framed) written to a syslog_sources input over TCP, one
// connection per sender, until -size bytes are sent or -net-duration has passed. The events are the plain log's
// lines. flicker runs without --once; a run lasts until every event sent is acknowledged
// (flicker_pipeline_events_acknowledged_total), and its CPU is flicker's over that span. The last column says
// how much CPU the load generator (this process) used.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/flickerlog/flicker/benchmarks"
)

func main() {
	binary := flag.String("binary", "bin/flicker", "flicker binary to measure")
	dir := flag.String("dir", "benchmarks/data", "work directory for the generated logs and outputs")
	size := flag.Int64("size", 1<<30, "size of each generated log in bytes")
	workloads := flag.String("workloads", "file", "inputs to measure, comma-separated: file, docker, cri, nginx, json, http, syslog, syslog-newline")
	count := flag.Int("count", 1, "rounds: each round runs every workload once per output, alternating")
	containers := flag.Int("containers", 0, "also measure memory with this many containers' logs open (0: skip)")
	containersSize := flag.Int64("containers-size", 4<<20, "bytes of logs across all of -containers")
	senders := flag.String("senders", "10", "http and syslog: concurrent senders, comma-separated counts (one run each)")
	bodyBytes := flag.Int("body-bytes", 1<<20, "http: bytes per request body")
	netDuration := flag.Duration("net-duration", time.Minute, "http and syslog: stop sending after this long if -size is not sent yet")
	netPayload := flag.Int64("net-payload", 64<<20, "http and syslog: bytes of distinct payload generated, sent over and over")
	flag.Parse()
	o := options{binary: *binary, dir: *dir, size: *size, workloads: strings.Split(*workloads, ","), count: *count,
		containers: *containers, containersSize: *containersSize, bodyBytes: *bodyBytes, netDuration: *netDuration,
		netPayload: *netPayload}
	for _, s := range strings.Split(*senders, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "flickerbench: -senders: %q is not a count of senders\n", s)
			os.Exit(2)
		}
		o.senders = append(o.senders, n)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "flickerbench:", err)
		os.Exit(1)
	}
}

type options struct {
	binary, dir    string
	size           int64
	workloads      []string
	count          int
	containers     int
	containersSize int64
	senders        []int
	bodyBytes      int
	netDuration    time.Duration
	netPayload     int64
}

func run(o options) error {
	binary, err := filepath.Abs(o.binary)
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	plain, err := ceilings(dir, o.size)
	if err != nil {
		return err
	}
	loads := []benchmarks.Workload{plain}
	var nets []netWorkload
	for _, name := range o.workloads {
		var w benchmarks.Workload
		var more []benchmarks.Workload // workloads beyond w, for the processing logs
		switch strings.TrimSpace(name) {
		case "file":
			continue
		case "http", "syslog", "syslog-newline":
			ws, err := netWorkloads(binary, dir, strings.TrimSpace(name), o)
			if err != nil {
				return err
			}
			nets = append(nets, ws...)
			continue
		case "docker":
			logs, err := generated(filepath.Join(dir, fmt.Sprintf("docker-%d", o.size)), 1, o.size, benchmarks.GenerateDocker)
			if err != nil {
				return err
			}
			w = benchmarks.DockerWorkload(logs)
		case "cri":
			logs, err := generated(filepath.Join(dir, fmt.Sprintf("cri-%d", o.size)), 1, o.size, benchmarks.GenerateCRI)
			if err != nil {
				return err
			}
			w = benchmarks.CRIWorkload(logs)
		case "nginx", "json":
			ws, err := processingWorkloads(dir, strings.TrimSpace(name), o.size)
			if err != nil {
				return err
			}
			w, more = ws[0], ws[1:]
		default:
			return fmt.Errorf("-workloads: unknown workload %q: use file, docker, cri, nginx, json, http, syslog or syslog-newline", name)
		}
		for _, w := range append([]benchmarks.Workload{w}, more...) {
			if ok, err := supported(binary, dir, w); err != nil {
				return err
			} else if ok {
				loads = append(loads, w)
			}
		}
	}
	for _, w := range loads[1:] {
		if strings.HasPrefix(w.Name, "nginx") || strings.HasPrefix(w.Name, "json") {
			fmt.Printf("input %s: %d bytes, %d lines of its own log\n", w.Name, w.Bytes, w.Events)
			continue
		}
		fmt.Printf("input %s: %d bytes, %d messages (the first %d lines of the plain log)\n", w.Name, w.Bytes, w.Events, w.Events)
	}

	outputs := []struct{ name, yaml string }{
		{"discard", "outputs:\n  - type: discard\n"},
		{"file", fmt.Sprintf("outputs:\n  - type: file\n    path: %q\n", filepath.Join(dir, "out.jsonl"))},
	}
	fmt.Printf("\n%-5s %-7s %-22s %9s %12s %10s %9s %16s %s\n", "round", "output", "input", "MB/s", "events/s",
		"CPU-s/GiB", "RSS MiB", "% of file (ev/s)", "loadgen CPU-s/GiB (cores)")
	for round := 1; round <= o.count; round++ {
		for _, out := range outputs {
			var base benchmarks.Run
			ran := map[string]benchmarks.Run{} // this round's runs to this output, by workload name
			for i, w := range loads {
				res, err := measure(binary, dir, w, out.yaml)
				if err != nil {
					return fmt.Errorf("%s -> %s: %w", w.Name, out.name, err)
				}
				ran[w.Name] = res
				share := "-"
				switch {
				case i == 0:
					base = res
				case w.Base != "":
					// A processing workload is compared with the plain run over its own log.
					b := ran[w.Base]
					share = fmt.Sprintf("%.0f%% of %s", 100*res.LinesPerSec()/b.LinesPerSec(), w.Base)
				case !strings.HasSuffix(w.Name, " plain"):
					share = fmt.Sprintf("%.0f%% (MB/s %.0f%%)", 100*res.LinesPerSec()/base.LinesPerSec(),
						100*res.MBps()/base.MBps())
				}
				fmt.Printf("%-5d %-7s %-22s %9.0f %12.0f %10.2f %9.1f %16s\n", round, out.name, w.Name, res.MBps(),
					res.LinesPerSec(), res.CPUPerGiB(), float64(res.PeakRSS)/(1<<20), share)
			}
			for _, w := range nets {
				res, sent, err := measureNet(binary, dir, w, out.yaml, o)
				if err != nil {
					return fmt.Errorf("%s -> %s: %w", w.name(), out.name, err)
				}
				printNetRow(round, out.name, w.name(), res, base, sent)
			}
		}
	}
	if o.containers > 0 {
		if err := openFiles(binary, dir, o); err != nil {
			return err
		}
	}
	fmt.Printf("\nmeasured %s\n", time.Now().UTC().Format(time.RFC3339))
	return nil
}

// ceilings generates the plain log if it is missing, prints the machine's ceilings on it, and returns its
// workload.
func ceilings(dir string, size int64) (benchmarks.Workload, error) {
	logPath := filepath.Join(dir, fmt.Sprintf("input-%d.log", size))
	if _, err := os.Stat(logPath); err != nil {
		fmt.Printf("generating %s (%d bytes)\n", logPath, size)
		if _, err := benchmarks.GenerateLog(logPath, size); err != nil {
			return benchmarks.Workload{}, err
		}
	}
	fi, err := os.Stat(logPath)
	if err != nil {
		return benchmarks.Workload{}, err
	}
	lines, splitTime, err := benchmarks.SplitCeiling(logPath)
	if err != nil {
		return benchmarks.Workload{}, err
	}
	fmt.Printf("input: %s, %d bytes, %d lines\n\n", logPath, fi.Size(), lines)
	fmt.Printf("%-34s %9s %12s\n", "ceiling", "MB/s", "lines/s")
	fmt.Printf("%-34s %9.0f %12.0f\n", "read+split (Go loop)", float64(fi.Size())/1e6/splitTime.Seconds(),
		float64(lines)/splitTime.Seconds())
	fsyncTime, err := benchmarks.FsyncCeiling(logPath, filepath.Join(dir, "fsync-ceiling.out"), 4<<20)
	if err != nil {
		return benchmarks.Workload{}, err
	}
	fmt.Printf("%-34s %9.0f %12s\n\n", "write+fsync 4 MiB chunks", float64(fi.Size())/1e6/fsyncTime.Seconds(), "-")
	return benchmarks.PlainWorkload(logPath, fi.Size(), lines), nil
}

// generated returns the container logs under root, generating them first unless a previous run left them
// complete (its summary is written last).
func generated(root string, containers int, size int64,
	generate func(string, int, int64) (benchmarks.ContainerLogs, error)) (benchmarks.ContainerLogs, error) {
	summary := root + ".json"
	var logs benchmarks.ContainerLogs
	if b, err := os.ReadFile(summary); err == nil && json.Unmarshal(b, &logs) == nil {
		return logs, nil
	}
	fmt.Printf("generating %s (%d containers, %d bytes)\n", root, containers, size)
	if err := os.RemoveAll(root); err != nil {
		return logs, err
	}
	logs, err := generate(root, containers, size)
	if err != nil {
		return logs, err
	}
	b, err := json.Marshal(logs)
	if err != nil {
		return logs, err
	}
	return logs, os.WriteFile(summary, b, 0o644)
}

// supported reports whether binary accepts w's config, and says why not when it refuses it.
func supported(binary, dir string, w benchmarks.Workload) (bool, error) {
	cfg := filepath.Join(dir, "validate.yaml")
	if err := os.WriteFile(cfg, []byte(w.Config("outputs:\n  - type: discard\n")), 0o644); err != nil {
		return false, err
	}
	defer os.Remove(cfg)
	err := benchmarks.Validate(binary, cfg)
	if errors.Is(err, benchmarks.ErrRefused) {
		fmt.Printf("skipping %s: this binary refuses its config: %s\n", w.Name,
			strings.ReplaceAll(strings.TrimPrefix(err.Error(), benchmarks.ErrRefused.Error()+": "), "\n", " "))
		return false, nil
	}
	return err == nil, err
}

// measure runs binary with --once over w to outputs and, for the file output, checks that every event arrived.
func measure(binary, dir string, w benchmarks.Workload, outputs string) (benchmarks.Run, error) {
	work, err := os.MkdirTemp(dir, "run-")
	if err != nil {
		return benchmarks.Run{}, err
	}
	defer os.RemoveAll(work)
	out := filepath.Join(dir, "out.jsonl")
	defer os.Remove(out)
	cfg := filepath.Join(work, "config.yaml")
	if err := os.WriteFile(cfg, []byte(w.Config(outputs)), 0o644); err != nil {
		return benchmarks.Run{}, err
	}
	elapsed, cpu, rss, err := benchmarks.RunFlicker(binary, work, "-c", cfg, "--once", "--log-level", "warn")
	if err != nil {
		return benchmarks.Run{}, err
	}
	if strings.Contains(outputs, out) {
		n, err := countLines(out)
		if err != nil {
			return benchmarks.Run{}, err
		}
		if n != w.Events {
			return benchmarks.Run{}, fmt.Errorf("%d events in %s, want %d", n, out, w.Events)
		}
	}
	return benchmarks.Run{Name: w.Name, Bytes: w.Bytes, Lines: w.Events, Elapsed: elapsed, CPU: cpu, PeakRSS: rss}, nil
}

func countLines(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n int64
	buf := make([]byte, 1<<20)
	for {
		k, err := f.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// openFiles measures flicker following o.containers containers' logs, docker_containers and kubernetes in turn,
// o.count times.
func openFiles(binary, dir string, o options) error {
	docker, err := generated(filepath.Join(dir, fmt.Sprintf("docker-%dx%d", o.containers, o.containersSize)),
		o.containers, o.containersSize, benchmarks.GenerateDocker)
	if err != nil {
		return err
	}
	pods, err := generated(filepath.Join(dir, fmt.Sprintf("pods-%dx%d", o.containers, o.containersSize)),
		o.containers, o.containersSize, benchmarks.GenerateCRI)
	if err != nil {
		return err
	}
	var loads []benchmarks.Workload
	for _, w := range []benchmarks.Workload{benchmarks.DockerWorkload(docker), benchmarks.KubernetesWorkload(pods)} {
		if ok, err := supported(binary, dir, w); err != nil {
			return err
		} else if ok {
			loads = append(loads, w)
		}
	}
	fmt.Printf("\n%d containers, %d bytes of logs, following (no --once), discard output\n", o.containers, o.containersSize)
	fmt.Printf("%-5s %-18s %9s %11s %9s %9s %10s\n", "round", "input", "open fds", "files_open", "RSS MiB",
		"peak MiB", "seconds")
	for round := 1; round <= o.count; round++ {
		for _, w := range loads {
			work, err := os.MkdirTemp(dir, "run-")
			if err != nil {
				return err
			}
			cfg := filepath.Join(work, "config.yaml")
			if err := os.WriteFile(cfg, []byte(w.Config("outputs:\n  - type: discard\n")), 0o644); err != nil {
				return err
			}
			res, err := benchmarks.RunOpenFiles(binary, work, cfg, w.Dir, o.containers, w.Events, 2*time.Minute)
			os.RemoveAll(work)
			if err != nil {
				return fmt.Errorf("%s, %d containers: %w", w.Name, o.containers, err)
			}
			fmt.Printf("%-5d %-18s %9d %11d %9.1f %9.1f %10.2f\n", round, w.Name, res.OpenFDs, res.FilesOpen,
				float64(res.RSS)/(1<<20), float64(res.PeakRSS)/(1<<20), res.Elapsed.Seconds())
		}
	}
	return nil
}

// processingWorkloads returns the workloads of the nginx or the json log of size bytes under dir, generating the
// log first when a previous run did not leave it.
func processingWorkloads(dir, name string, size int64) ([]benchmarks.Workload, error) {
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.log", name, size))
	generate, workloads := benchmarks.GenerateNginx, benchmarks.NginxWorkloads
	if name == "json" {
		generate, workloads = benchmarks.GenerateJSONLines, benchmarks.JSONWorkloads
	}
	summary := path + ".lines"
	if b, err := os.ReadFile(summary); err == nil {
		if lines, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
			if fi, err := os.Stat(path); err == nil {
				return workloads(path, fi.Size(), lines), nil
			}
		}
	}
	fmt.Printf("generating %s (%d bytes)\n", path, size)
	lines, err := generate(path, size)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	// The line count is written last: a log cut short by an interrupted run is generated again.
	if err := os.WriteFile(summary, []byte(strconv.FormatInt(lines, 10)), 0o644); err != nil {
		return nil, err
	}
	return workloads(path, fi.Size(), lines), nil
}
