package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/snapshot"
)

// These tests run the binary against a store that ignores conditional writes, as GCS's S3 endpoint does: the real
// MinIO behind a miniotest.NewConditionStripper (DESIGN.md section 7, the probe).

// unfenced points the fixture's instances at an HTTP proxy in front of its MinIO that drops the headers in
// strip (none: If-Match and If-None-Match).
func (f *s3Fixture) unfenced(strip ...string) *miniotest.HTTPProxy {
	f.t.Helper()
	p := miniotest.NewConditionStripper(f.t, f.srv, strip...)
	f.env = withEnv(f.env, "AWS_ENDPOINT_URL="+p.URL())
	return p
}

// missing reports whether no object is at key.
func (f *s3Fixture) missing(key string) bool {
	f.t.Helper()
	_, err := f.client.StatObject(f.ctx(), f.keys.Bucket, key, minio.StatObjectOptions{})
	switch code := minio.ToErrorResponse(err).Code; {
	case err == nil:
		return false
	case code == "NoSuchKey":
		return true
	default:
		f.t.Fatalf("stat %s: %v", key, err)
		return false
	}
}

// logEntry is the first JSON log line in logs whose message contains msg, decoded; nil when there is none.
func logEntry(t *testing.T, logs, msg string) map[string]any {
	t.Helper()
	for _, l := range strings.Split(logs, "\n") {
		if !strings.Contains(l, msg) {
			continue
		}
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m, _ := e["message"].(string); strings.Contains(m, msg) {
			return e
		}
	}
	return nil
}

// TestS3UnfencedWarnsAndShipsExactlyOnce: with --lease=auto on a store that ignores conditional writes, flicker
// warns loudly that it runs unfenced, writes no lease, still uploads its snapshots (latest and history), and a new
// pod after a clean stop ships every line exactly once.
func TestS3UnfencedWarnsAndShipsExactlyOnce(t *testing.T) {
	t.Parallel()
	f := newS3Fixture(t)
	stripper := f.unfenced()
	lineLen := int64(len(line("u", 0)) + 1)
	appendLines(t, f.logPath, "u", 0, 1000)
	// No periodic snapshot after the first: the final one alone must carry the state to the next pod.
	p := f.run("pod1", "--snapshot-interval", "1h")
	waitFor(t, time.Minute, "1000 lines", func() bool { return f.arrived("u") >= 1000 }, p)
	appendLines(t, f.logPath, "u", 1000, 2000)
	waitFor(t, time.Minute, "2000 lines", func() bool { return f.arrived("u") >= 2000 }, p)
	p.stop()

	logs := p.stderr.String()
	warning := logEntry(t, logs, "UNFENCED")
	if warning == nil || warning["level"] != "warn" {
		t.Fatalf("no UNFENCED warning (found %v):\n%s", warning, p.logs())
	}
	ready := logEntry(t, logs, "S3 registry ready")
	if ready == nil || ready["fenced"] != false {
		t.Fatalf("the registry is not ready unfenced (%v):\n%s", ready, p.logs())
	}
	if stripper.Stripped() == 0 {
		t.Fatal("no conditional write reached the store: the probe did not run through the stripper")
	}
	if !f.missing(f.keys.Lease()) {
		t.Fatal("an unfenced instance wrote a lease object")
	}
	h, off := f.latest()
	if want := 2000 * lineLen; off != want || h.WriterID != ready["writer"] {
		t.Fatalf("the latest snapshot has offset %d by writer %s, want %d by %v (the final snapshot)", off, h.WriterID, want, ready["writer"])
	}
	slot := f.keys.History(snapshot.HistorySlot(h.Created, 5*time.Minute, 288)) // the defaults of --history-*
	st, err := f.client.StatObject(f.ctx(), f.keys.Bucket, slot, minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("history slot %s: %v", slot, err)
	}
	if hh, err := snapshot.HeaderFromMetadata(st.UserMetadata); err != nil || hh.Seq != h.Seq || hh.Epoch != h.Epoch {
		t.Fatalf("history slot %s holds epoch %d seq %d (%v), want the final snapshot's %d %d", slot, hh.Epoch, hh.Seq, err, h.Epoch, h.Seq)
	}

	// A new pod: a fresh state dir, and lines written while no flicker ran. Lines are read in order, so any line
	// sent again would arrive before the last new one.
	if err := os.RemoveAll(filepath.Join(f.dir, "state-pod1")); err != nil {
		t.Fatal(err)
	}
	appendLines(t, f.logPath, "u", 2000, 3000)
	p2 := f.run("pod2")
	waitFor(t, time.Minute, "3000 lines", func() bool { return f.arrived("u") >= 3000 }, p2)
	waitFor(t, time.Minute, "a periodic snapshot of the second pod with every line", func() bool {
		h2, off, err := f.tryLatest()
		return err == nil && h2.Epoch > h.Epoch && off == 3000*lineLen
	}, p2)
	p2.stop()
	f.exactlyOnce("u", 3000)
	logs2 := p2.stderr.String()
	if ready2 := logEntry(t, logs2, "S3 registry ready"); ready2 == nil || ready2["from"] != "latest" || ready2["fenced"] != false {
		t.Fatalf("the second pod did not restore the latest snapshot unfenced (%v):\n%s", ready2, p2.logs())
	}
	if logEntry(t, logs2, "UNFENCED") == nil {
		t.Fatalf("the second pod did not warn:\n%s", p2.logs())
	}
	if h2, _ := f.latest(); h2.Epoch <= h.Epoch || h2.Seq <= h.Seq {
		t.Fatalf("the second pod's final snapshot is at epoch %d seq %d, not past the first's %d %d", h2.Epoch, h2.Seq, h.Epoch, h.Seq)
	}
}

