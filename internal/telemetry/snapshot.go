package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SnapshotStats is the S3 replication state (DESIGN.md section 8): snapshot age, size, duration, failures and
// the lease.
type SnapshotStats struct {
	LastUpload          time.Time // zero before the first good upload
	Seq                 uint64
	Size                int64
	Duration            time.Duration
	Uploads, Failures   uint64
	ConsecutiveFailures int
	LeaseHeld           bool // false when running unfenced
	LeaseUnconfirmed    bool // the last renewal got no answer: held as far as we know
	Fenced              bool // another instance took over; this one is stopping
}

// S3RequestCount is one series of flicker_s3_requests_total.
type S3RequestCount struct {
	Op      string // PUT, GET, HEAD
	KeyKind string // snapshot (the latest), history, lease, probe; other for anything else
	N       uint64
}

var s3Requests = prometheus.NewDesc("flicker_s3_requests_total", "Requests sent to S3 for the registry, "+
	"retries included, by operation (PUT, GET, HEAD) and key kind (snapshot: the latest; history; lease; probe): "+
	"what the store bills. README \"What S3 costs\" prices them.", []string{"op", "key_kind"}, nil)

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var snapshotMetrics = []metric[SnapshotStats]{
	gauge("flicker_snapshot_last_success_age_seconds", "Seconds since the last good upload of the latest snapshot "+
		"(since start while there was none): after a crash, about this much is shipped again.", nil,
		func(s SnapshotStats) float64 { return time.Since(s.LastUpload).Seconds() }),
	gauge("flicker_snapshot_seq", "Registry seq of the last snapshot uploaded.", nil,
		func(s SnapshotStats) float64 { return float64(s.Seq) }),
	gauge("flicker_snapshot_size_bytes", "Size of the last snapshot uploaded.", nil,
		func(s SnapshotStats) float64 { return float64(s.Size) }),
	gauge("flicker_snapshot_duration_seconds", "Build and upload time of the last snapshot.", nil,
		func(s SnapshotStats) float64 { return s.Duration.Seconds() }),
	counter("flicker_snapshot_uploads_total", "Snapshots uploaded.", nil,
		func(s SnapshotStats) float64 { return float64(s.Uploads) }),
	counter("flicker_snapshot_failures_total", "Snapshot uploads that failed (retried with backoff).", nil,
		func(s SnapshotStats) float64 { return float64(s.Failures) }),
	gauge("flicker_snapshot_consecutive_failures", "Failed uploads since the last good one.", nil,
		func(s SnapshotStats) float64 { return float64(s.ConsecutiveFailures) }),
	gauge("flicker_lease_held", "1 while this instance holds the registry lease (0: unfenced or lost).", nil,
		func(s SnapshotStats) float64 { return boolValue(s.LeaseHeld) }),
	gauge("flicker_lease_unconfirmed", "1 while lease renewals get no answer from S3 (still held as far as known).", nil,
		func(s SnapshotStats) float64 { return boolValue(s.LeaseUnconfirmed) }),
	gauge("flicker_fenced", "1 once another instance took over the registry.", nil,
		func(s SnapshotStats) float64 { return boolValue(s.Fenced) }),
}

func describeAll[T any](ch chan<- *prometheus.Desc, ms []metric[T]) {
	for _, m := range ms {
		ch <- m.desc
	}
}
