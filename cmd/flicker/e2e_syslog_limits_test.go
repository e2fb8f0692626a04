package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/internal/servertls/servertlstest"
	"github.com/flickerlog/flicker/sources/syslog"
)

// TestSyslogLimitsThroughTheBinary: max_connections refuses a connection beyond it and idle_timeout closes a
// quiet one, a plain-text sender to a TLS input fails its handshake, each counted in
// flicker_input_rejected_total; structured data beyond 128 parameters arrives as syslog.structured_data_raw; a
// frame that only looks like RFC 5424 is read as RFC 3164; the memory limit leaves room for the connections.
func TestSyslogLimitsThroughTheBinary(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	certFile, keyFile, _ := servertlstest.WriteSelfSigned(t, dir)
	metrics := freeAddr(t)
	p, addrs := startSyslog(t, dir, syslogInputs{
		"tcp": "max_connections: 1\nidle_timeout: 500ms",
		"tls": fmt.Sprintf("protocol: tls\ntls:\n  cert_file: %q\n  key_file: %q", certFile, keyFile),
	}, out, "", "", "--http-addr", metrics)

	first, err := net.Dial("tcp", addrs["tcp"])
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	sd := strings.Repeat("[a]", 200)
	fmt.Fprintf(first, "<13>1 - h app - - %s many elements\n<13>42 items processed\n", sd)
	waitSyslog(t, out, map[string]int{"tcp": 2}, p)
	refused, err := net.Dial("tcp", addrs["tcp"])
	if err != nil {
		t.Fatal(err)
	}
	defer refused.Close()
	closedWithin := func(c net.Conn, d time.Duration) bool {
		_ = c.SetReadDeadline(time.Now().Add(d))
		_, err := io.Copy(io.Discard, c)
		ne, ok := err.(net.Error)
		return !ok || !ne.Timeout()
	}
	if !closedWithin(refused, 5*time.Second) {
		t.Error("a connection beyond max_connections: 1 stayed open")
	}
	if !closedWithin(first, 5*time.Second) {
		t.Error("a quiet connection outlived idle_timeout: 500ms")
	}
	plain, err := net.Dial("tcp", addrs["tls"])
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	fmt.Fprint(plain, "<13>app: not tls\n")
	if !closedWithin(plain, 15*time.Second) {
		t.Error("a plain-text sender to a TLS input stayed connected")
	}
	for metric, want := range map[string]float64{
		`flicker_input_rejected_total{input="tcp",reason="too_many_connections",type="syslog"}`: 1,
		`flicker_input_rejected_total{input="tls",reason="tls_handshake",type="syslog"}`:        1,
		`flicker_input_malformed_total{input="tcp",type="syslog"}`:                              0,
		`flicker_input_connections_open{input="tcp",type="syslog"}`:                             0,
	} {
		name, label, _ := strings.Cut(strings.TrimSuffix(metric, "}"), "{")
		var v float64
		waitFor(t, 10*time.Second, metric, func() bool { v = scrapeMetric(metrics, name, label); return v == want }, p)
	}
	cfgs := []syslog.Config{{MaxConnections: 1}, {}}
	for i := range cfgs {
		cfgs[i].SetDefaults()
	}
	limit := scrapeMetric(metrics, "go_gc_gomemlimit_bytes", "")
	if want := float64(32<<20 + 8<<20 + syslog.MemoryBeyondQueue(cfgs)); limit != want {
		t.Errorf("go_gc_gomemlimit_bytes = %.0f, want queue.max_bytes + 8 MiB + %.0f for the syslog inputs", limit, want)
	}
	p.stop()

	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	byMsg := map[string]map[string]any{}
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatal(err)
		}
		byMsg[fmt.Sprint(ev["message"])] = ev
	}
	many, _ := byMsg["many elements"]["syslog"].(map[string]any)
	if many == nil || many["structured_data_raw"] != sd || many["structured_data"] != nil {
		t.Errorf("200 SD elements: syslog %v, want structured_data_raw and no structured_data", many)
	}
	items := byMsg["42 items processed"]
	if items == nil || items["error"] != nil {
		t.Errorf("<13>42 items processed: %v, want it read as RFC 3164", items)
	}
}
