package chaos

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
)

// Fault kinds.
const (
	faultKill9        = "kill9"
	faultLongDowntime = "kill9_long_downtime"
	faultSIGTERM      = "sigterm"
	faultFence        = "second_instance"
	faultMinioPause   = "minio_pause"
	faultMinioReset   = "minio_reset"
	faultMinioRestart = "minio_restart"
	faultCorrupt      = "corrupt_latest_snapshot"
	faultDiskFull     = "file_output_disk_full"
	faultNetFail      = "net_output_failing"
	faultNetStall     = "net_output_stalled"
	faultNetTooMany   = "net_output_429"
)

// fault is one entry of the schedule: at At after the faults began, for For (outages).
type fault struct {
	At   time.Duration
	Kind string
	For  time.Duration
}

// schedule spreads the faults over d, in an order and with lengths drawn from seed. The counts scale with d;
// the short profile (2 minutes) gets at least 2 kill -9s, 1 MinIO outage, 1 output outage and 1 second instance,
// a 30-minute run at least 20, 3, 3 and 2 (see doc.go).
func schedule(d time.Duration, seed uint64, netOutputs bool) []fault {
	rng := rand.New(rand.NewPCG(seed, 0x636861))
	m := d.Minutes()
	n := func(perMinute float64, least int) int { return max(least, int(math.Ceil(perMinute*m))) }
	var kinds []string
	add := func(kind string, count int) {
		for range count {
			kinds = append(kinds, kind)
		}
	}
	add(faultKill9, n(0.75, 2))
	add(faultLongDowntime, n(1.0/15, 1))
	add(faultSIGTERM, n(0.2, 1))
	add(faultFence, n(0.1, 1))
	add(faultCorrupt, n(0.1, 1))
	add(faultDiskFull, n(0.1, 1))
	if netOutputs {
		net := []string{faultNetFail, faultNetStall, faultNetTooMany}
		rng.Shuffle(len(net), func(i, j int) { net[i], net[j] = net[j], net[i] })
		for i := range n(0.2, 1) {
			add(net[i%3], 1)
		}
	}
	minio := []string{faultMinioPause, faultMinioReset, faultMinioRestart}
	rng.Shuffle(len(minio), func(i, j int) { minio[i], minio[j] = minio[j], minio[i] })
	for i := range n(0.15, 1) {
		add(minio[i%3], 1)
	}
	rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	slot := d / time.Duration(len(kinds))
	out := make([]fault, len(kinds))
	for i, k := range kinds {
		jitter := time.Duration(rng.Int64N(int64(slot) / 5))
		outage := min(slot/2, 3*time.Second+time.Duration(rng.Int64N(int64(3*time.Second))))
		out[i] = fault{At: time.Duration(i)*slot + jitter, Kind: k, For: outage}
	}
	return out
}

// inject applies one fault and returns what it did.
func (h *harness) inject(f fault) faultRecord {
	h.t.Helper()
	switch f.Kind {
	case faultKill9, faultLongDowntime, faultSIGTERM, faultFence, faultCorrupt, faultDiskFull, faultNetFail,
		faultNetStall, faultNetTooMany:
		// A pod killed before it read anything tests less: let the holder work for a while first.
		h.waitReading(minUptime, time.Minute)
	}
	rec := faultRecord{Kind: f.Kind, At: h.since(time.Now())}
	switch f.Kind {
	case faultKill9:
		p := h.endHolder(syscall.SIGKILL)
		rec.Detail = fmt.Sprintf("pod %d", podID(p))
		h.startPod(startKill9, false)
	case faultLongDowntime:
		// Down longer than a rotated file lives: a few files rotate and their rotations are deleted before any
		// pod is back, so the lines flicker had not read yet are gone (the allowed loss).
		p := h.endHolder(syscall.SIGKILL)
		rng := rand.New(rand.NewPCG(h.cfg.seed, uint64(rec.At*1000)))
		var parts []int32
		for _, i := range rng.Perm(len(h.writers))[:3] {
			kind := rotateRename
			if i%2 == 1 {
				kind = rotateCopytruncate
			}
			if err := h.writers[i].writeBurst(20); err != nil {
				h.t.Fatal(err)
			}
			part, err := h.writers[i].rotate(kind, true)
			if err != nil {
				h.t.Fatal(err)
			}
			parts = append(parts, part)
		}
		h.sleep(f.For)
		rec.For = f.For.Seconds()
		rec.Detail = fmt.Sprintf("pod %d; rotated and deleted parts %v while down", podID(p), parts)
		h.startPod(startLongDown, false)
	case faultSIGTERM:
		p := h.endHolder(syscall.SIGTERM)
		rec.Detail = fmt.Sprintf("pod %d exited %d", podID(p), exitCode(p))
		h.startPod(startSIGTERM, false)
	case faultFence:
		rec.Detail = h.fence(f.For)
		rec.For = f.For.Seconds()
	case faultMinioPause:
		h.proxy.Pause()
		h.sleep(f.For)
		h.proxy.Resume()
		rec.For = f.For.Seconds()
	case faultMinioReset:
		// Reset every connection a few times over the outage: requests in flight fail mid-way.
		end := time.Now().Add(f.For)
		resets := 0
		for time.Now().Before(end) {
			h.proxy.ResetConnections()
			resets++
			h.sleep(300 * time.Millisecond)
		}
		rec.For, rec.Detail = f.For.Seconds(), fmt.Sprintf("%d resets", resets)
	case faultMinioRestart:
		h.minio.Stop()
		h.sleep(f.For)
		h.minio.Restart()
		rec.For = f.For.Seconds()
	case faultCorrupt:
		rec.Detail = h.corrupt()
	case faultDiskFull:
		rec.Detail = h.fillDisk(f.For)
		rec.For = f.For.Seconds()
	case faultNetFail, faultNetStall, faultNetTooMany:
		rec.Detail = h.netOutage(map[string]netFault{faultNetFail: netFail, faultNetStall: netStall,
			faultNetTooMany: netTooMany}[f.Kind], f.For)
		rec.For = f.For.Seconds()
	}
	h.mu.Lock()
	h.faults = append(h.faults, rec)
	h.mu.Unlock()
	return rec
}

