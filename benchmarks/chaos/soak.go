package chaos

import (
	"fmt"
	"time"
)

// The soak: after the faults that end pods, one pod keeps running for a while through the faults that do not
// (MinIO and output outages, a full disk) while the writers go on rotating. A leak of goroutines or descriptors
// shows in one long-lived process, not across pods killed every minute, so its counts after a warm-up and at the
// end are compared.

// Growth the soak accepts between its two samples: files being finished after a rotation hold a descriptor or two
// each for a while, and retries after an outage a goroutine each; a leak grows with every fault and rotation.
const (
	soakWarmup       = 30 * time.Second
	soakSettle       = 15 * time.Second
	soakFaultEvery   = 45 * time.Second
	soakGoroutineMax = 10
	soakFDMax        = 25
)

// soakKinds are the faults the soak injects in turn: none of them ends the pod.
var soakKinds = []string{faultMinioPause, faultNetFail, faultDiskFull, faultMinioReset, faultNetStall,
	faultNetTooMany}

// soakRecord is the soak's part of the report.
type soakRecord struct {
	Seconds         float64 `json:"seconds"`
	Pod             int     `json:"pod"`
	Faults          int     `json:"faults"`
	GoroutinesStart int     `json:"goroutines_start"`
	GoroutinesEnd   int     `json:"goroutines_end"`
	FDsStart        int     `json:"fds_start"`
	FDsEnd          int     `json:"fds_end"`
	// Skipped says why the counts could not be compared (no pod reading, or the pod ended): a failure.
	Skipped string `json:"skipped,omitempty"`
}

// soakDuration is how long the soak runs for a run of d: a sixth of the faults' duration from 10 minutes on, none
// in the short profile.
func soakDuration(d time.Duration) time.Duration {
	if d < 10*time.Minute {
		return 0
	}
	return d / 6
}

// soak runs the soak for d and returns what it saw.
func (h *harness) soak(d time.Duration) *soakRecord {
	h.waitReading(minUptime, 2*time.Minute)
	h.mu.Lock()
	p := h.holder
	h.mu.Unlock()
	rec := &soakRecord{Seconds: d.Seconds(), Pod: podID(p)}
	if p == nil {
		rec.Skipped = "no pod was reading when the soak began"
		h.sleep(d)
		return rec
	}
	h.sleep(soakWarmup)
	rec.GoroutinesStart, rec.FDsStart = p.current()
	end := time.Now().Add(d)
	for i := 0; time.Until(end) > soakFaultEvery+soakSettle; i++ {
		kind := soakKinds[i%len(soakKinds)]
		if !h.cfg.netOutputs && (kind == faultNetFail || kind == faultNetStall || kind == faultNetTooMany) {
			continue
		}
		f := h.inject(fault{Kind: kind, For: 3*time.Second + time.Duration(i%4)*time.Second})
		h.t.Logf("%6.1fs soak fault %s %s", f.At, f.Kind, f.Detail)
		rec.Faults++
		h.sleep(soakFaultEvery)
	}
	h.sleep(time.Until(end))
	h.mu.Lock()
	same := h.holder == p
	h.mu.Unlock()
	if !same || p.exited() {
		rec.Skipped = fmt.Sprintf("pod %d ended during the soak", podID(p))
		return rec
	}
	rec.GoroutinesEnd, rec.FDsEnd = p.current()
	return rec
}

// failed says why the soak failed, or "": its counts grew beyond the bound, or it could not compare them,
// since no pod was reading or the pod ended (none of its faults ends a pod).
func (r *soakRecord) failed() string {
	if r == nil {
		return ""
	}
	if r.Skipped != "" {
		return "soak: " + r.Skipped
	}
	if g := r.GoroutinesEnd - r.GoroutinesStart; g > soakGoroutineMax {
		return fmt.Sprintf("pod %d's goroutines grew by %d over the soak (%d to %d)", r.Pod, g, r.GoroutinesStart,
			r.GoroutinesEnd)
	}
	if f := r.FDsEnd - r.FDsStart; f > soakFDMax {
		return fmt.Sprintf("pod %d's open descriptors grew by %d over the soak (%d to %d)", r.Pod, f, r.FDsStart,
			r.FDsEnd)
	}
	return ""
}