// TestS3UnfencedRefuses: --lease=required and --standby refuse a store that ignores conditional writes (either
// of them) with exit 2, before shipping or writing anything but the probe.
func TestS3UnfencedRefuses(t *testing.T) {
	t.Parallel()
	f := newS3Fixture(t)
	appendLines(t, f.logPath, "q", 0, 10)
	env := f.env
	for i, tc := range []struct {
		name  string
		strip []string
		flag  string
		want  string
	}{
		{"--lease=required", nil, "--lease=required", "--lease=required refuses to run unfenced"},
		{"--lease=required, If-None-Match ignored", []string{"If-None-Match"}, "--lease=required", "--lease=required refuses to run unfenced"},
		{"--lease=required, If-Match ignored", []string{"If-Match"}, "--lease=required", "--lease=required refuses to run unfenced"},
		{"--standby", nil, "--standby", "--standby cannot work"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The fixture's helpers report to this subtest, which has its own registry and output.
			f.t, f.env = t, env
			f.keys.Latest = fmt.Sprintf("case%d/registry.json", i)
			f.registry = f.keys.String()
			config, out := f.secondOutput(fmt.Sprintf("case%d", i))
			stripper := f.unfenced(tc.strip...)
			p := f.runWith(config, f.env, fmt.Sprintf("case%d", i), "--once", tc.flag)
			code, logs := p.wait(time.Minute), p.logs()
			if code != 2 || !strings.Contains(logs, tc.want) || !strings.Contains(logs, "ignores conditional writes") {
				t.Fatalf("exit %d, want 2 saying %q:\n%s", code, tc.want, logs)
			}
			if stripper.Stripped() == 0 {
				t.Fatal("no conditional write reached the store: the probe did not run through the stripper")
			}
			if n := outputLines(t, out); n != 0 {
				t.Fatalf("%d lines shipped by a refused start", n)
			}
			if !f.missing(f.keys.Lease()) || !f.missing(f.keys.Latest) {
				t.Fatal("a refused start wrote a lease or a snapshot")
			}
		})
	}
}
