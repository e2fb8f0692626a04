package main_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sinks/elasticsearch/estest"
)

// tomcatPattern is the dissect pattern of Tomcat's default access log (AccessLogValve "common") with ECS types:
// numbers as JSON numbers, the version without "HTTP/" (as README and examples/processing.yaml write it).
const tomcatPattern = `%{client.ip} - %{user.name} [%{ts}] "%{http.request.method} %{url.original} HTTP/%{http.version}" ` +
	`%{http.response.status_code|long} %{http.response.body.bytes|long}`

// tomcatProcessors parse the access log and take @timestamp from it; timestampExtra adds keys to the timestamp
// processor's block.
func tomcatProcessors(timestampExtra string) string {
	return fmt.Sprintf(`    processors:
      - dissect: {pattern: '%s'}
      - timestamp: {field: ts, layouts: ["02/Jan/2006:15:04:05 -0700"], timezone: UTC, remove: true%s}
`, tomcatPattern, timestampExtra)
}

// accessLine is one Tomcat access log line at t (written in t's zone, as Tomcat writes its local time).
func accessLine(i int, t time.Time, status int) string {
	return fmt.Sprintf(`10.0.0.%d - user%d [%s] "GET /page/%d HTTP/1.1" %d %d`, i+1, i, t.Format("02/Jan/2006:15:04:05 -0700"),
		i, status, 100+i)
}

// accessTimes are the times of the sample log: in a +01:00 zone, across midnight UTC (two UTC days).
var accessTimes = func() []time.Time {
	zone := time.FixedZone("CET", 3600)
	base := time.Date(2026, 11, 22, 0, 59, 58, 0, zone) // 2026-11-21T23:59:58Z
	out := make([]time.Time, 6)
	for i := range out {
		out[i] = base.Add(time.Duration(i) * time.Second)
	}
	return out
}()

// writeAccessLog writes the sample lines (statuses by index) to path and returns them.
func writeAccessLog(t *testing.T, path string, statuses ...int) []string {
	t.Helper()
	var lines []string
	var b strings.Builder
	for i, at := range accessTimes {
		status := 200
		if i < len(statuses) {
			status = statuses[i]
		}
		l := accessLine(i, at, status)
		lines = append(lines, l)
		b.WriteString(l + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return lines
}

// writeProcessorsConfig writes a config with one log_files input named tomcat over glob with the processors
// block given, and the outputs given as YAML list items.
func writeProcessorsConfig(t *testing.T, dir, glob, processors, outputs string) string {
	t.Helper()
	cfg := fmt.Sprintf("log_files:\n  - name: tomcat\n    paths: [%q]\n    scan_interval: 50ms\n%soutputs:\n%sbatch:\n  max_wait: 20ms\n",
		glob, processors, outputs)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// field returns the value at a dotted path of a decoded event, and whether it is there.
func field(ev map[string]any, path string) (any, bool) {
	var cur any = ev
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// TestProcessorsTomcatAccessLogToFile: dissect + timestamp turn each access log line into fields, and every
// event's @timestamp is the time written in its line (in UTC), not the read time, which is kept as
// event.ingested.
func TestProcessorsTomcatAccessLogToFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	lines := writeAccessLog(t, filepath.Join(dir, "localhost_access_log.txt"))
	cfg := writeProcessorsConfig(t, dir, filepath.Join(dir, "*.txt"), tomcatProcessors(""), fileOutput(out))
	p := start(t, dir, "-c", cfg, "--once", "--log-format", "json")
	if code := p.wait(time.Minute); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.logs())
	}
	evs := readEvents[map[string]any](t, out)
	if len(evs) != len(lines) {
		t.Fatalf("%d events, want %d:\n%s", len(evs), len(lines), p.logs())
	}
	for i, ev := range evs {
		want := accessTimes[i].UTC().Format("2006-01-02T15:04:05.000000000Z")
		if ev["@timestamp"] != want || ev["message"] != lines[i] {
			t.Errorf("event %d: @timestamp %v message %q, want %s and the line", i, ev["@timestamp"], ev["message"], want)
		}
		for path, want := range map[string]any{
			"client.ip": fmt.Sprintf("10.0.0.%d", i+1), "user.name": fmt.Sprintf("user%d", i),
			"http.request.method": "GET", "url.original": fmt.Sprintf("/page/%d", i), "http.version": "1.1",
			"http.response.status_code": float64(200), "http.response.body.bytes": float64(100 + i),
		} {
			if got, ok := field(ev, path); !ok || got != want { // numbers as JSON numbers, for an ECS mapping
				t.Errorf("event %d: %s = %v (present %v), want %v", i, path, got, ok, want)
			}
		}
		if _, ok := field(ev, "ts"); ok {
			t.Errorf("event %d keeps ts, which timestamp's remove: true drops", i)
		}
		if ingested, ok := field(ev, "event.ingested"); !ok || ingested == ev["@timestamp"] {
			t.Errorf("event %d: event.ingested %v, want the read time", i, ingested)
		}
	}
}

// TestProcessorsDailyIndicesFromTheLogsTime: into Elasticsearch with a daily index pattern, each event's index
// is chosen from the time in its line: a log across midnight UTC fills two indices.
func TestProcessorsDailyIndicesFromTheLogsTime(t *testing.T) {
	t.Parallel()
	es := estest.Start(t, estest.Options{})
	dir := t.TempDir()
	writeAccessLog(t, filepath.Join(dir, "localhost_access_log.txt"))
	cfg := writeProcessorsConfig(t, dir, filepath.Join(dir, "*.txt"), tomcatProcessors(""), fmt.Sprintf(`  - type: elasticsearch
    hosts: [%q]
    index: "tomcat-%%{+yyyy.MM.dd}"
`, es.URL()))
	p := start(t, dir, "-c", cfg, "--once", "--log-format", "json")
	if code := p.wait(time.Minute); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.logs())
	}
	byIndex := map[string][]string{}
	for _, d := range es.Docs() {
		byIndex[d.Index] = append(byIndex[d.Index], fmt.Sprint(d.Source["url"].(map[string]any)["original"]))
	}
	want := map[string][]string{
		"tomcat-2026.11.21": {"/page/0", "/page/1"},
		"tomcat-2026.11.22": {"/page/2", "/page/3", "/page/4", "/page/5"},
	}
	if fmt.Sprint(byIndex) != fmt.Sprint(want) {
		t.Fatalf("documents by index %v, want %v:\n%s", byIndex, want, p.logs())
	}
}

