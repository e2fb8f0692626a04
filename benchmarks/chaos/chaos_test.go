package chaos

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/benchmarks"
	"github.com/flickerlog/flicker/internal/miniotest"
)

var (
	flagDuration = flag.Duration("chaos.duration", 2*time.Minute, "how long faults are injected (the short profile: 2m)")
	flagSeed     = flag.Uint64("chaos.seed", 1, "seed of the fault schedule, the writers and the rotations")
	flagReport   = flag.String("chaos.report", "", "write the report as JSON to this file")
	flagFiles    = flag.Int("chaos.files", 50, "plain log files written at once")
	flagNet      = flag.Bool("chaos.net", true, "each pod also ships to an http or an elasticsearch output (chosen by the seed)")
	flagConts    = flag.Int("chaos.containers", 3, "Docker containers writing json-file logs, and as many Kubernetes pods writing CRI logs")
	flagSoak     = flag.Duration("chaos.soak", -1, "after the faults, one pod runs this long through outages only; -1: a sixth of -chaos.duration from 10m on, else none")
	flagStrict   = flag.Bool("chaos.strict", true, "fail on duplicates out of the window and on events never written; =false only reports them (to investigate a run to its end)")
	flagDir      = flag.String("chaos.dir", "", "keep the run's files (logs, outputs, pod logs and configs) in this new directory")
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, miniotest.IdleConnections()...) }

func TestChaos(t *testing.T) {
	soak := *flagSoak
	if soak < 0 {
		soak = soakDuration(*flagDuration)
	}
	cfg := runConfig{duration: *flagDuration, seed: *flagSeed, soak: soak, files: *flagFiles, containers: *flagConts, netOutputs: *flagNet,
		writer: writerOptions{
			interval: 100 * time.Millisecond, maxLine: maxLineBytes, longEvery: 50, rotateMin: 15 * time.Second,
			rotateMax: 45 * time.Second, keepRotated: 2, lineBytes: 120, longLinePieces: 3,
		}}
	bin, err := benchmarks.BuildFlicker(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, cfg, bin)
	rep := h.run()
	t.Logf("chaos report:\n%s", rep.table())
	if *flagReport != "" {
		if err := rep.write(*flagReport); err != nil {
			t.Error(err)
		}
	}
	o := rep.Outcome
	if h.keepDir != "" && len(o.lost) > 0 {
		if err := os.WriteFile(filepath.Join(*flagDir, "lost.txt"), []byte(strings.Join(o.lost, "\n")+"\n"), 0o644); err != nil {
			t.Error(err)
		}
	}
	if o.Delivered[outputNames[outFile]] == 0 {
		t.Error("nothing was delivered")
	}
	if o.Lost > 0 {
		t.Errorf("%d events lost (see the samples above)", o.Lost)
	}
	// -chaos.strict=false reports these two instead of failing, to investigate a run to its end.
	finding := t.Errorf
	if !*flagStrict {
		finding = func(format string, args ...any) { t.Logf("FINDING: "+format, args...) }
	}
	if o.OutOfWindow > 0 {
		finding("%d duplicates outside the window of the last snapshot before a restart", o.OutOfWindow)
	}
	if o.Phantoms > 0 {
		finding("%d events delivered that were never written", o.Phantoms)
	}
	if o.FencedDeliveries > 0 {
		t.Errorf("a standby delivered %d events while the holder lived", o.FencedDeliveries)
	}
	for _, p := range rep.Pods {
		if p.Peak.RSSMiB > mib(memoryBound) {
			t.Errorf("pod %d: peak RSS %.1f MiB, above %.0f MiB", p.ID, p.Peak.RSSMiB, mib(memoryBound))
		}
	}
	for _, why := range rep.countersDisagree() {
		t.Error(why)
	}
	for _, why := range rep.badExits() {
		t.Error(why)
	}
	if why := rep.Soak.failed(); why != "" {
		t.Error(why)
	}
	for _, e := range rep.Errors {
		t.Error(e)
	}
}

