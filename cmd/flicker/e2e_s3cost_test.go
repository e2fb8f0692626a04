package main_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
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
	a := f.run("podA", "--http-addr", addrA)
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
	b := f.runWith(configB, f.env, "podB", "--standby", "--http-addr", addrB)
	// The standby reads the lease every TTL/3 (2s/3): 10 reads span more than TTL plus the 2s skew.
	waitSaw(t, "the standby to watch for longer than TTL plus skew", b, func() (bool, string) {
		if strings.Contains(b.logs(), "lease acquired") {
			t.Fatalf("the standby took over a busy writer:\n%s", b.logs())
		}
		gets, heads := s3Requests(addrB, "lease", "GET"), s3Requests(addrB, "snapshot", "HEAD")
		return gets >= 10 && heads >= 10, fmt.Sprintf("standby: %v lease GETs, %v snapshot HEADs", gets, heads)
	})
	if n := s3Requests(addrA, "lease", "PUT"); n != leasePuts {
		t.Fatalf("the busy writer wrote the lease object %v times while its snapshots flowed", n-leasePuts)
	}
	if rec := f.leaseRecord(); rec.WriteID != lease.WriteID {
		t.Fatalf("the lease object changed while snapshots flowed: %+v, was %+v", rec, lease)
	}
	if n := s3Requests(addrA, "snapshot", "PUT"); n < snapshotPuts+10 {
		t.Fatalf("%v snapshot uploads meanwhile; the writer was not busy and the test proves nothing", n-snapshotPuts)
	}

	a.kill()
	killed := time.Now()
	waitFor(t, time.Minute, "the standby to take over and ship what follows", func() bool {
		return strings.Contains(b.logs(), "took over a silent lease") && len(w.after(w.numbers(t, outB), killed)) > 0
	}, b)
	b.stop()
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
