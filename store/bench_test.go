package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/store"
)

func benchRecord(i int) store.FileRecord {
	return store.FileRecord{
		Input: "app", Inode: uint64(i), Device: 2049, Path: fmt.Sprintf("/var/log/app/service-%06d.log", i),
		Size: 1 << 20, FingerprintLen: 1024, Fingerprint: [32]byte{byte(i), byte(i >> 8)},
		LastSeen: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC),
	}
}

// BenchmarkPutFile is the cost on the acknowledgement path: the writer runs with its default interval meanwhile.
func BenchmarkPutFile(b *testing.B) {
	for _, files := range []int{100, 10000, 100000} {
		b.Run(fmt.Sprintf("files=%d", files), func(b *testing.B) {
			db, err := store.Open(b.TempDir()+"/registry.db", store.Options{}, zerolog.Nop())
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			recs := make([]store.FileRecord, files)
			for i := range recs {
				recs[i] = benchRecord(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				r := &recs[i%files]
				r.Offset += 100
				db.PutFile(*r)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
		})
	}
}

func BenchmarkPutFileParallel(b *testing.B) {
	db, err := store.Open(b.TempDir()+"/registry.db", store.Options{}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := benchRecord(0)
		for i := 0; pb.Next(); i++ {
			r.Inode = uint64(i % 1000)
			r.Offset += 100
			db.PutFile(r)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
}

// BenchmarkCommit measures one coalesced commit (Flush) in a registry of `files` records, of which `changed` were
// updated since the last commit, fsync'd (local mode) or not (S3 mode).
func BenchmarkCommit(b *testing.B) {
	for _, files := range []int{10000, 100000} {
		for _, changed := range []int{100, files} {
			for _, noSync := range []bool{false, true} {
				name := fmt.Sprintf("files=%d/changed=%d/nosync=%v", files, changed, noSync)
				b.Run(name, func(b *testing.B) { benchCommit(b, files, changed, noSync) })
			}
		}
	}
}

func benchCommit(b *testing.B, files, changed int, noSync bool) {
	db, err := store.Open(b.TempDir()+"/registry.db", store.Options{CommitInterval: time.Hour, NoSync: noSync},
		zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	recs := make([]store.FileRecord, files)
	for i := range recs {
		recs[i] = benchRecord(i)
		db.PutFile(recs[i])
	}
	ctx := context.Background()
	if err := db.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	next := 0
	for b.Loop() {
		for range changed {
			r := &recs[next%files]
			r.Offset += 100
			db.PutFile(*r)
			next++
		}
		if err := db.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*changed)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkOpen is the start of a pod with a registry already on disk (a restart, a restored snapshot): Open vets
// every page of the file before bbolt maps it for good (see vet.go), and a writable open runs bbolt's check.
func BenchmarkOpen(b *testing.B) {
	for _, files := range []int{10000, 100000} {
		path := b.TempDir() + "/registry.db"
		db, err := store.Open(path, store.Options{CommitInterval: time.Hour, NoSync: true}, zerolog.Nop())
		if err != nil {
			b.Fatal(err)
		}
		for i := range files {
			db.PutFile(benchRecord(i))
		}
		if err := db.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		for _, readOnly := range []bool{false, true} {
			b.Run(fmt.Sprintf("files=%d/readonly=%v", files, readOnly), func(b *testing.B) {
				for b.Loop() {
					db, err := store.Open(path, store.Options{ReadOnly: readOnly, NoSync: true}, zerolog.Nop())
					if err != nil {
						b.Fatal(err)
					}
					if err := db.Close(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
