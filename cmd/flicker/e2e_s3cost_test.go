package main_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// Issue 17: what an instance asks of S3, counted by flicker_s3_requests_total.

// s3Requests reads flicker_s3_requests_total{key_kind,op} from the /metrics at addr; -1 when absent or unreadable.
func s3Requests(addr, keyKind, op string) float64 {
	code, body, err := get("http://" + addr + "/metrics")
	if err != nil || code != 200 {
		return -1
	}
	v, ok := metricValue(body, fmt.Sprintf(`flicker_s3_requests_total{key_kind=%q,op=%q}`, keyKind, op))
	if !ok {
		return -1
	}
	return v
}

// TestS3BusyWriterRenewsByUploading: while its snapshots flow, a holder writes the lease object no more (each
// conditional upload proves it owns the registry), and a standby watching both objects does not take it over
// although the lease object stays unchanged for longer than TTL plus skew; once the holder is killed, the standby
// takes over and ships.
func TestS3BusyWriterRenewsByUploading(t *testing.T) {
	t.Parallel()
	f := newS3Fixture(t)
	w := startLineWriter(t, f.logPath, "x", 20*time.Millisecond)
	addrA, addrB := freeAddr(t), freeAddr(t)
	// A 4s TTL (the fixture's 2s overridden): the writer renews only after 2s without an upload, which the 200ms
	// interval never leaves, even on a loaded machine.
	ttl := []string{"--lease-ttl", "4s"}
	a := f.run("podA", append([]string{"--http-addr", addrA}, ttl...)...)
	waitFor(t, time.Minute, "shipping and snapshots", func() bool {
		return f.arrived("x") > 10 && s3Requests(addrA, "snapshot", "PUT") >= 3
	}, a)
	for _, kind := range []string{"probe", "lease", "snapshot"} {
		if n := s3Requests(addrA, kind, "PUT"); n < 1 {
			t.Fatalf("flicker_s3_requests_total{key_kind=%q,op=\"PUT\"} = %v after the start, want at least 1", kind, n)
		}
	}
	leasePuts, snapshotPuts := s3Requests(addrA, "lease", "PUT"), s3Requests(addrA, "snapshot", "PUT")
	lease := f.leaseRecord()

	configB, outB := f.secondOutput("podB")
	b := f.runWith(configB, f.env, "podB", append([]string{"--standby", "--http-addr", addrB}, ttl...)...)
	// The standby reads the lease every TTL/3 (4s/3): 7 reads span more than TTL plus the 2s skew.
	waitSaw(t, "the standby to watch for longer than TTL plus skew", b, func() (bool, string) {
		if strings.Contains(b.logs(), "lease acquired") {
			t.Fatalf("the standby took over a busy writer:\n%s", b.logs())
		}
		gets, heads := s3Requests(addrB, "lease", "GET"), s3Requests(addrB, "snapshot", "HEAD")
		return gets >= 7 && heads >= 7, fmt.Sprintf("standby: %v lease GETs, %v snapshot HEADs", gets, heads)
	})
	if n := s3Requests(addrA, "lease", "PUT"); n != leasePuts {
		t.Fatalf("the busy writer wrote the lease object %v times while its snapshots flowed", n-leasePuts)
	}
	if rec := f.leaseRecord(); rec.WriteID != lease.WriteID {
		t.Fatalf("the lease object changed while snapshots flowed: %+v, was %+v", rec, lease)
	}
	if n := s3Requests(addrA, "snapshot", "PUT"); n < snapshotPuts+20 {
		t.Fatalf("%v snapshot uploads meanwhile; the writer was not busy and the test proves nothing", n-snapshotPuts)
	}

	a.kill()
	killed := time.Now()
	waitFor(t, time.Minute, "the standby to take over and ship what follows", func() bool {
		return strings.Contains(b.logs(), "took over a silent lease") && len(w.after(w.numbers(t, outB), killed)) > 0
	}, b)
	if strings.Contains(b.logs(), "after this instance began to take over") {
		t.Fatalf("the standby held its publishing back although the killed writer uploaded nothing after its watch:\n%s",
			b.logs())
	}
	b.stop()
}

