package benchmarks_test

// The API-source benchmark of issue 5: the built binary polling the Okta System Log emulator (in this process)
// at 1000 items per page into the file output. Results and commands are in RESULTS.md.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flickerlog/flicker/benchmarks"
	"github.com/flickerlog/flicker/sources/api/oktatest"
)

// apiEvents is how many events each run fetches: 100 pages of 1000.
const apiEvents = 100_000

// BenchmarkAPISource runs the built binary with --once and a fresh local registry against an Okta emulator
// holding apiEvents events, and checks that the file output holds each of them exactly once. It reports events/s
// of the shipping phase and of the whole process, flicker's CPU per 1000 events (from its rusage) and the
// emulator's CPU (this process) during the run. Run it with -benchtime 3x:
//
//	go test -run '^$' -bench APISource -benchtime 3x ./benchmarks/
func BenchmarkAPISource(b *testing.B) {
	bin := buildFlicker(b)
	const token = "bench-token"
	okta := oktatest.Start(b, oktatest.Options{Token: token, RateLimit: 1 << 20, MaxLimit: 1000})
	for added := 0; added < apiEvents; added += 1000 {
		okta.Add(1000)
	}
	var runs []benchmarks.Run
	var shipping, peer []time.Duration
	for n := 1; b.Loop(); n++ {
		work := b.TempDir()
		out := filepath.Join(work, "out.jsonl")
		cfg := filepath.Join(work, "config.yaml")
		doc := fmt.Sprintf(`api_sources:
  - name: okta-audit-logs
    type: okta
    endpoint: %s
    auth: {okta_token: %s}
    params: {limit: "1000"}
    polling_frequency: 1s
    max_pages_per_poll: 1000
outputs:
  - type: file
    path: %s
`, okta.Endpoint(), token, out)
		if err := os.WriteFile(cfg, []byte(doc), 0o644); err != nil {
			b.Fatal(err)
		}
		var logs bytes.Buffer
		before := selfCPU(b)
		elapsed, cpu, rss, err := benchmarks.RunFlickerEnv(bin, work, nil, &logs, "-c", cfg, "--once",
			"--log-level", "info", "--log-format", "json", "--registry-file", filepath.Join(work, "registry.db"))
		if err != nil {
			b.Fatalf("%v\n%s", err, logs.String())
		}
		peerCPU := selfCPU(b) - before
		ship := shippingPhase(b, logs.Bytes())
		checkAPIOutput(b, out)
		r := benchmarks.Run{Name: "okta", Lines: apiEvents, Elapsed: elapsed, CPU: cpu, PeakRSS: rss}
		runs, shipping, peer = append(runs, r), append(shipping, ship), append(peer, peerCPU)
		b.Logf("okta #%d  shipping %6.3f s %8.0f ev/s | wall %6.3f s %8.0f ev/s | CPU %5.2f s %5.2f ms/1000 ev | "+
			"RSS %5.1f MiB | emulator CPU %5.2f s", n, ship.Seconds(), apiEvents/ship.Seconds(), elapsed.Seconds(),
			r.LinesPerSec(), cpu.Seconds(), cpuPer1000(r), float64(rss)/(1<<20), peerCPU.Seconds())
	}
	var shipRate, wallRate, cpuK, rss, peerS float64
	for i, r := range runs {
		shipRate += apiEvents / shipping[i].Seconds()
		wallRate += r.LinesPerSec()
		cpuK += cpuPer1000(r)
		rss += float64(r.PeakRSS) / (1 << 20)
		peerS += peer[i].Seconds()
	}
	k := float64(len(runs))
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(shipRate/k, "ship-events/s")
	b.ReportMetric(wallRate/k, "wall-events/s")
	b.ReportMetric(cpuK/k, "CPU-ms/1000ev")
	b.ReportMetric(rss/k, "RSS-MiB")
	b.ReportMetric(peerS/k, "emulator-CPU-s")
}

func cpuPer1000(r benchmarks.Run) float64 { return r.CPU.Seconds() * 1000 / float64(r.Lines) * 1000 }

// checkAPIOutput fails unless the file output holds apiEvents distinct ids, each once.
func checkAPIOutput(b *testing.B, path string) {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	seen := make(map[string]bool, apiEvents)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			b.Fatalf("output line: %v", err)
		}
		if seen[ev.ID] {
			b.Fatalf("event %s shipped twice", ev.ID)
		}
		seen[ev.ID] = true
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	if len(seen) != apiEvents {
		b.Fatalf("the output holds %d events, want %d", len(seen), apiEvents)
	}
}