func newHarness(t *testing.T, cfg runConfig, bin string) *harness {
	dir := t.TempDir()
	if *flagDir != "" {
		dir = *flagDir
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h := &harness{t: t, cfg: cfg, bin: bin, dir: dir, logDir: filepath.Join(dir, "logs"),
		outDir: filepath.Join(dir, "out"), podDir: filepath.Join(dir, "pods"), contDir: filepath.Join(dir, "containers"),
		start: time.Now()}
	if *flagDir != "" {
		h.keepDir = filepath.Join(dir, "outputs")
	}
	for _, d := range []string{h.logDir, h.outDir, h.podDir, h.contDir, h.keepDir} {
		if d == "" {
			continue
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h.mountOutputs()
	h.ledger = newLedger(h.start)
	if cfg.netOutputs {
		h.startNetServers(t)
	}
	h.rotations = &rotationLog{}
	h.minio = miniotest.Start(t)
	h.minio.MakeBucket(t, bucket)
	h.proxy = miniotest.NewProxy(t, h.minio.Endpoint())
	access, secret, token := h.minio.RestrictedCredentials(t, bucket, "chaos/")
	h.env = []string{"AWS_ENDPOINT_URL=" + h.proxy.URL(), "AWS_REGION=" + miniotest.Region,
		"AWS_S3_FORCE_PATH_STYLE=true", "AWS_ACCESS_KEY_ID=" + access, "AWS_SECRET_ACCESS_KEY=" + secret,
		"AWS_SESSION_TOKEN=" + token, "AWS_PROFILE=", "AWS_ENDPOINT_URL_S3="}
	for i := range cfg.files {
		w, err := newFileWriter(h.logDir, i, cfg.seed, cfg.writer, h.ledger, h.rotations)
		if err != nil {
			t.Fatal(err)
		}
		h.writers = append(h.writers, w)
	}
	if cfg.containers > 0 {
		docker, pods := containerPaths(h.contDir)
		conts, err := newContainerWriters(docker, pods, cfg.containers, cfg.seed, cfg.writer, h.ledger)
		if err != nil {
			t.Fatal(err)
		}
		h.conts = conts
	}
	return h
}

// run runs the whole chaos: writers and the first pod, the faults, the drain and the check.
func (h *harness) run() *report {
	t := h.t
	h.ctx, h.cancel = context.WithCancel(context.Background())
	defer func() {
		h.cancel()
		h.mu.Lock()
		pods := append([]*pod(nil), h.pods...)
		h.mu.Unlock()
		for _, p := range pods {
			if !p.exited() {
				p.stop(syscall.SIGKILL, endKill9, 30*time.Second)
			}
		}
		h.bg.Wait()
		for _, tail := range h.tails {
			tail.close()
		}
	}()
	writersCtx, stopWriters := context.WithCancel(h.ctx)
	defer stopWriters()
	var writers sync.WaitGroup
	for _, w := range h.writers {
		writers.Add(1)
		go func() {
			defer writers.Done()
			if err := w.run(writersCtx); err != nil {
				h.fail(err)
			}
		}()
	}
	for _, w := range h.conts {
		writers.Add(1)
		go func() {
			defer writers.Done()
			if err := w.run(writersCtx); err != nil {
				h.fail(err)
			}
		}()
	}
	collectCtx, stopCollect := context.WithCancel(h.ctx)
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		h.collect(collectCtx)
	}()
	defer func() {
		stopCollect()
		<-collected
	}()

	first := h.startPod(startFirst, false)
	h.waitFor(60*time.Second, "the first pod's first delivery", func() bool {
		_, unique, _ := h.ledger.progress()
		return unique[outFile] > 0
	}, first)

	faultsStart := time.Now()
	for _, f := range schedule(h.cfg.duration, h.cfg.seed, h.cfg.netOutputs) {
		h.sleep(time.Until(faultsStart.Add(f.At)))
		rec := h.inject(f)
		t.Logf("%6.1fs fault %s %s", rec.At, rec.Kind, rec.Detail)
	}
	h.sleep(time.Until(faultsStart.Add(h.cfg.duration)))
	var soak *soakRecord
	if h.cfg.soak > 0 {
		soak = h.soak(h.cfg.soak)
	}

	// Drain: the writers stop, a pod runs until everything written has arrived (or only what the allowed
	// loss explains is missing and nothing moved for a while), then stops cleanly.
	stopWriters()
	writers.Wait()
	h.proxy.Resume()
	h.mu.Lock()
	holder := h.holder
	h.mu.Unlock()
	if holder == nil || holder.exited() {
		h.startPod(startDied, false)
	}
	h.drain()
	h.endHolder(syscall.SIGTERM)
	stopCollect()
	<-collected
	if err := h.pollOutputs(); err != nil {
		h.fail(err)
	}
	rep := h.buildReport(faultsStart)
	rep.Soak = soak
	return rep
}

// drain waits until every written unit arrived at the file output (and, with network outputs, none arrived for
// a first time anywhere for 3s), or until none arrived for a first time for 10s while a pod was reading (what is
// missing then is lost, or the allowed loss), for at most 3 minutes.
func (h *harness) drain() {
	h.waitReading(minUptime, 2*time.Minute)
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		written, unique, lastFirst := h.ledger.progress()
		now := h.ledger.since(time.Now())
		quiet := time.Duration(now - slices.Max(lastFirst[:])) // no output got anything new
		if unique[outFile] >= written && (!h.cfg.netOutputs || quiet > 3*time.Second) {
			return
		}
		if quiet > 10*time.Second && h.reading() {
			return
		}
		h.sleep(pollInterval)
	}
	written, unique, _ := h.ledger.progress()
	h.t.Logf("drain: gave up after 3m with %d of %d events delivered", unique[outFile], written)
}

// waitFor polls cond until it holds, failing the test after timeout.
func (h *harness) waitFor(timeout time.Duration, what string, cond func() bool, p *pod) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out after %s waiting for %s (pod %d's log: %s)", timeout, what, podID(p),
				p.log.f.Name())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// buildReport checks the ledger and gathers everything the report shows.
func (h *harness) buildReport(faultsStart time.Time) *report {
	h.mu.Lock()
	pods := append([]*pod(nil), h.pods...)
	faults := append([]faultRecord(nil), h.faults...)
	bgErr := h.bgErr
	h.mu.Unlock()
	views := make([]podView, len(pods))
	r := &report{Seed: h.cfg.seed, Duration: h.cfg.duration.String(), Elapsed: time.Since(h.start).Seconds(),
		Files: len(h.writers), MaxLine: maxLineBytes, Restarts: map[string]int{}, Faults: map[string]int{},
		FaultLog: faults, Rotations: map[string]int{}, ExitCodes: map[string]int{},
		Settings: map[string]string{"snapshot_interval": snapshotInterval.String(), "lease_ttl": leaseTTL.String(),
			"history_interval": historyInterval.String(), "commit_interval": commitInterval.String(),
			"max_line_bytes": fmt.Sprint(maxLineBytes), "duplicate_slack": dupSlack.String(),
			"poll_interval": pollInterval.String()}}
	for _, w := range h.writers {
		r.LongLines += w.longLines
	}
	for _, f := range faults {
		r.Faults[f.Kind]++
	}
	for i, p := range pods {
		restored, ready, first, fallback := p.log.state()
		p.mu.Lock()
		v := podView{outputs: p.outputs, lineage: h.lineage(p, pods)}
		if p.standby {
			v.fenced, v.until = true, h.ledger.since(p.until)
			if p.until.IsZero() {
				v.until = h.ledger.since(time.Now())
			}
		}
		views[i] = v
		pr := podReport{ID: p.id, Start: p.start, End: p.end, Exit: p.exit, Started: secsSince(p.started, h.start),
			Ended: secsSince(p.ended, h.start), Ready: secsSince(ready, h.start), Restored: secsSince(restored, h.start),
			First: first, Fallback: fallback, AtKill: p.atKill,
			Peak:       resourcePeaks{RSSMiB: mib(p.peakRSS), FDs: p.maxFDs, Goroutines: p.maxGor},
			Goroutines: [2]int{p.firstGor, p.lastGor}, FDs: [2]int{p.firstFDs, p.lastFDs}, Counters: map[string]float64{}}
		for o := range numOutputs {
			if p.outputs[o] {
				pr.Outputs = append(pr.Outputs, outputNames[o])
			}
		}
		for _, c := range podCounters {
			pr.Counters[c] = p.metrics[c]
		}
		p.mu.Unlock()
		r.Restarts[p.start]++
		r.ExitCodes[fmt.Sprintf("%s:%d", pr.End, pr.Exit)]++
		r.Peak.RSSMiB = max(r.Peak.RSSMiB, pr.Peak.RSSMiB)
		r.Peak.FDs = max(r.Peak.FDs, pr.Peak.FDs)
		r.Peak.Goroutines = max(r.Peak.Goroutines, pr.Peak.Goroutines)
		r.AllowedLoss.FlickerTruncatedBytesLost += pr.Counters["flicker_input_truncated_bytes_lost_total"]
		r.AllowedLoss.FlickerMissingBytesLost += pr.Counters["flicker_input_missing_bytes_lost_total"]
		r.AllowedLoss.FlickerPartialBytesDropped += pr.Counters["flicker_input_partial_bytes_dropped_total"]
		r.FlickerLongLinePieces += pr.Counters["flicker_input_long_line_pieces_total"]
		r.Pods = append(r.Pods, pr)
	}
	r.Downtimes = downtimes(r.Pods)
	h.rotations.judge(r.Downtimes, h.start, func(part int32, pod int) bool {
		return h.ledger.known(part, views[pod].lineage, dupSlack)
	})
	r.Outcome = h.ledger.check(views, dupSlack, h.rotations.allowed)
	r.AllowedLoss.Units = r.Outcome.AllowedLost
	r.AllowedLoss.Parts = len(r.Outcome.allowedLostByParts)
	r.AllowedLoss.DeletedWhileDownBytes = h.rotations.deletedWhileDown(h.ledger.partBytes())
	r.RotationLog = h.rotations.snapshot()
	for _, p := range r.RotationLog {
		r.Rotations[p.Kind]++
	}
	if bgErr != nil {
		r.Errors = append(r.Errors, bgErr.Error())
	}
	if h.noTmpfs != "" {
		r.Notes = append(r.Notes, "the disk-full fault was not injected: "+h.noTmpfs)
	}
	_ = faultsStart
	return r
}

// lineage follows where p's registry came from: the pod that wrote the snapshot it restored, when that
// snapshot was taken, and so on back to the first start.
func (h *harness) lineage(p *pod, pods []*pod) []link {
	byWriter := map[string]*pod{}
	for _, q := range pods {
		if own, _ := q.log.writers(); own != "" {
			byWriter[own] = q
		}
	}
	var out []link
	for range pods {
		restored, _, _, _ := p.log.state()
		_, from := p.log.writers()
		w := byWriter[from]
		if w == nil || restored.IsZero() {
			return out
		}
		out = append(out, link{pod: int32(w.id), taken: h.ledger.since(restored)})
		p = w
	}
	return out
}

// downtimes are the spans with no pod reading: from the end of a pod that was reading to readSlack after the
// next pod's readiness.
func downtimes(pods []podReport) []window {
	var out []window
	for i, p := range pods {
		if p.Ended == 0 || p.Ready == 0 {
			continue
		}
		for _, next := range pods[i+1:] {
			if next.Ready > p.Ended {
				out = append(out, window{From: p.Ended, To: next.Ready + readSlack.Seconds(), Why: p.End, Next: next.ID})
				break
			}
		}
	}
	return out
}