// TestProcessorsDroppedLinesAdvanceTheRegistry: with every line dropped, nothing is shipped and the registry's
// offset is at the end of the file all the same; a restart ships nothing either, and lines added later that are
// kept are shipped alone.
func TestProcessorsDroppedLinesAdvanceTheRegistry(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	reg := filepath.Join(dir, "reg.db")
	log := filepath.Join(dir, "localhost_access_log.txt")
	writeAccessLog(t, log, 304, 304, 304, 304, 304, 304)
	size := func() int64 {
		st, err := os.Stat(log)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	cfg := writeProcessorsConfig(t, dir, filepath.Join(dir, "*.txt"), tomcatProcessors("")+
		`      - drop: {if: {field: http.response.status_code, equals: "304"}}
      - exclude_lines: ['^#']
`, fileOutput(out))
	run := func() {
		t.Helper()
		p := start(t, dir, "-c", cfg, "--once", "--registry-file", reg, "--log-format", "json")
		if code := p.wait(time.Minute); code != 0 {
			t.Fatalf("exit %d:\n%s", code, p.logs())
		}
	}
	run()
	doc, err := exportRegistry(reg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := doc.offset(log), size(); got != want {
		t.Fatalf("registry offset %d after every line was dropped, want the end of the file, %d", got, want)
	}
	if n := outputLines(t, out); n != 0 {
		t.Fatalf("%d events shipped, want none: every line is dropped", n)
	}

	run() // a restart reads nothing again
	if n := outputLines(t, out); n != 0 {
		t.Fatalf("%d events shipped after the restart, want none", n)
	}
	f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	kept := accessLine(7, accessTimes[0], 200)
	fmt.Fprintf(f, "# a comment line\n%s\n%s\n", accessLine(6, accessTimes[0], 304), kept)
	f.Close()
	run()
	evs := readEvents[map[string]any](t, out)
	if len(evs) != 1 || evs[0]["message"] != kept {
		t.Fatalf("shipped %v after adding lines, want only %q", evs, kept)
	}
	if doc, err := exportRegistry(reg); err != nil || doc.offset(log) != size() {
		t.Fatalf("registry offset %d (%v), want the end of the file, %d", doc.offset(log), err, size())
	}
}

// TestProcessorsMalformedLineInTheMiddle: a line dissect cannot parse is shipped as it was, with error.message
// naming the processor (dissect, the cause, not the timestamp that then finds no time), between its parsed
// neighbours, and counted in flicker_processor_errors_total.
func TestProcessorsMalformedLineInTheMiddle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	log := filepath.Join(dir, "localhost_access_log.txt")
	lines := writeAccessLog(t, log)
	const malformed = "Tomcat wrote this: not an access log line"
	lines = append(lines[:3], append([]string{malformed}, lines[3:]...)...)
	if err := os.WriteFile(log, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := writeProcessorsConfig(t, dir, filepath.Join(dir, "*.txt"), tomcatProcessors(""), fileOutput(out))
	addr := freeAddr(t)
	p := start(t, dir, "-c", cfg, "--http-addr", addr, "--log-format", "json")
	waitFor(t, 30*time.Second, "7 events", func() bool { return outputLines(t, out) >= 7 }, p)
	var body string
	diagnose = func() string { return "last /metrics:\n" + body }
	defer func() { diagnose = func() string { return "" } }()
	waitFor(t, 30*time.Second, "the processor error counted", func() bool {
		_, body, _ = get("http://" + addr + "/metrics")
		n, ok := labelledMetric(body, "flicker_processor_errors_total", `input="tomcat"`, `processor="dissect"`)
		return ok && n == 1
	}, p)
	p.stop()
	evs := readEvents[map[string]any](t, out)
	if len(evs) != 7 {
		t.Fatalf("%d events, want 7", len(evs))
	}
	for i, ev := range evs {
		if ev["message"] != lines[i] {
			t.Errorf("event %d: message %q, want %q", i, ev["message"], lines[i])
		}
		msg, hasErr := field(ev, "error.message")
		_, parsed := field(ev, "client.ip")
		if i == 3 {
			if !hasErr || !strings.HasPrefix(fmt.Sprint(msg), "dissect") || parsed {
				t.Errorf("the malformed line: error.message %v, parsed fields %v; want dissect's error, no fields", msg, parsed)
			}
			continue
		}
		if hasErr || !parsed {
			t.Errorf("event %d: error.message %v, parsed %v; want parsed without error", i, msg, parsed)
		}
	}
}

// TestProcessorsCommands: flicker test-processors prints the events a sample makes (the dropped lines noted on
// stderr) and ships nothing; flicker validate names the line of a bad pattern and exits 2.
func TestProcessorsCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	cfg := writeProcessorsConfig(t, dir, filepath.Join(dir, "*.txt"), tomcatProcessors("")+
		`      - drop: {if: {field: http.response.status_code, equals: "304"}}
`, fileOutput(out))
	sample := strings.Join([]string{accessLine(0, accessTimes[0], 200), accessLine(1, accessTimes[1], 304),
		accessLine(2, accessTimes[2], 404)}, "\n") + "\n"
	cmd := exec.Command(binary, "test-processors", "-c", cfg, "--input", "tomcat")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(sample)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("test-processors: %v\n%s", err, stderr.String())
	}
	evs := readEventsFrom[map[string]any](t, stdout.Bytes())
	if len(evs) != 2 {
		t.Fatalf("printed %d events, want 2:\n%s", len(evs), stdout.String())
	}
	for k, i := range []int{0, 2} {
		want := accessTimes[i].UTC().Format("2006-01-02T15:04:05.000000000Z")
		if ip, _ := field(evs[k], "client.ip"); evs[k]["@timestamp"] != want || ip != fmt.Sprintf("10.0.0.%d", i+1) {
			t.Errorf("event %d: @timestamp %v client.ip %v, want %s and line %d's", k, evs[k]["@timestamp"], ip, want, i+1)
		}
	}
	if !strings.Contains(stderr.String(), "line 2: dropped") {
		t.Errorf("stderr does not note the dropped line 2:\n%s", stderr.String())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "config.yaml" {
			t.Errorf("test-processors left %s behind: it must ship nothing and keep no registry", e.Name())
		}
	}

	bad := writeProcessorsConfig(t, t.TempDir(), filepath.Join(dir, "*.txt"), `    processors:
      - dissect: {pattern: '%{client.ip} [%{ts'}
`, fileOutput(out))
	outp, err := exec.Command(binary, "validate", "-c", bad).CombinedOutput()
	if code := exitCode(err); code != 2 || !strings.Contains(string(outp), "config.yaml:6:") ||
		!strings.Contains(string(outp), "log_files[0].processors[0].dissect.pattern") {
		t.Fatalf("validate of a bad dissect pattern: exit %d, output:\n%s\nwant exit 2 naming line 6 and the field",
			code, outp)
	}
}

