package main_test

import (
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freeAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func get(url string) (int, string, error) {
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// TestMetricsEndpoint: with --http-addr, /readyz answers 200 while shipping and /metrics counts what was shipped.
func TestMetricsEndpoint(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	cfg := writeConfig(t, dir, filepath.Join(dir, "*.log"), out, "")
	appendLines(t, filepath.Join(dir, "app.log"), "metric", 0, 250)
	addr := freeAddr(t)
	p := start(t, dir, "-c", cfg, "--registry-file", filepath.Join(dir, "reg.db"), "--http-addr", addr)
	waitFor(t, 30*time.Second, "250 lines", func() bool { return len(readOutput(t, out)) >= 250 }, p)

	want := []string{
		`flicker_output_events_total{output="out"} 250`,
		`flicker_input_events_total{input="app",type="file"} 250`,
		`flicker_pipeline_events_acknowledged_total 250`,
		"flicker_registry_seq ",
	}
	var body string
	diagnose = func() string { return "last /metrics:\n" + body }
	defer func() { diagnose = func() string { return "" } }()
	waitFor(t, 30*time.Second, "metrics counting 250 events", func() bool {
		code, b, err := get("http://" + addr + "/metrics")
		body = b
		if err != nil || code != 200 {
			return false
		}
		for _, w := range want {
			if !strings.Contains(b, w) {
				return false
			}
		}
		return true
	}, p)
	if code, _, err := get("http://" + addr + "/readyz"); err != nil || code != 200 {
		t.Fatalf("/readyz while shipping: %d %v", code, err)
	}
	if code, b, err := get("http://" + addr + "/healthz"); err != nil || code != 200 || !strings.Contains(b, "ok") {
		t.Fatalf("/healthz: %d %q %v", code, b, err)
	}
	p.stop()
	if _, _, err := get("http://" + addr + "/healthz"); err == nil {
		t.Fatal("the listener still answers after flicker stopped")
	}
}
