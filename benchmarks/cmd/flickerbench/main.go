// Command flickerbench is the end-to-end performance harness behind `make bench`: it generates a log of about
// -size bytes (kept in -dir and reused), runs the flicker binary over it with --once to a discard output and to
// an fsync'd file output, and prints MB/s, lines/s, CPU seconds per GiB and peak RSS next to the machine's
// ceilings.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/flickerlog/flicker/benchmarks"
)

func main() {
	binary := flag.String("binary", "bin/flicker", "flicker binary to measure")
	dir := flag.String("dir", "benchmarks/data", "work directory for the generated log and outputs")
	size := flag.Int64("size", 1<<30, "size of the generated log in bytes")
	flag.Parse()
	if err := run(*binary, *dir, *size); err != nil {
		fmt.Fprintln(os.Stderr, "flickerbench:", err)
		os.Exit(1)
	}
}

func run(binary, dir string, size int64) error {
	binary, err := filepath.Abs(binary)
	if err != nil {
		return err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(dir, fmt.Sprintf("input-%d.log", size))
	if _, err := os.Stat(logPath); err != nil {
		fmt.Printf("generating %s (%d bytes)\n", logPath, size)
		if _, err := benchmarks.GenerateLog(logPath, size); err != nil {
			return err
		}
	}
	fi, err := os.Stat(logPath)
	if err != nil {
		return err
	}
	lines, splitTime, err := benchmarks.SplitCeiling(logPath)
	if err != nil {
		return err
	}
	fmt.Printf("input: %s, %d bytes, %d lines\n\n", logPath, fi.Size(), lines)
	fmt.Printf("%-34s %9s %12s %10s %9s\n", "run", "MB/s", "lines/s", "CPU-s/GiB", "RSS MiB")
	fmt.Printf("%-34s %9.0f %12.0f %10s %9s\n", "ceiling: read+split (Go loop)",
		float64(fi.Size())/1e6/splitTime.Seconds(), float64(lines)/splitTime.Seconds(), "-", "-")
	fsyncTime, err := benchmarks.FsyncCeiling(logPath, filepath.Join(dir, "fsync-ceiling.out"), 4<<20)
	if err != nil {
		return err
	}
	fmt.Printf("%-34s %9.0f %12s %10s %9s\n", "ceiling: write+fsync 4 MiB chunks", float64(fi.Size())/1e6/fsyncTime.Seconds(), "-", "-", "-")

	runs := []struct{ name, outputs string }{
		{"flicker --once file -> discard", "outputs:\n  - type: discard\n"},
		{"flicker --once file -> file", fmt.Sprintf("outputs:\n  - type: file\n    path: %q\n", filepath.Join(dir, "out.jsonl"))},
	}
	for _, r := range runs {
		work, err := os.MkdirTemp(dir, "run-")
		if err != nil {
			return err
		}
		cfg := filepath.Join(work, "config.yaml")
		if err := benchmarks.WriteConfig(cfg, logPath, r.outputs); err != nil {
			return err
		}
		elapsed, cpu, rss, err := benchmarks.RunFlicker(binary, work, "-c", cfg, "--once", "--log-level", "warn")
		os.RemoveAll(work)
		os.Remove(filepath.Join(dir, "out.jsonl"))
		if err != nil {
			return err
		}
		res := benchmarks.Run{Name: r.name, Bytes: fi.Size(), Lines: lines, Elapsed: elapsed, CPU: cpu, PeakRSS: rss}
		fmt.Printf("%-34s %9.0f %12.0f %10.2f %9.1f\n", res.Name, res.MBps(), res.LinesPerSec(), res.CPUPerGiB(),
			float64(res.PeakRSS)/(1<<20))
	}
	fmt.Printf("\nmeasured %s\n", time.Now().UTC().Format(time.RFC3339))
	return nil
}
