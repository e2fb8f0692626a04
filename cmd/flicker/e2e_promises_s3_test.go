package main_test

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/snapshot"
)

// These tests hold the binary in S3 mode to the README's promises about S3 trouble: a corrupt latest snapshot
// falls back to the newest history slot, re-sending exactly what was done since that slot; a slow S3 does not
// slow shipping.

// historySlots keeps the ring small in these tests, so listing it takes a few HEAD requests.
const historySlots = "8"

// newestHistory is the newest history slot in S3.
func (f *s3Fixture) newestHistory() (snapshot.Entry, bool) {
	f.t.Helper()
	entries, err := snapshot.List(f.ctx(), f.client, f.keys, 8)
	if err != nil {
		f.t.Fatalf("list snapshots: %v", err)
	}
	i := slices.IndexFunc(entries, func(e snapshot.Entry) bool { return e.Slot >= 0 && e.Err == nil })
	if i < 0 {
		return snapshot.Entry{}, false
	}
	return entries[i], true
}

// latestSeq is the seq of the latest snapshot in S3, 0 while there is none.
func (f *s3Fixture) latestSeq() uint64 {
	e, err := snapshot.Stat(f.ctx(), f.client, f.keys.Bucket, f.keys.Latest, "")
	if err != nil || e.Err != nil {
		return 0
	}
	return e.Header.Seq
}

// corruptLatest flips one byte of the latest snapshot's payload and stores it again with its metadata: a snapshot
// that still looks like one (HEAD, header) and fails verification when read.
func (f *s3Fixture) corruptLatest() {
	f.t.Helper()
	obj, err := f.client.GetObject(f.ctx(), f.keys.Bucket, f.keys.Latest, minio.GetObjectOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	body, err := io.ReadAll(obj)
	obj.Close()
	if err != nil {
		f.t.Fatal(err)
	}
	st, err := f.client.StatObject(f.ctx(), f.keys.Bucket, f.keys.Latest, minio.StatObjectOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	body[len(body)-10] ^= 0xff
	if _, err := f.client.PutObject(f.ctx(), f.keys.Bucket, f.keys.Latest, bytes.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{UserMetadata: st.UserMetadata}); err != nil {
		f.t.Fatal(err)
	}
}

// TestS3FallbackResendsExactlySinceTheHistorySlot: the newest history slot is several snapshots older than the
// latest (a slot is written once per history interval, here 1h: at the first upload of the run), the holder is
// killed, the latest is corrupted. The next pod logs the FALLBACK naming that slot, and the lines shipped again
// are exactly those past the slot's offset that the first pod had shipped: nothing before it twice, none lost.
func TestS3FallbackResendsExactlySinceTheHistorySlot(t *testing.T) {
	t.Parallel()
	f := newS3Fixture(t)
	lineLen := int64(len(line("h", 0)) + 1)
	history := []string{"--history-interval", "1h", "--history-slots", historySlots}
	appendLines(t, f.logPath, "h", 0, 1000)
	// A clean first run: its final snapshot refreshes the slot, so the slot holds real progress.
	if code, logs := f.runOnce("pod0", history...); code != 0 {
		t.Fatalf("first run: exit %d:\n%s", code, logs)
	}
	first, ok := f.newestHistory()
	if !ok {
		t.Fatal("the first run wrote no history slot")
	}
	p := f.run("pod1", history...)
	var slotBefore snapshot.Entry
	waitFor(t, time.Minute, "the second run's first upload and its history slot", func() bool {
		slotBefore, ok = f.newestHistory()
		return ok && slotBefore.Header.WriterID != first.Header.WriterID
	}, p)
	// Several more snapshots, each with progress, in this history period: the slot is not written again.
	for round := 1; round <= 4; round++ {
		seq := f.latestSeq()
		appendLines(t, f.logPath, "h", round*1000, (round+1)*1000)
		want := (round + 1) * 1000
		waitFor(t, time.Minute, "the round's lines", func() bool { return f.arrived("h") >= want }, p)
		waitFor(t, time.Minute, "a snapshot with the round's progress", func() bool { return f.latestSeq() > seq }, p)
	}
	p.kill()

	slot, ok := f.newestHistory()
	if !ok || slot.Key != slotBefore.Key || slot.Header.Seq != slotBefore.Header.Seq {
		t.Fatalf("the history slot changed during the run: %+v, then %+v", slotBefore, slot)
	}
	_, slotOffset := f.snapshotAt(slot.Key)
	latest, latestOffset := f.latest()
	if latest.Seq < slot.Header.Seq+4 || latestOffset <= slotOffset || slotOffset < 1000*lineLen {
		t.Fatalf("the slot is not an older state with progress: slot seq %d offset %d, latest seq %d offset %d",
			slot.Header.Seq, slotOffset, latest.Seq, latestOffset)
	}
	before := countMessages(readOutput(t, f.outPath))
	f.corruptLatest()
	appendLines(t, f.logPath, "h", 5000, 6000) // written while no flicker runs

	code, logs := f.runOnce("pod2", history...)
	if code != 0 {
		t.Fatalf("exit %d after the latest was corrupted:\n%s", code, logs)
	}
	fallback := ""
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "FALLBACK") {
			fallback = l
		}
	}
	if !strings.Contains(fallback, `"level":"error"`) || !strings.Contains(fallback, slot.Key) {
		t.Fatalf("no error-level FALLBACK line naming %s:\n%s", slot.Key, logs)
	}
	counts := countMessages(readOutput(t, f.outPath))
	resent := 0
	for i := range 6000 {
		l := line("h", i)
		want := before[l]
		if int64(i)*lineLen >= slotOffset {
			want++ // shipped again from the slot's offset; a line pod1 had not shipped arrives for the first time
		}
		if counts[l] == 0 || counts[l] != want {
			t.Fatalf("line %d (offset %d, slot offset %d, latest offset %d) arrived %d times, want %d (%d before the fallback)",
				i, int64(i)*lineLen, slotOffset, latestOffset, counts[l], want, before[l])
		}
		if counts[l] == 2 {
			resent++
		}
	}
	t.Logf("slot seq %d at offset %d, latest seq %d at offset %d: %d lines shipped again", slot.Header.Seq,
		slotOffset, latest.Seq, latestOffset, resent)
	if resent == 0 || int64(resent)*lineLen < latestOffset-slotOffset {
		t.Fatalf("%d lines shipped again, want every line between the slot's offset %d and the latest's %d",
			resent, slotOffset, latestOffset)
	}
}

