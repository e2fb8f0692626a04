package benchmarks_test

// Benchmarks of S3 mode (issue 3), against a real MinIO server (internal/miniotest; `make tools` installs it):
// the cost of one snapshot of a registry with 10,000 and 100,000 tracked files (build, upload, restore, the
// replicator's whole cycle), and the built binary shipping the same input with a local registry and with an S3
// registry. They never run in `make test` (no -bench there). Results and commands are in RESULTS.md.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/benchmarks"
	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/snapshot"
	"github.com/flickerlog/flicker/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, miniotest.IdleConnections()...) }

const benchBucket = "flicker-bench"

var (
	registrySizes = []int{10000, 100000}
	created       = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	headerInfo    = snapshot.HeaderInfo{WriterID: "bench", Hostname: "bench-host"}
	keySeq        atomic.Int64 // keys are never reused, so -count n starts each round on a fresh key
)

// fileRecord looks like a real record: a path, sizes and an incompressible fingerprint (as in snapshot's tests).
func fileRecord(i int, offset int64) store.FileRecord {
	return store.FileRecord{
		Input: "app", Inode: uint64(i) + 1000, Device: 2049, Path: fmt.Sprintf("/var/log/app/service-%06d.log", i),
		Offset: offset, Size: offset + 512, Generation: uint32(i % 3),
		Fingerprint: sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16)}), FingerprintLen: 1024,
		LastSeen: created.Add(time.Duration(i) * time.Second),
	}
}

// newRegistry returns a registry as S3 mode opens it (no fsync) holding files committed records.
func newRegistry(b *testing.B, files int) *store.DB {
	b.Helper()
	db, err := store.Open(filepath.Join(b.TempDir(), "registry.db"),
		store.Options{NoSync: true, CommitInterval: time.Hour}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	for i := range files {
		db.PutFile(fileRecord(i, int64(i)*97))
	}
	flush(b, db)
	return db
}

func flush(b *testing.B, db *store.DB) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := db.Flush(ctx); err != nil {
		b.Fatal(err)
	}
}

