package loadgen_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/flickerlog/flicker/benchmarks"
	"github.com/flickerlog/flicker/benchmarks/loadgen"
)

// report adds a run's rates and the generator's CPU per GiB to the benchmark's output.
func report(b *testing.B, res loadgen.Result) {
	b.ReportMetric(float64(res.Events)/res.Elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(res.Bytes)/1e6/res.Elapsed.Seconds(), "MB/s")
	b.ReportMetric(res.CPU.Seconds()/(float64(res.Bytes)/(1<<30)), "CPU-s/GiB")
}

// BenchmarkPostHTTP is the load generator's own ceiling over loopback: 10 senders of 1 MiB NDJSON bodies
// against a server in this process that reads and drops them. The CPU includes the server's.
func BenchmarkPostHTTP(b *testing.B) {
	payload := loadgen.NDJSON(benchmarks.NewLines().Next, 1<<20, 16<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	for b.Loop() {
		res, err := loadgen.PostHTTP(context.Background(), srv.URL, payload,
			loadgen.HTTPOptions{Options: loadgen.Options{Senders: 10, Bytes: 256 << 20}})
		if err != nil {
			b.Fatal(err)
		}
		report(b, res)
	}
}

// BenchmarkSendTCP is the same for octet-counted syslog frames on 10 connections to a listener that drops
// what it reads.
func BenchmarkSendTCP(b *testing.B) {
	payload := loadgen.Syslog(benchmarks.NewLines().Next, loadgen.OctetCounted, 256<<10, 16<<20)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer l.Close()
	wg.Go(func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				_, _ = io.Copy(io.Discard, conn)
			})
		}
	})
	for b.Loop() {
		res, err := loadgen.SendTCP(context.Background(), l.Addr().String(), payload,
			loadgen.Options{Senders: 10, Bytes: 256 << 20})
		if err != nil {
			b.Fatal(err)
		}
		report(b, res)
	}
}