// TestS3SlowKeepsShippingAtFullPace: every S3 answer is held for 3s (15 snapshot intervals) for 7s. Lines written
// all along keep arriving with no stall half as long as one S3 answer (publishing never waits for S3); snapshots still
// land, late; flicker_snapshot_last_success_age_seconds grows to the delay and falls back once S3 is fast again;
// the lease (TTL 15s, renewed every 5s) is never lost or paused.
func TestS3SlowKeepsShippingAtFullPace(t *testing.T) {
	t.Parallel()
	const delay = 3 * time.Second
	f := newS3Fixture(t)
	proxy := miniotest.NewProxy(t, f.srv.Endpoint())
	f.env = withEnv(f.env, "AWS_ENDPOINT_URL="+proxy.URL())
	addr := freeAddr(t)
	p := f.run("pod1", "--http-addr", addr, "--lease-ttl", "15s", "--log-level", "debug")
	w := startLineWriter(t, f.logPath, "s", 20*time.Millisecond)
	metric := func(name string) (float64, bool) {
		code, body, err := get("http://" + addr + "/metrics")
		if err != nil || code != 200 {
			return 0, false
		}
		return metricValue(body, name)
	}
	waitFor(t, time.Minute, "lines shipped and a snapshot uploaded", func() bool {
		n, _ := metric("flicker_snapshot_uploads_total")
		return n > 0 && f.arrived("s") > 50
	}, p)

	proxy.DelayReplies(delay)
	seqBefore := f.latestSeq() // read from MinIO directly, not through the proxy
	slowStart := time.Now()
	var maxGap, maxAge time.Duration
	lastCount, lastRise := outputLines(t, f.outPath), time.Now()
	for time.Since(slowStart) < 7*time.Second {
		time.Sleep(50 * time.Millisecond)
		now := time.Now()
		maxGap = max(maxGap, now.Sub(lastRise)) // the wait so far, or the one this rise ends
		if n := outputLines(t, f.outPath); n > lastCount {
			lastCount, lastRise = n, now
		}
		if age, ok := metric("flicker_snapshot_last_success_age_seconds"); ok {
			maxAge = max(maxAge, time.Duration(age*float64(time.Second)))
		}
	}
	seqSlow := f.latestSeq()
	proxy.DelayReplies(0)
	t.Logf("while S3 answered in %s: longest wait for a new line %s, snapshot age up to %s, latest seq %d -> %d",
		delay, maxGap.Round(time.Millisecond), maxAge.Round(time.Millisecond), seqBefore, seqSlow)
	// A line is written every 20ms and shipped within a scan interval or two; a publish that waits for one S3
	// answer stalls for the whole delay.
	if maxGap >= delay/2 {
		t.Fatalf("no new line arrived for %s while S3 was slow (each answer %s): shipping waited for S3; logs:\n%s",
			maxGap, delay, p.logs())
	}
	if seqSlow <= seqBefore {
		t.Fatalf("no snapshot landed while S3 was slow (latest seq %d -> %d)", seqBefore, seqSlow)
	}
	if maxAge < delay*8/10 {
		t.Fatalf("the snapshot age grew only to %s while every upload took over %s", maxAge, delay)
	}
	waitFor(t, time.Minute, "the snapshot age to recover", func() bool {
		age, ok := metric("flicker_snapshot_last_success_age_seconds")
		return ok && age < 1
	}, p)
	written := w.halt(t)
	waitFor(t, time.Minute, "every line written", func() bool { return f.arrived("s") >= written }, p)
	p.stop()
	if strings.Contains(p.logs(), "PAUSED") || strings.Contains(p.logs(), "FENCED") {
		t.Fatalf("slow answers paused or fenced the holder:\n%s", p.logs())
	}
	f.exactlyOnce("s", written)
}