// s3RequestCounts reads every series of flicker_s3_requests_total from the /metrics at addr, keyed
// "key_kind op"; nil when /metrics does not answer.
func s3RequestCounts(addr string) map[string]float64 {
	code, body, err := get("http://" + addr + "/metrics")
	if err != nil || code != 200 {
		return nil
	}
	out := map[string]float64{}
	for _, l := range strings.Split(body, "\n") {
		rest, ok := strings.CutPrefix(l, "flicker_s3_requests_total{")
		if !ok {
			continue
		}
		var kind, op string
		var n float64
		if _, err := fmt.Sscanf(strings.NewReplacer(`key_kind="`, "", `",op="`, " ", `"}`, " ").Replace(rest),
			"%s %s %g", &kind, &op, &n); err == nil {
			out[kind+" "+op] = n
		}
	}
	return out
}

// waitSaw is waitFor for a condition that says what it saw; the tests here run in parallel, so they cannot
// use the shared diagnose.
func waitSaw(t *testing.T, what string, p *proc, cond func() (ok bool, saw string)) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 1m waiting for %s; %s; logs:\n%s", what, saw, p.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func total(counts map[string]float64) float64 {
	var n float64
	for _, v := range counts {
		n += v
	}
	return n
}

// TestS3StartupReadsWhatItNeeds: a first start (no latest) looks at the history ring once (a missing lease
// object does not prove that nothing was ever written: --lease=off); a restart after a clean stop, with a good latest, makes 9 requests up to its first history
// write; a restart whose latest is gone still restores the newest history slot.
func TestS3StartupReadsWhatItNeeds(t *testing.T) {
	t.Parallel()
	f := newS3Fixture(t)
	appendLines(t, f.logPath, "x", 0, 20)
	// A long TTL and interval: no renewal and no second upload muddle the count of the start.
	slow := []string{"--lease-ttl", "60s", "--snapshot-interval", "5s"}
	startCounts := func(pod string) (map[string]float64, *proc) {
		addr := freeAddr(t)
		p := f.run(pod, append([]string{"--http-addr", addr}, slow...)...)
		var counts map[string]float64
		waitSaw(t, "the first history write", p, func() (bool, string) {
			counts = s3RequestCounts(addr)
			return counts["history PUT"] >= 1, fmt.Sprint(counts)
		})
		return counts, p
	}

	first, p := startCounts("pod1")
	t.Logf("first start: %v", first)
	if n := first["history HEAD"]; n != 288 {
		t.Fatalf("a first start sent %v history HEADs, want one per slot (288): %v", n, first)
	}
	waitFor(t, time.Minute, "20 lines", func() bool { return f.arrived("x") >= 20 }, p)
	p.stop()

	again, p := startCounts("pod2")
	t.Logf("restart: %v", again)
	if n := total(again); n > 9 {
		t.Fatalf("a restart with a good latest sent %v requests up to its first history write, want 9 at most: %v", n, again)
	}
	if n := again["history HEAD"]; n != 0 {
		t.Fatalf("a restart with a good latest sent %v history HEADs: %v", n, again)
	}
	p.stop()

	// Disaster recovery: the latest deleted, so history is read.
	if err := f.client.RemoveObject(f.ctx(), f.keys.Bucket, f.keys.Latest, minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	lost, p := startCounts("pod3")
	if lost["history HEAD"] < 288 || !strings.Contains(p.logs(), "FALLBACK") {
		t.Fatalf("a restart without its latest did not restore from history: %v\n%s", lost, p.logs())
	}
	appendLines(t, f.logPath, "y", 0, 5)
	waitFor(t, time.Minute, "5 more lines", func() bool { return f.arrived("y") >= 5 }, p)
	p.stop()
	f.exactlyOnce("x", 20)
}
