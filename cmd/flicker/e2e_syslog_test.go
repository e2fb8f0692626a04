package main_test

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/internal/servertls/servertlstest"
	"github.com/flickerlog/flicker/sinks/http/collecttest"
)

// TestSyslogFromRsyslog: Debian's rsyslogd reads lines from a file (imfile) and forwards each to five syslog
// inputs of flicker with omfwd over TCP: octet-counted and newline framing, each with the RFC 5424 and the
// traditional RFC 3164 template, and newline framing with RSYSLOG_ForwardFormat (RFC 3164 with an RFC 3339
// time). Every line arrives at every input, parsed.
func TestSyslogFromRsyslog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	inputs := syslogInputs{"octet5424": "", "octet3164": "", "line5424": "", "line3164": "format: rfc3164", "lineForward": ""}
	p, addrs := startSyslog(t, dir, inputs, out, "", "")

	work := filepath.Join(dir, "rsyslog")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "in.log")
	if err := os.WriteFile(in, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var actions strings.Builder
	for name, how := range map[string][2]string{
		"octet5424":   {"octet-counted", "RSYSLOG_SyslogProtocol23Format"},
		"octet3164":   {"octet-counted", "RSYSLOG_TraditionalForwardFormat"},
		"line5424":    {"traditional", "RSYSLOG_SyslogProtocol23Format"},
		"line3164":    {"traditional", "RSYSLOG_TraditionalForwardFormat"},
		"lineForward": {"traditional", "RSYSLOG_ForwardFormat"},
	} {
		host, port, _ := net.SplitHostPort(addrs[name])
		fmt.Fprintf(&actions, "  action(type=\"omfwd\" target=%q port=%q protocol=\"tcp\" TCP_Framing=%q template=%q)\n",
			host, port, how[0], how[1])
	}
	startRsyslog(t, dir, fmt.Sprintf(`global(workDirectory=%q)
module(load="imfile" mode="inotify")
input(type="imfile" file=%q tag="app:" facility="local3" severity="info" ruleset="fwd")
ruleset(name="fwd") {
%s}
`, work, in, actions.String()))

	const n = 50
	var lines strings.Builder
	for i := range n {
		fmt.Fprintf(&lines, "message %03d handed to rsyslog\n", i)
	}
	if err := os.WriteFile(in, []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got := waitSyslog(t, out, map[string]int{"octet5424": n, "octet3164": n, "line5424": n, "line3164": n, "lineForward": n}, p)
	hostname, _ := os.Hostname()
	for name := range inputs {
		seen := map[string]int{}
		for _, ev := range got[name] {
			seen[ev.Message]++
			if ev.Syslog.Facility == nil || *ev.Syslog.Facility != 19 || *ev.Syslog.Severity != 6 ||
				ev.Syslog.AppName != "app" || ev.Host.Hostname != hostname || ev.Error.Message != "" ||
				ev.Source.Address != "127.0.0.1" || ev.Input.Type != "syslog" {
				t.Errorf("%s: event not parsed as wanted: %+v", name, ev)
			}
			if ts, err := time.Parse(time.RFC3339Nano, ev.Timestamp); err != nil || time.Since(ts).Abs() > time.Hour {
				t.Errorf("%s: @timestamp %q is not the message's time", name, ev.Timestamp)
			}
		}
		for i := range n {
			if msg := fmt.Sprintf("message %03d handed to rsyslog", i); seen[msg] != 1 {
				t.Errorf("%s: %q arrived %d times", name, msg, seen[msg])
			}
		}
	}
	p.stop()
}

// TestSyslogFromLogger: util-linux logger, a second real client, over TCP with octet counting and RFC 5424,
// over TCP with newline framing and RFC 3164, and over UDP.
func TestSyslogFromLogger(t *testing.T) {
	t.Parallel()
	logger, err := exec.LookPath("logger")
	if err != nil {
		t.Skip("util-linux logger not installed")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	p, addrs := startSyslog(t, dir, syslogInputs{"tcp": "", "udp": "protocol: udp"}, out, "", "")
	send := func(addr string, args ...string) {
		host, port, _ := net.SplitHostPort(addr)
		cmd := exec.Command(logger, append([]string{"--server", host, "--port", port}, args...)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("logger %v: %v\n%s", args, err, b)
		}
	}
	send(addrs["tcp"], "--tcp", "--octet-count", "--rfc5424", "-t", "lg", "--id=4242", "-p", "local1.warning",
		"--sd-id", "zoo@123", "--sd-param", `tiger="hungry"`, "octet 5424")
	send(addrs["tcp"], "--tcp", "--rfc3164", "-t", "lg", "-p", "mail.err", "newline 3164")
	send(addrs["udp"], "--udp", "--rfc5424", "-t", "lg", "udp 5424")
	got := waitSyslog(t, out, map[string]int{"tcp": 2, "udp": 1}, p)
	byMsg := map[string]syslogEvent{}
	for _, evs := range got {
		for _, ev := range evs {
			byMsg[ev.Message] = ev
		}
	}
	if ev := byMsg["octet 5424"]; ev.Syslog.ProcID != "4242" || ev.Syslog.FacilityLabel != "local1" ||
		ev.Syslog.SeverityLabel != "warning" || ev.Syslog.StructuredData["zoo@123"]["tiger"] != "hungry" {
		t.Errorf("octet 5424: %+v", ev)
	}
	if ev := byMsg["newline 3164"]; ev.Syslog.AppName != "lg" || ev.Syslog.FacilityLabel != "mail" || ev.Syslog.SeverityLabel != "err" {
		t.Errorf("newline 3164: %+v", ev)
	}
	if ev := byMsg["udp 5424"]; ev.Syslog.AppName != "lg" || ev.Input.Name != "udp" || ev.Source.Address != "127.0.0.1" {
		t.Errorf("udp 5424: %+v", ev)
	}
	p.stop()
}

// TestSyslogThroughTheBinary: frames written by hand to TCP (octet counting and newline), UDP and TLS inputs;
// malformed frames are shipped raw with error.message, an oversized TCP frame is cut and flagged and the
// connection goes on, an oversized datagram is dropped and counted; flicker runs without --track and writes no
// registry.
func TestSyslogThroughTheBinary(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	certFile, keyFile, roots := servertlstest.WriteSelfSigned(t, dir)
	metrics := freeAddr(t)
	p, addrs := startSyslog(t, dir, syslogInputs{
		"tcp": "max_message_bytes: 1000",
		"udp": "protocol: udp\nmax_message_bytes: 1000",
		"tls": fmt.Sprintf("protocol: tls\nformat: rfc5424\ntls:\n  cert_file: %q\n  key_file: %q", certFile, keyFile),
	}, out, "", "", "--http-addr", metrics)

	c, err := net.Dial("tcp", addrs["tcp"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	frame := func(msg string) string { return fmt.Sprintf("%d %s", len(msg), msg) }
	long := "<13>app: " + strings.Repeat("L", 3000)
	fmt.Fprint(c, frame(`<165>1 2003-10-11T22:14:15.003Z host1 app 42 ID7 [ex@1 k="v \"q\""] octet ok`)+
		frame("<34>1 2003-10-11T25:14:15Z host1 app - - - bad hour")+frame(long)+frame("<13>app: after the long one"))
	l, err := net.Dial("tcp", addrs["tcp"])
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fmt.Fprint(l, "<30>Dec  7 10:59:59 host2 sshd[812]: newline ok\n<999>not a priority\n")

	u, err := net.Dial("udp", addrs["udp"])
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	fmt.Fprint(u, "<13>"+strings.Repeat("U", 2000)) // over max_message_bytes: dropped
	fmt.Fprint(u, "<14>1 - host3 app - - - udp ok")

	tc, err := tls.Dial("tcp", addrs["tls"], &tls.Config{RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	fmt.Fprint(tc, frame("<165>1 2003-10-11T22:14:15.003Z host4 app - - - tls ok"))

	got := waitSyslog(t, out, map[string]int{"tcp": 6, "udp": 1, "tls": 1}, p)
	byMsg := map[string]syslogEvent{}
	for _, evs := range got {
		for _, ev := range evs {
			byMsg[ev.Message] = ev
		}
	}
	if ev := byMsg["octet ok"]; ev.Host.Hostname != "host1" || ev.Syslog.MsgID != "ID7" ||
		ev.Syslog.StructuredData["ex@1"]["k"] != `v "q"` || ev.Timestamp != "2003-10-11T22:14:15.003000000Z" {
		t.Errorf("octet ok: %+v", ev)
	}
	// Not RFC 5424 (an hour of 25): in auto mode it is read as RFC 3164.
	if ev := byMsg["1 2003-10-11T25:14:15Z host1 app - - - bad hour"]; ev.Error.Message != "" || ev.Syslog.Priority == nil || *ev.Syslog.Priority != 34 {
		t.Errorf("a frame that looks like RFC 5424 and is not: %+v", ev)
	}
	if ev := byMsg["<999>not a priority"]; !strings.Contains(ev.Error.Message, "priority") {
		t.Errorf("malformed RFC 3164 frame: %+v", ev)
	}
	var cut []syslogEvent
	for _, ev := range got["tcp"] {
		if len(ev.Log.Flags) > 0 {
			cut = append(cut, ev)
		}
	}
	if len(cut) != 1 || cut[0].Log.Flags[0] != "truncated" || len(cut[0].Message) != 1000-len("<13>app: ") {
		t.Errorf("cut frames: %+v", cut)
	}
	if byMsg["after the long one"].Input.Name != "tcp" || byMsg["newline ok"].Syslog.ProcID != "812" ||
		byMsg["udp ok"].Host.Hostname != "host3" || byMsg["tls ok"].Host.Hostname != "host4" {
		t.Errorf("events: %+v", byMsg)
	}
	for metric, want := range map[string]float64{
		`flicker_input_dropped_total{input="udp",reason="too_large",type="syslog"}`: 1,
		`flicker_input_truncated_total{input="tcp",type="syslog"}`:                  1,
		`flicker_input_malformed_total{input="tcp",type="syslog"}`:                  1,
		`flicker_input_connections_open{input="tcp",type="syslog"}`:                 2,
		`flicker_input_events_total{input="tcp",type="syslog"}`:                     6,
	} {
		name, label, _ := strings.Cut(strings.TrimSuffix(metric, "}"), "{")
		if v := scrapeMetric(metrics, name, label); v != want {
			t.Errorf("%s = %v, want %v", metric, v, want)
		}
	}
	p.stop()
	checkLogKeys(t, p.logs())
	if strings.Contains(p.logs(), "positions are kept in memory only") {
		t.Errorf("a pure aggregator without --track is warned that it loses positions it does not have:\n%s", p.logs())
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if dups, err := duplicateKeys([]byte(l)); err != nil || len(dups) > 0 {
			t.Errorf("event with keys %v twice (%v): %s", dups, err, l)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("a registry directory appeared without --track: %v", err)
	}
}

// TestSyslogBackpressure: with an HTTP output that holds every request and a 4 MiB queue, a TCP sender's writes
// stall after a bounded amount (flicker stops reading instead of buffering), the Go heap stays small, and once
// the output answers every line arrives.
func TestSyslogBackpressure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	coll := collecttest.Start(t)
	coll.Stall()
	metrics := freeAddr(t)
	p, addrs := startSyslog(t, dir, syslogInputs{"tcp": ""}, out,
		fmt.Sprintf("  - type: http\n    url: %q\n    timeout: 10m", coll.URL()), "queue:\n  max_bytes: 4194304\n",
		"--http-addr", metrics)
	c, err := net.Dial("tcp", addrs["tcp"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	line := func(i int) string { return fmt.Sprintf("<13>app: line %07d %s\n", i, strings.Repeat("p", 480)) }
	const limit = 200 << 20 // far beyond the queue and the socket buffers
	sent, written := 0, 0
	for written < limit {
		_ = c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		n, err := c.Write([]byte(line(sent)))
		written += n
		if err != nil {
			break // stalled: a partial line may have gone out
		}
		sent++
	}
	if written >= limit {
		t.Fatalf("%d MiB written while the output held everything: no backpressure", written>>20)
	}
	heap := scrapeMetric(metrics, "go_memstats_heap_inuse_bytes", "")
	if heap <= 0 || heap > 64<<20 {
		t.Errorf("Go heap in use %.1f MiB while stalled with a 4 MiB queue", heap/(1<<20))
	}
	t.Logf("the sender stalled after %d lines (%.1f MiB); heap in use %.1f MiB", sent, float64(written)/(1<<20), heap/(1<<20))
	coll.Healthy()
	// Finish the partial line so that it is a whole message too, then let everything drain.
	_ = c.SetWriteDeadline(time.Now().Add(time.Minute))
	rest := line(sent)[written-sumLens(line, sent):]
	if _, err := c.Write([]byte(rest)); err != nil {
		t.Fatal(err)
	}
	sent++
	waitFor(t, 2*time.Minute, fmt.Sprintf("%d lines at the HTTP output", sent), func() bool { return coll.Total() >= sent }, p)
	for _, i := range []int{0, sent / 2, sent - 1} {
		if msg := strings.TrimSuffix(line(i), "\n")[len("<13>app: "):]; coll.Count(msg) != 1 {
			t.Errorf("line %d arrived %d times", i, coll.Count(msg))
		}
	}
	p.stop()
}

// sumLens is the length of lines 0 to n-1.
func sumLens(line func(int) string, n int) int {
	total := 0
	for i := range n {
		total += len(line(i))
	}
	return total
}

// TestSyslogExampleValidates: the example aggregator config is valid.
func TestSyslogExampleValidates(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(binary, "validate", "-c", filepath.Join("..", "..", "examples", "aggregator-syslog.yaml")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "syslog_sources: syslog-tcp, syslog-udp") {
		t.Fatalf("validate: %v\n%s", err, out)
	}
}

// TestSyslogConfigErrors: validate names the field and its line for a bad address and missing TLS files, and
// --once is refused.
func TestSyslogConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	body := `syslog_sources:
  - name: a
    address: "localhost"
  - name: b
    address: ":6514"
    protocol: tls
    tls:
      cert_file: /nonexistent/tls.crt
      key_file: /nonexistent/tls.key
outputs:
  - type: stdout
`
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "validate", "-c", cfg)
	out, _ := cmd.CombinedOutput()
	for _, want := range []string{"config.yaml:3:", "syslog_sources[0].address", "config.yaml:8:", "syslog_sources[1].tls.cert_file"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
	if code := cmd.ProcessState.ExitCode(); code != 2 {
		t.Errorf("validate exited %d, want 2", code)
	}
	body = "syslog_sources:\n  - name: a\n    address: 127.0.0.1:0\noutputs:\n  - type: stdout\n"
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, dir, "-c", cfg, "--once")
	if code := p.wait(30 * time.Second); code != 2 || !strings.Contains(p.logs(), "--once ships what inputs hold and exits; a listening source has no end") {
		t.Errorf("--once with a syslog input exited %d:\n%s", code, p.logs())
	}
}

// TestSyslogPortInUse: a syslog input that cannot listen stops flicker with exit code 1 and says where.
func TestSyslogPortInUse(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	body := fmt.Sprintf("syslog_sources:\n  - name: a\n    address: %q\noutputs:\n  - type: stdout\n", busy.Addr().String())
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, dir, "-c", cfg)
	if code := p.wait(30 * time.Second); code != 1 || !strings.Contains(p.logs(), "syslog_sources a: listen on "+busy.Addr().String()) {
		t.Fatalf("exit %d:\n%s", code, p.logs())
	}
}
