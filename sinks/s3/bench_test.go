package s3out_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	s3out "github.com/flickerlog/flicker/sinks/s3"
)

// accessLine returns a ~150-byte access log line, varied like real traffic.
func accessLine(i int) []byte {
	return fmt.Appendf(nil, `10.%d.%d.%d - - [21/Nov/2026:10:%02d:%02d +0000] "GET /api/v1/items/%d?page=%d HTTP/1.1" `+
		`%d %d "-" "Mozilla/5.0 (X11; Linux x86_64)"`, i%7, i%251, i%13, i/60%60, i%60, i*7919%100000, i%50,
		[]int{200, 200, 200, 304, 404, 500}[i%6], i*31%20000)
}

// BenchmarkS3Sink writes 64 MiB of ~150-byte messages through the sink (batches of 2048 events, the engine's
// default) to a local MinIO server, with the default 8 MiB objects, and waits for the last upload. MB/s and
// cpu-s/GiB count message bytes (the NDJSON is about twice as large).
func BenchmarkS3Sink(b *testing.B) {
	srv := startMinIO(b)
	client := sinkClient(b, srv, srv.URL())
	st := stream("app", "/var/log/app/access.log")
	var evs []engine.Event
	var msgBytes int64
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	for i := 0; msgBytes < 64<<20; i++ {
		msg := accessLine(i)
		evs = append(evs, engine.Event{Time: t0.Add(time.Duration(i) * time.Microsecond), Message: msg, Stream: st,
			Offset: msgBytes, Pos: msgBytes + int64(len(msg)) + 1})
		msgBytes += int64(len(msg))
	}
	const batchSize = 2048
	for _, compression := range []string{"gzip", "zstd", "none"} {
		b.Run(compression, func(b *testing.B) {
			s := newSink(b, s3out.Config{Prefix: "bench/" + compression + "/", Compression: compression}, client)
			b.SetBytes(msgBytes)
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				for i := 0; i < len(evs); i += batchSize {
					if err := s.Write(context.Background(), engine.NewBatch(evs[i:min(i+batchSize, len(evs))])); err != nil {
						b.Fatal(err)
					}
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				if err := s.Flush(ctx); err != nil {
					b.Fatal(err)
				}
				cancel()
			}
			cpu = processCPU() - cpu
			st := s.Stats()
			if st.Failed > 0 {
				b.Fatalf("%d uploads failed", st.Failed)
			}
			b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(st.RawBytes)/float64(st.StoredBytes), "ratio")
			// CPU of this process (encoding, compression, the client's signing), not of the MinIO server.
			b.ReportMetric(cpu.Seconds()/(float64(msgBytes)*float64(b.N)/(1<<30)), "cpu-s/GiB")
		})
	}
}

// TestWriteAllocationsDoNotGrowWithEvents: the encode path allocates per batch and per object, never per event.
func TestWriteAllocationsDoNotGrowWithEvents(t *testing.T) {
	// Nothing is uploaded before Close: no server is needed.
	client, err := minio.New("127.0.0.1:1", &minio.Options{Creds: credentials.NewStaticV4("a", "b", "")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := s3out.Config{Bucket: "b", MaxObjectBytes: 1 << 30, MaxObjectAge: time.Hour}
	cfg.SetDefaults()
	s, err := s3out.New(cfg, client, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // abandon the object: there is no server
		_ = s.Close(ctx)
	}()
	st := stream("app", "/var/log/app.log")
	const perBatch = 200
	var evs []engine.Event
	for i := range 102 * perBatch {
		evs = append(evs, engine.Event{Time: time.Now(), Message: accessLine(i), Stream: st, Offset: int64(i)})
	}
	batches := make([]*engine.Batch, 102)
	for i := range batches {
		batches[i] = engine.NewBatch(evs[i*perBatch : (i+1)*perBatch])
	}
	next := 0
	allocs := testing.AllocsPerRun(100, func() {
		if err := s.Write(context.Background(), batches[next]); err != nil {
			t.Fatal(err)
		}
		next++
	})
	if allocs > 5 {
		t.Errorf("%v allocations per batch of %d events", allocs, perBatch)
	}
}
