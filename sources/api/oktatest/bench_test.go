package oktatest_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/flickerlog/flicker/sources/api/oktatest"
)

// BenchmarkPollingPage measures the emulator's own cost per 1000-event page, so that benchmarks of the source
// can tell it apart.
func BenchmarkPollingPage(b *testing.B) {
	srv := oktatest.Start(b, oktatest.Options{Token: token, RateLimit: 1 << 30})
	srv.Add(1000)
	tr := &http.Transport{}
	b.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr}
	req, err := http.NewRequest(http.MethodGet, srv.Endpoint()+"?limit=1000", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "SSWS "+token)
	b.ReportAllocs()
	var bytes int64
	for b.Loop() {
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		bytes += n
	}
	b.SetBytes(bytes / int64(b.N))
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "events/s")
}
