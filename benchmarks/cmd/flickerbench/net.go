package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/flickerlog/flicker/benchmarks"
	"github.com/flickerlog/flicker/benchmarks/loadgen"
)

// netWorkload is a listening source measured under the load generator: flicker receives over loopback what
// senders concurrent senders send.
type netWorkload struct {
	kind    string // http, syslog (octet-counted) or syslog-newline
	senders int
	payload loadgen.Payload // generated once per kind, shared by its sender counts
}

func (w netWorkload) name() string {
	switch w.kind {
	case "http":
		return fmt.Sprintf("http ndjson x%d", w.senders)
	case "syslog-newline":
		return fmt.Sprintf("syslog tcp lf x%d", w.senders)
	default:
		return fmt.Sprintf("syslog tcp x%d", w.senders)
	}
}

// inputs is the config's input section for a source listening on addr (the contract of issue 13).
func (w netWorkload) inputs(addr string) string {
	if w.kind == "http" {
		return fmt.Sprintf("http_sources:\n  - name: bench\n    address: %q\n", addr)
	}
	return fmt.Sprintf("syslog_sources:\n  - name: bench\n    address: %q\n    protocol: tcp\n    format: rfc5424\n", addr)
}

// send runs the load generator against addr until budget bytes are sent or maxDuration has passed.
func (w netWorkload) send(addr string, budget int64, maxDuration time.Duration) (loadgen.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), maxDuration+2*time.Minute)
	defer cancel()
	opts := loadgen.Options{Senders: w.senders, Bytes: budget, Duration: maxDuration}
	if w.kind == "http" {
		return loadgen.PostHTTP(ctx, "http://"+addr+"/", w.payload, loadgen.HTTPOptions{Options: opts})
	}
	return loadgen.SendTCP(ctx, addr, w.payload, opts)
}

// netWorkloads makes kind's workloads, one per sender count, or none when binary refuses its config (saying
// why, as for the file workloads).
func netWorkloads(binary, dir, kind string, o options) ([]netWorkload, error) {
	w := netWorkload{kind: kind}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if ok, err := supported(binary, dir, benchmarks.Workload{Name: kind, Inputs: w.inputs(addr)}); err != nil || !ok {
		return nil, err
	}
	size := min(o.size, o.netPayload)
	switch kind {
	case "http":
		w.payload = loadgen.NDJSON(benchmarks.NewLines().Next, o.bodyBytes, size)
	case "syslog":
		w.payload = loadgen.Syslog(benchmarks.NewLines().Next, loadgen.OctetCounted, 256<<10, size)
	case "syslog-newline":
		w.payload = loadgen.Syslog(benchmarks.NewLines().Next, loadgen.NewlineFramed, 256<<10, size)
	}
	var events int64
	for _, e := range w.payload.Events {
		events += e
	}
	fmt.Printf("input %s: a payload of %d bytes, %d events (the first %d lines of the plain log) in %d %s, sent "+
		"over and over until %d bytes or %s\n", kind, w.payload.Bytes(), events, events, len(w.payload.Chunks),
		map[bool]string{true: "request bodies", false: "TCP writes"}[kind == "http"], o.size, o.netDuration)
	var loads []netWorkload
	for _, n := range o.senders {
		w.senders = n
		loads = append(loads, w)
	}
	return loads, nil
}

// measureNet runs binary receiving w's load, to outputs, and for the file output checks that every event sent
// arrived.
func measureNet(binary, dir string, w netWorkload, outputs string, o options) (benchmarks.Run, loadgen.Result, error) {
	var sent loadgen.Result
	work, err := os.MkdirTemp(dir, "run-")
	if err != nil {
		return benchmarks.Run{}, sent, err
	}
	defer os.RemoveAll(work)
	out := filepath.Join(dir, "out.jsonl")
	defer os.Remove(out)
	addr, err := freeAddr()
	if err != nil {
		return benchmarks.Run{}, sent, err
	}
	cfg := filepath.Join(work, "config.yaml")
	if err := os.WriteFile(cfg, []byte(w.inputs(addr)+outputs), 0o644); err != nil {
		return benchmarks.Run{}, sent, err
	}
	res, err := benchmarks.RunListening(binary, work, cfg, addr, o.netDuration+2*time.Minute,
		func() (benchmarks.Sent, error) {
			sent, err = w.send(addr, o.size, o.netDuration)
			return benchmarks.Sent{Events: sent.Events, Bytes: sent.Bytes}, err
		})
	if err != nil {
		return res, sent, err
	}
	if strings.Contains(outputs, out) {
		n, err := countLines(out)
		if err != nil {
			return res, sent, err
		}
		// A body answered 429 or 503 may have been written in part before it was refused; sent again, those
		// events are in the output twice (at least once is the contract). Otherwise the counts must match.
		if n < sent.Events || (n > sent.Events && sent.Retries == 0) {
			return res, sent, fmt.Errorf("%d events in %s, want the %d sent", n, out, sent.Events)
		}
	}
	return res, sent, nil
}

// printNetRow prints one row of the table for a network workload: the columns of the file workloads, then the
// CPU the load generator used per GiB sent and in cores while it sent (this process, which shares the machine's
// cores with flicker).
func printNetRow(round int, output, name string, res, base benchmarks.Run, sent loadgen.Result) {
	share := fmt.Sprintf("%.0f%% (MB/s %.0f%%)", 100*res.LinesPerSec()/base.LinesPerSec(), 100*res.MBps()/base.MBps())
	retries := ""
	if sent.Retries > 0 {
		retries = fmt.Sprintf(", %d retries", sent.Retries)
	}
	fmt.Printf("%-5d %-7s %-22s %9.0f %12.0f %10.2f %9.1f %16s %9.2f (%.2f cores%s)\n", round, output, name,
		res.MBps(), res.LinesPerSec(), res.CPUPerGiB(), float64(res.PeakRSS)/(1<<20), share,
		sent.CPU.Seconds()/(float64(sent.Bytes)/(1<<30)), sent.CPU.Seconds()/sent.Elapsed.Seconds(), retries)
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