// fence starts a second flicker (--standby) on the registry while the holder runs. It must ship nothing while
// the holder lives (the ledger checks its output); after wait the holder is killed and the standby takes over.
func (h *harness) fence(wait time.Duration) string {
	h.t.Helper()
	standby := h.startPod(startStandby, true)
	h.sleep(wait)
	if standby.exited() {
		return fmt.Sprintf("standby pod %d exited %d before the holder was killed", standby.id, exitCode(standby))
	}
	p := h.endHolder(syscall.SIGKILL)
	standby.mu.Lock()
	standby.until = time.Now()
	standby.mu.Unlock()
	h.mu.Lock()
	h.holder = standby
	h.mu.Unlock()
	return fmt.Sprintf("standby pod %d next to pod %d for %s, then pod %d killed", standby.id, podID(p),
		wait.Round(time.Millisecond), podID(p))
}

// corrupt overwrites the latest snapshot object with garbage (through the server directly, not the proxy): every
// other time while the holder runs (it must stop without overwriting it, fenced), else after the holder was
// killed, before the next pod starts. Either way the next pod must restore from the history and lose nothing.
func (h *harness) corrupt() string {
	h.t.Helper()
	h.corrupts++
	running := h.corrupts%2 == 1
	h.mu.Lock()
	p := h.holder
	h.mu.Unlock()
	if !running {
		p = h.endHolder(syscall.SIGKILL)
	}
	ctx, cancel := context.WithTimeout(h.ctx, 30*time.Second)
	defer cancel()
	garbage := bytes.Repeat([]byte("not a snapshot "), 64)
	_, err := h.minio.Client(h.t).PutObject(ctx, bucket, registryKey, bytes.NewReader(garbage), int64(len(garbage)),
		minio.PutObjectOptions{})
	detail := "latest overwritten with garbage"
	if err != nil {
		detail = fmt.Sprintf("overwrite failed: %v", err)
	}
	if running {
		detail += " while the holder ran"
		h.sleep(time.Second)
		if p != nil && p.exited() {
			// It found the garbage and stopped, fenced; sleep started the next pod.
			return fmt.Sprintf("%s; pod %d exited %d by itself", detail, p.id, exitCode(p))
		}
		p = h.endHolder(syscall.SIGKILL)
	} else {
		detail += " while no pod ran"
	}
	h.startPod(startCorrupt, false)
	return fmt.Sprintf("%s; pod %d killed", detail, podID(p))
}

// fillDisk fills the file outputs' filesystem (a small tmpfs) with a filler file for d, then removes it: the
// output's writes fail with ENOSPC and are retried; nothing may be lost.
func (h *harness) fillDisk(d time.Duration) string {
	h.t.Helper()
	if h.noTmpfs != "" {
		return "not injected: " + h.noTmpfs
	}
	filler := filepath.Join(h.outDir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		h.t.Fatal(err)
	}
	// Big chunks, then small ones for the space a big one no longer fits in; bounded: the filesystem is this big.
	var filled int64
	for _, size := range []int{1 << 20, 4 << 10} {
		chunk := make([]byte, size)
		for range outputFSBytes/size + 1 {
			n, err := f.Write(chunk)
			filled += int64(n)
			if err != nil {
				break
			}
		}
	}
	f.Close()
	h.sleep(d)
	if err := os.Remove(filler); err != nil {
		h.t.Fatal(err)
	}
	return fmt.Sprintf("filled with %.1f MiB", float64(filled)/(1<<20))
}

// netOutage makes the holder's network output fail, stall or answer 429 for d.
func (h *harness) netOutage(f netFault, d time.Duration) string {
	h.mu.Lock()
	p := h.holder
	h.mu.Unlock()
	if p == nil {
		return "no pod runs"
	}
	srv, name := h.netServerOf(p)
	if srv == nil {
		return fmt.Sprintf("pod %d has no network output", p.id)
	}
	srv.fault(f)
	h.sleep(d)
	srv.healthy()
	return fmt.Sprintf("pod %d's %s output", p.id, name)
}

func podID(p *pod) int {
	if p == nil {
		return -1
	}
	return p.id
}

func exitCode(p *pod) int {
	if p == nil {
		return -1
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exit
}