// readEventsFrom decodes one JSON event per line of b.
func readEventsFrom[T any](t *testing.T, b []byte) []T {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.ndjson")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return readEvents[T](t, path)
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// TestProcessorsOnAnHTTPSource: a push source's events go through their input's processors too (the
// TryPublisher path): dropped ones are answered as delivered and never shipped, the others carry the added
// field; a request whose events are all dropped is answered 200 as well.
func TestProcessorsOnAnHTTPSource(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	addr := freeAddr(t)
	cfg := writeHTTPSourceConfig(t, dir, addr, `    processors:
      - exclude_lines: ['^debug']
      - add_fields: {fields: {via: processors}}
`, fileOutput(out))
	p := start(t, dir, "-c", cfg, "--log-format", "json")
	waitListening(t, addr, p)
	url := "http://" + addr + "/"
	if a := mustPost(t, "POST", url, []byte("{\"message\":\"info 1\"}\n{\"message\":\"debug 2\"}\n{\"message\":\"info 3\"}\n")); a.status != 200 {
		t.Fatalf("mixed request answered %d %s", a.status, a.body)
	}
	if a := mustPost(t, "POST", url, []byte("{\"message\":\"debug 4\"}\n{\"message\":\"debug 5\"}\n")); a.status != 200 {
		t.Fatalf("request of dropped events only answered %d %s", a.status, a.body)
	}
	p.stop()
	evs := readEvents[map[string]any](t, out)
	var got []string
	for _, ev := range evs {
		got = append(got, fmt.Sprint(ev["message"]))
		if ev["via"] != "processors" {
			t.Errorf("event %q without the added field: %v", ev["message"], ev)
		}
	}
	if strings.Join(got, ",") != "info 1,info 3" {
		t.Fatalf("shipped %v, want info 1 and info 3", got)
	}
}
