package benchmarks_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/flickerlog/flicker/benchmarks"
	"github.com/flickerlog/flicker/sources/container/kubemeta/apiservertest"
)

// BenchmarkKubernetesAPIOpenFiles measures the built binary following kubemetaPods pods' CRI logs (4 MiB in
// all) with the kubernetes input, metadata: path and then metadata: api against a fake API server (in this
// process) serving the same pods at about 5 KiB of JSON each, as flickerbench's -containers run: RSS and peak
// RSS once every event is acknowledged with every log open. Run it once per fresh process:
//
//	go test -c -o /tmp/bench.test ./benchmarks/
//	/tmp/bench.test -test.run '^$' -test.bench KubernetesAPIOpenFiles -test.benchtime 1x
func BenchmarkKubernetesAPIOpenFiles(b *testing.B) {
	bin := buildFlicker(b)
	dir := b.TempDir()
	logs, err := benchmarks.GenerateCRI(filepath.Join(dir, "pods"), kubemetaPods, 4<<20)
	if err != nil {
		b.Fatal(err)
	}
	const token = "bench-token"
	srv := apiservertest.Start(b, token)
	for i := range kubemetaPods {
		pod := benchPod(i)
		// The pod of GenerateCRI's log directory bench_app-<i>_<uid>.
		sum := sha256.Sum256(fmt.Appendf(nil, "flicker-bench-%d", i))
		id := hex.EncodeToString(sum[:])
		pod.Namespace, pod.Name = "bench", fmt.Sprintf("app-%d", i)
		pod.UID = types.UID(id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:32])
		srv.AddPod(pod)
	}
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		b.Fatal(err)
	}
	path := benchmarks.KubernetesWorkload(logs)
	api := path
	api.Name = "kubernetes metadata: api"
	api.Inputs += fmt.Sprintf("    metadata: api\n    node: node-a\n    annotations: [team.example.com/owner]\n"+
		"    metadata_wait: 10s\n    api: {host: %q, token_file: %q, ca_file: %q}\n", srv.URL, tokenFile, srv.CAFile)
	for b.Loop() {
		for _, w := range []benchmarks.Workload{path, api} {
			work := b.TempDir()
			cfg := filepath.Join(work, "config.yaml")
			if err := os.WriteFile(cfg, []byte(w.Config("outputs:\n  - type: discard\n")), 0o644); err != nil {
				b.Fatal(err)
			}
			res, err := benchmarks.RunOpenFiles(bin, work, cfg, w.Dir, kubemetaPods, w.Events, 2*time.Minute)
			if err != nil {
				b.Fatalf("%s: %v", w.Name, err)
			}
			b.Logf("%-26s open fds %d, files_open %d, RSS %.1f MiB, peak RSS %.1f MiB, %.2f s", w.Name, res.OpenFDs,
				res.FilesOpen, float64(res.RSS)/(1<<20), float64(res.PeakRSS)/(1<<20), res.Elapsed.Seconds())
		}
	}
	b.ReportMetric(0, "ns/op")
}
