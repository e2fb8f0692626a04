package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProcessorsFastPathsMixedLines runs nginx lines through dissect + timestamp and JSON lines through
// parse_json + timestamp, in the built binary, with lines whose fields change from one to the next (a typed
// "-" left out, members in another order, a nested object, escapes, repeated times): the chain's fast paths
// (keys as the last event's, the last layout rendered, the last time parsed) must give every event its own
// fields, each name once.
func TestProcessorsFastPathsMixedLines(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")

	type want struct {
		time   string
		fields map[string]any // dotted path: value; nil for a path that must be missing
	}
	wants := map[string]want{}
	base := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

	var nginx strings.Builder
	for i := range 30 {
		at := base.Add(time.Duration(i/3) * time.Second) // three lines a second: the same text repeats
		bytesField, bytesWant := fmt.Sprint(100+i), any(float64(100+i))
		if i%4 == 1 {
			bytesField, bytesWant = "-", nil
		}
		agent := fmt.Sprintf("agent/%d", i)
		if i%5 == 2 {
			agent = "back \\ slash, tab \t, ctl \x01, é" // escaped when rendered
		}
		l := fmt.Sprintf(`10.0.0.%d - u%d [%s] "GET /p/%d HTTP/1.1" 200 %s "-" "%s"`, i, i,
			at.Format("02/Jan/2006:15:04:05 -0700"), i, bytesField, agent)
		nginx.WriteString(l + "\n")
		wants[l] = want{at.Format("2006-01-02T15:04:05.000000000Z"), map[string]any{
			"source.address": fmt.Sprintf("10.0.0.%d", i), "user.name": fmt.Sprintf("u%d", i),
			"url.original": fmt.Sprintf("/p/%d", i), "http.response.status_code": float64(200),
			"http.response.body.bytes": bytesWant, "user_agent.original": agent, "nginx.time": nil,
		}}
	}
	var app strings.Builder
	for i := range 30 {
		at := base.Add(time.Duration(i) * time.Millisecond)
		ts := at.Format(time.RFC3339Nano)
		var l string
		fields := map[string]any{"level": "info", "time": nil, "seq": float64(i)}
		switch i % 4 {
		case 0:
			l = fmt.Sprintf(`{"time":%q,"note":"a\tb","level":"info","msg":"m%d","who":"c\"d","seq":%d}`, ts, i, i)
			fields["note"], fields["who"] = "a\tb", `c"d`
		case 1:
			l = fmt.Sprintf(`{"seq":%d,"msg":"m%d","level":"info","time":%q}`, i, i, ts)
		case 2:
			l = fmt.Sprintf(`{"time":%q,"level":"info","msg":"m%d","seq":%d,"http":{"request":{"method":"GET"},"method":"PUT","path":"/a\"b"}}`, ts, i, i)
			fields["http.request.method"], fields["http.method"], fields["http.path"] = "GET", "PUT", `/a"b`
		case 3:
			l = fmt.Sprintf(`{"time":%q,"level":"in\u0066o","msg":"m%d","seq":%d,"http":{"method":"GET","method":"PUT"}}`, ts, i, i)
			fields = map[string]any{"level": nil, "http": nil} // a name twice: shipped unparsed
			wants[l] = want{"", fields}
			app.WriteString(l + "\n")
			continue
		}
		app.WriteString(l + "\n")
		// The message is replaced by the object's message member, which it has none of: found by msg.
		wants[fmt.Sprintf("m%d", i)] = want{at.Format("2006-01-02T15:04:05.000000000Z"), fields}
	}
	for name, text := range map[string]string{"nginx.log": nginx.String(), "app.json": app.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fmt.Sprintf(`log_files:
  - name: nginx
    paths: [%q]
    processors:
      - dissect: {pattern: '%%{source.address} - %%{user.name} [%%{nginx.time}] "%%{http.request.method} %%{url.original} %%{http.version}" %%{http.response.status_code|long} %%{http.response.body.bytes|long} "%%{http.request.referrer}" "%%{user_agent.original}"'}
      - timestamp: {field: nginx.time, layouts: ["02/Jan/2006:15:04:05 -0700"], remove: true}
  - name: app
    paths: [%q]
    processors:
      - parse_json: {target: ""}
      - timestamp: {field: time, layouts: [RFC3339Nano], remove: true}
outputs:
%sbatch:
  max_wait: 20ms
`, filepath.Join(dir, "nginx.log"), filepath.Join(dir, "app.json"), fileOutput(out))
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, dir, "-c", cfgPath, "--once", "--log-format", "json")
	if code := p.wait(time.Minute); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.logs())
	}

	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
		if dups, err := duplicateKeys(l); err != nil || len(dups) > 0 {
			t.Errorf("names twice %v (%v) in %s", dups, err, l)
		}
	}
	evs := readEvents[map[string]any](t, out)
	if len(evs) != len(wants) {
		t.Fatalf("%d events, want %d:\n%s", len(evs), len(wants), p.logs())
	}
	for _, ev := range evs {
		msg, _ := ev["message"].(string)
		if m, ok := ev["msg"].(string); ok && msg == "" {
			msg = m
		}
		w, ok := wants[msg]
		if !ok {
			t.Errorf("unexpected message %q", msg)
			continue
		}
		delete(wants, msg)
		if w.time != "" && ev["@timestamp"] != w.time {
			t.Errorf("%q: @timestamp %v, want %s", msg, ev["@timestamp"], w.time)
		}
		for path, v := range w.fields {
			got, found := field(ev, path)
			if v == nil && found || v != nil && got != v {
				enc, _ := json.Marshal(ev)
				t.Errorf("%q: %s = %#v (found %v), want %#v in %s", msg, path, got, found, v, enc)
			}
		}
	}
}
