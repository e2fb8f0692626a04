package s3out_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/miniotest"
	s3out "github.com/flickerlog/flicker/sinks/s3"
)

// heapInUse returns the heap in use after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestManyPrefixesBoundMemory: events spread over many prefixes, as in a backfill of old logs whose timestamps
// scatter over hundreds of hours. Compressors are large (gzip: hundreds of KiB, zstd: MiBs), so memory must not
// grow with the prefixes: small objects hold no compressor, open objects are capped, and a sealed object keeps
// its compressed body only while it waits for its upload (the store is stalled here, so every sealed object
// waits).
func TestManyPrefixesBoundMemory(t *testing.T) {
	srv := startMinIO(t)
	proxy := miniotest.NewProxy(t, srv.Endpoint())
	client := sinkClient(t, srv, proxy.URL())
	shapes := []struct {
		name              string
		prefixes, perHour int
		msgSize           int
		maxOpen           int
	}{
		// One small event per hour: the reviewer's measure grew the heap by 216 MiB (gzip) and 503 MiB (zstd).
		{name: "scattered", prefixes: 300, perHour: 1, msgSize: 100},
		// Objects large enough to need a compressor while open (70 KiB of NDJSON each), one hour after another.
		{name: "large", prefixes: 120, perHour: 70, msgSize: 1000, maxOpen: 4},
	}
	for _, shape := range shapes {
		for _, compression := range []string{"gzip", "zstd"} {
			t.Run(shape.name+"/"+compression, func(t *testing.T) {
				base := "many/" + shape.name + "/" + compression + "/"
				s := newSink(t, s3out.Config{Prefix: base + "%{+yyyy/MM/dd/HH}/", Compression: compression,
					MaxObjectBytes: 64 << 20, MaxObjectAge: time.Hour, MaxOpenObjects: shape.maxOpen}, client)
				st := stream("app", "/var/log/old.log")
				t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
				var evs []engine.Event
				for i := range shape.prefixes {
					// Hours visited out of order, as in a file gathered from several hosts.
					hour := t0.Add(time.Duration(i*7919%shape.prefixes) * time.Hour)
					evs = append(evs, makeEvents(st, len(evs), shape.perHour, hour, shape.msgSize)...)
				}
				b := newHeldBatch(evs)
				proxy.Pause()
				before := heapInUse()
				write(t, s, b)
				after := heapInUse()
				growth := int64(after) - int64(before)
				t.Logf("%d prefixes of %d events: heap in use grew by %.1f MiB", shape.prefixes, shape.perHour,
					float64(growth)/(1<<20))
				if growth > 64<<20 {
					t.Errorf("heap in use grew by %d MiB for %d prefixes of %d events; want well under 64 MiB",
						growth>>20, shape.prefixes, shape.perHour)
				}
				proxy.Resume()
				closeSink(t, s)
				if b.released.Load() != 1 {
					t.Fatal("batch not released")
				}
				objs := listObjects(t, srv.Client(t), bucket, base)
				checkOnce(t, objs, evs)
				if len(objs) != shape.prefixes {
					t.Errorf("%d objects, want one per prefix (%d)", len(objs), shape.prefixes)
				}
			})
		}
	}
}