func build(b *testing.B, db *store.DB) *snapshot.Snapshot {
	b.Helper()
	s, err := snapshot.Build(db, headerInfo, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func reportSizes(b *testing.B, h snapshot.Header) {
	b.ReportMetric(float64(h.RawSize)/(1<<20), "raw-MiB")
	b.ReportMetric(float64(h.PayloadSize)/(1<<20), "snapshot-MiB")
}

// freshKeys names a latest key, under prefix, that no earlier run used.
func freshKeys(prefix string) snapshot.Keys {
	return snapshot.Keys{Bucket: benchBucket, Latest: fmt.Sprintf("%s/%d/registry.json", prefix, keySeq.Add(1))}
}

// putOptions are the replicator's: one PUT with Content-MD5, the header in metadata, conditional on the ETag.
func putOptions(h snapshot.Header, etag string) minio.PutObjectOptions {
	opts := minio.PutObjectOptions{DisableMultipart: true, SendContentMd5: true, UserMetadata: h.Metadata(),
		ContentType: "application/octet-stream"}
	if etag == "" {
		opts.SetMatchETagExcept("*")
	} else {
		opts.SetMatchETag(etag)
	}
	return opts
}

func put(b *testing.B, client *minio.Client, keys snapshot.Keys, s *snapshot.Snapshot, etag string) string {
	b.Helper()
	info, err := client.PutObject(miniotest.Context(b), keys.Bucket, keys.Latest, s.NewReader(), s.Size(),
		putOptions(s.Header, etag))
	if err != nil {
		b.Fatalf("put %s: %v", keys, err)
	}
	return info.ETag
}

// BenchmarkRegistryCopy is the first step of Build alone: the registry written from a read transaction
// (store.DB.WriteSnapshot) to a temp file, not fsync'd, as Build does. Build minus this is check + compress.
func BenchmarkRegistryCopy(b *testing.B) {
	for _, files := range registrySizes {
		b.Run(fmt.Sprintf("files=%d", files), func(b *testing.B) {
			db := newRegistry(b, files)
			path := filepath.Join(b.TempDir(), "copy.db")
			var n int64
			for b.Loop() {
				f, err := os.Create(path)
				if err != nil {
					b.Fatal(err)
				}
				if n, err = db.WriteSnapshot(f); err != nil {
					b.Fatal(err)
				}
				if err := f.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(n)
			b.ReportMetric(float64(n)/(1<<20), "raw-MiB")
		})
	}
}

// BenchmarkSnapshotBuild is the local part of a snapshot: copy the registry in a read transaction, check the
// copy, compress it with zstd. SetBytes is the raw registry, so MB/s is registry bytes per second.
func BenchmarkSnapshotBuild(b *testing.B) {
	for _, files := range registrySizes {
		b.Run(fmt.Sprintf("files=%d", files), func(b *testing.B) {
			db := newRegistry(b, files)
			h := build(b, db).Header
			tmp := b.TempDir()
			b.SetBytes(h.RawSize)
			b.ReportAllocs()
			for b.Loop() {
				s, err := snapshot.Build(db, headerInfo, tmp)
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
			reportSizes(b, h)
		})
	}
}

// BenchmarkSnapshotUpload is the PUT of a built snapshot to the latest key as the fenced replicator sends it
// (If-Match on the ETag of its previous write). SetBytes is the object.
func BenchmarkSnapshotUpload(b *testing.B) {
	srv := miniotest.Start(b)
	srv.MakeBucket(b, benchBucket)
	client := srv.Client(b)
	for _, files := range registrySizes {
		b.Run(fmt.Sprintf("files=%d", files), func(b *testing.B) {
			s := build(b, newRegistry(b, files))
			keys := freshKeys(b.Name())
			etag := put(b, client, keys, s, "")
			b.SetBytes(s.Size())
			for b.Loop() {
				etag = put(b, client, keys, s, etag)
			}
			reportSizes(b, s.Header)
		})
	}
}

// BenchmarkSnapshotRestore is a restore from the latest key: download, verify, decompress, fsync, check and
// install the registry (snapshot.Fetch). SetBytes is the object.
func BenchmarkSnapshotRestore(b *testing.B) {
	srv := miniotest.Start(b)
	srv.MakeBucket(b, benchBucket)
	client := srv.Client(b)
	for _, files := range registrySizes {
		b.Run(fmt.Sprintf("files=%d", files), func(b *testing.B) {
			s := build(b, newRegistry(b, files))
			keys := freshKeys(b.Name())
			put(b, client, keys, s, "")
			dst := filepath.Join(b.TempDir(), "registry.db")
			b.SetBytes(s.Size())
			b.ReportAllocs()
			for b.Loop() {
				h, _, err := snapshot.Fetch(miniotest.Context(b), client, keys.Bucket, keys.Latest, "", dst, nil)
				if err != nil {
					b.Fatal(err)
				}
				if h.Seq != s.Header.Seq {
					b.Fatalf("restored seq %d, uploaded %d", h.Seq, s.Header.Seq)
				}
			}
			reportSizes(b, s.Header)
		})
	}
}

// BenchmarkSnapshotCycle is the replicator's whole cycle after a commit: Replicator.Final builds a snapshot of
// the newest state and uploads it fenced. The commit (one changed record, outside the timer) makes every
// iteration upload; the first upload, which also writes a history slot, happens before the timer starts, as in a
// running instance a history write happens once per history interval (5 minutes).
func BenchmarkSnapshotCycle(b *testing.B) {
	srv := miniotest.Start(b)
	srv.MakeBucket(b, benchBucket)
	client := srv.Client(b)
	for _, files := range registrySizes {
		b.Run(fmt.Sprintf("files=%d", files), func(b *testing.B) {
			db := newRegistry(b, files)
			r := snapshot.NewReplicator(client, db, snapshot.ReplicatorOptions{Keys: freshKeys(b.Name()),
				TmpDir: b.TempDir(), WriterID: headerInfo.WriterID, Hostname: headerInfo.Hostname, Fenced: true,
				Logger: zerolog.Nop()})
			ctx := miniotest.Context(b)
			if err := r.Final(ctx); err != nil {
				b.Fatal(err)
			}
			first := r.Stats().Uploads
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				b.StopTimer()
				i++
				db.PutFile(fileRecord(i%files, int64(i)*4096))
				flush(b, db)
				b.StartTimer()
				if err := r.Final(ctx); err != nil {
					b.Fatal(err)
				}
			}
			st := r.Stats()
			if got := st.Uploads - first; got != uint64(i) {
				b.Fatalf("%d uploads for %d commits", got, i)
			}
			reportSizes(b, st.LastHeader)
		})
	}
}

// shipWorkload is one input and output of BenchmarkShipping.
type shipWorkload struct {
	name    string
	paths   string // the log_files glob
	bytes   int64  // input bytes
	outputs string // an "outputs:" block; a %q in it is replaced by the output file's path
}

// shipRun is one measured run: the whole process (Run.Elapsed) and its shipping phase, from "shipping" to
// "stopped" in its log, without startup (lease, restore) and shutdown (final snapshot, lease release).
type shipRun struct {
	benchmarks.Run
	shipping time.Duration
}

// BenchmarkShipping runs the built binary with --once over the same input with a local registry
// (--registry-file DIR/registry.db) and with an S3 registry on MinIO (s3://bucket/KEY, default snapshot
// interval), alternating which goes first (local in the 1st, 3rd, ... round), each run on a fresh registry.
// Every run is logged; the metrics are the means. Run it with -benchtime 3x (one iteration is one run of each
// mode), e.g.
//
//	go test -run '^$' -bench Shipping -benchtime 3x ./benchmarks/
//
// The 1 GiB input is the one `make bench` generates in benchmarks/data (generated here when missing).
func BenchmarkShipping(b *testing.B) {
	bin := buildFlicker(b)
	srv := miniotest.Start(b)
	srv.MakeBucket(b, benchBucket)
	access, secret := srv.RootCredentials()
	env := []string{"AWS_ENDPOINT_URL=" + srv.URL(), "AWS_REGION=" + miniotest.Region, "AWS_S3_FORCE_PATH_STYLE=true",
		"AWS_ACCESS_KEY_ID=" + access, "AWS_SECRET_ACCESS_KEY=" + secret, "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
		"AWS_ENDPOINT_URL_S3="}
	client := srv.Client(b)

	big, bigSize := bigInput(b)
	small, smallSize := smallFiles(b, 10000)
	empty := filepath.Join(b.TempDir(), "empty.log")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	discard := "outputs:\n  - type: discard\n"
	file := "outputs:\n  - type: file\n    path: %q\n"
	workloads := []shipWorkload{
		{"input=empty/output=discard", empty, 0, discard},
		{"input=1GiB/output=discard", big, bigSize, discard},
		{"input=1GiB/output=file", big, bigSize, file},
		{"input=10k-files/output=discard", small, smallSize, discard},
	}
	for _, w := range workloads {
		b.Run(w.name, func(b *testing.B) {
			var local, s3 []shipRun
			round := 0
			for b.Loop() {
				for i := range 2 {
					if (round+i)%2 == 0 {
						local = append(local, shipOnce(b, bin, w, nil, nil))
					} else {
						keys := freshKeys("ship")
						s3 = append(s3, shipOnce(b, bin, w, env, &keys))
						checkSnapshot(b, client, keys)
					}
				}
				round++
			}
			reportShipping(b, w, local, s3)
		})
	}
}

// shipOnce runs the binary once over w in a fresh work dir; with keys, in S3 mode on that key.
func shipOnce(b *testing.B, bin string, w shipWorkload, env []string, keys *snapshot.Keys) shipRun {
	b.Helper()
	work, err := os.MkdirTemp(b.TempDir(), "run-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(work) // the file output of 1 GiB is 2.6 GiB
	outputs := w.outputs
	if strings.Contains(outputs, "%q") {
		outputs = fmt.Sprintf(outputs, filepath.Join(work, "out.jsonl"))
	}
	cfg := filepath.Join(work, "config.yaml")
	if err := benchmarks.WriteConfig(cfg, w.paths, outputs); err != nil {
		b.Fatal(err)
	}
	args := []string{"-c", cfg, "--once", "--log-level", "info", "--log-format", "json"}
	mode := "local"
	if keys != nil {
		mode = "s3"
		args = append(args, "--registry-file", keys.String(), "--state-dir", filepath.Join(work, "state"))
	} else {
		args = append(args, "--registry-file", filepath.Join(work, "registry.db"))
	}
	var logs bytes.Buffer
	elapsed, cpu, rss, err := benchmarks.RunFlickerEnv(bin, work, env, &logs, args...)
	if err != nil {
		b.Fatal(err)
	}
	return shipRun{Run: benchmarks.Run{Name: mode, Bytes: w.bytes, Elapsed: elapsed, CPU: cpu, PeakRSS: rss},
		shipping: shippingPhase(b, logs.Bytes())}
}

// shippingPhase reads the "elapsed" (milliseconds) of the "stopped" line of a JSON log.
func shippingPhase(b *testing.B, logs []byte) time.Duration {
	b.Helper()
	for line := range bytes.Lines(logs) {
		var entry struct {
			Message string  `json:"message"`
			Elapsed float64 `json:"elapsed"`
		}
		if json.Unmarshal(line, &entry) == nil && entry.Message == "stopped" {
			return time.Duration(entry.Elapsed * float64(time.Millisecond))
		}
	}
	b.Fatalf("no \"stopped\" line in the log:\n%s", logs)
	return 0
}

// checkSnapshot fails unless the S3 run left a snapshot at its key: the run really was in S3 mode.
func checkSnapshot(b *testing.B, client *minio.Client, keys snapshot.Keys) {
	b.Helper()
	e, err := snapshot.Stat(miniotest.Context(b), client, keys.Bucket, keys.Latest, "")
	if err != nil || e.Err != nil {
		b.Fatalf("no snapshot at %s after the S3 run: %v %v", keys, err, e.Err)
	}
	if e.Header.Seq == 0 {
		b.Fatalf("snapshot at %s has seq 0: no commit was uploaded", keys)
	}
}

// reportShipping reports the means of each mode and how much slower S3 mode was, in wall time and in the
// shipping phase.
func reportShipping(b *testing.B, w shipWorkload, local, s3 []shipRun) {
	mean := func(runs []shipRun, f func(shipRun) float64) float64 {
		var sum float64
		for _, r := range runs {
			sum += f(r)
		}
		return sum / float64(len(runs))
	}
	wall := func(r shipRun) float64 { return r.Elapsed.Seconds() }
	ship := func(r shipRun) float64 { return r.shipping.Seconds() }
	cpu := func(r shipRun) float64 { return r.CPU.Seconds() }
	rss := func(r shipRun) float64 { return float64(r.PeakRSS) / (1 << 20) }
	// Every run, one line per mode and quantity: the benchmark output keeps only the first 10 lines of logs.
	for _, mode := range []struct {
		name string
		runs []shipRun
	}{{"local", local}, {"s3", s3}} {
		for _, q := range []struct {
			name, format string
			f            func(shipRun) float64
		}{{"wall s", "%.3f", wall}, {"shipping s", "%.3f", ship}, {"CPU s", "%.2f", cpu}, {"RSS MiB", "%.1f", rss}} {
			vals := make([]string, len(mode.runs))
			for i, r := range mode.runs {
				vals[i] = fmt.Sprintf(q.format, q.f(r))
			}
			b.Logf("%-5s %-10s %s", mode.name, q.name, strings.Join(vals, " / "))
		}
	}
	localWall, s3Wall := mean(local, wall), mean(s3, wall)
	localShip, s3Ship := mean(local, ship), mean(s3, ship)
	b.ReportMetric(localWall, "local-s")
	b.ReportMetric(s3Wall, "s3-s")
	b.ReportMetric(100*(s3Wall-localWall)/localWall, "s3-slower-%")
	b.ReportMetric(localShip, "local-ship-s")
	b.ReportMetric(s3Ship, "s3-ship-s")
	b.ReportMetric(100*(s3Ship-localShip)/localShip, "s3-ship-slower-%")
	if w.bytes > 0 {
		b.ReportMetric(float64(w.bytes)/1e6/localShip, "local-ship-MB/s")
		b.ReportMetric(float64(w.bytes)/1e6/s3Ship, "s3-ship-MB/s")
	}
	b.ReportMetric(mean(local, cpu), "local-CPU-s")
	b.ReportMetric(mean(s3, cpu), "s3-CPU-s")
	b.ReportMetric(mean(local, rss), "local-RSS-MiB")
	b.ReportMetric(mean(s3, rss), "s3-RSS-MiB")
}

// buildFlicker builds ./cmd/flicker into a temp dir and returns the binary's path.
func buildFlicker(b *testing.B) string {
	b.Helper()
	bin, err := benchmarks.BuildFlicker(b.TempDir(), false)
	if err != nil {
		b.Fatal(err)
	}
	return bin
}

// bigInput returns the 1 GiB log `make bench` uses, generating it when it is missing, and reads it once.
func bigInput(b *testing.B) (string, int64) {
	b.Helper()
	const size = 1 << 30
	path, err := filepath.Abs(filepath.Join("data", fmt.Sprintf("input-%d.log", size)))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			b.Fatal(err)
		}
		if _, err := benchmarks.GenerateLog(path, size); err != nil {
			b.Fatal(err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	// Read it once, so that the first run (always a local one) does not pay for the page cache.
	if _, _, err := benchmarks.SplitCeiling(path); err != nil {
		b.Fatal(err)
	}
	return path, fi.Size()
}

// smallFiles writes n files of three short lines each into a temp dir and returns their glob and total size: a
// registry of n tracked files.
func smallFiles(b *testing.B, n int) (string, int64) {
	b.Helper()
	dir := b.TempDir()
	var total int64
	for i := range n {
		var sb strings.Builder
		for l := range 3 {
			fmt.Fprintf(&sb, "2026-11-21T10:00:00.%06dZ host=web-%d GET /api/orders status=200 file=%d line=%d\n",
				i, i%32, i, l)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("service-%05d.log", i)), []byte(sb.String()), 0o644); err != nil {
			b.Fatal(err)
		}
		total += int64(sb.Len())
	}
	return filepath.Join(dir, "*.log"), total
}
