package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sinks/elasticsearch/estest"
)

// Dead letters through the binary (README: every output's optional dead_letter, a rotating file or another output
// by name): an Elasticsearch that maps "message" as long refuses every line that is not a number with a 400
// mapping error per item, and accepts the others.

const (
	deadLetterLines = 200
	deadLetterBad   = 20 // lines k with k%10 == 3
)

// deadLetterLog writes the log of the dead-letter tests at path and returns the byte offset of each refused line.
func deadLetterLog(t *testing.T, path string) (badOffsets map[int64]string) {
	t.Helper()
	var b bytes.Buffer
	badOffsets = map[int64]string{}
	for k := range deadLetterLines {
		if k%10 == 3 {
			badOffsets[int64(b.Len())] = deadLetterLine(k)
		}
		b.WriteString(deadLetterLine(k) + "\n")
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return badOffsets
}

// deadLetterLine is line k: a number, or for every tenth line from the fourth on a text the long mapping refuses.
func deadLetterLine(k int) string {
	if k%10 == 3 {
		return fmt.Sprintf("not a number %d", k)
	}
	return strconv.Itoa(100000 + k)
}

// deadLettered is a line of a dead-letter file: the event and why it was rejected.
type deadLettered struct {
	Message string `json:"message"`
	Input   struct {
		Name string `json:"name"`
	} `json:"input"`
	Log struct {
		Offset int64 `json:"offset"`
	} `json:"log"`
	DeadLetter *struct {
		Reason string `json:"reason"`
	} `json:"dead_letter"`
}

// waitMetrics polls /metrics at addr until it holds every sample of want.
func waitMetrics(t *testing.T, addr string, want []string, p *proc) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var body string
	for {
		code, b, err := get("http://" + addr + "/metrics")
		body = b
		missing := ""
		for _, w := range want {
			if !strings.Contains(b, w+"\n") {
				missing = w
				break
			}
		}
		if err == nil && code == 200 && missing == "" {
			return
		}
		if time.Now().After(deadline) {
			var samples []string
			for _, l := range strings.Split(body, "\n") {
				if strings.HasPrefix(l, "flicker_output_") || strings.HasPrefix(l, "flicker_pipeline_") {
					samples = append(samples, l)
				}
			}
			t.Fatalf("timed out waiting for %q in /metrics (%v); output samples:\n%s\nlogs:\n%s", missing, err,
				strings.Join(samples, "\n"), p.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDeadLetters: an elasticsearch output whose server refuses some items for good (400, a mapping error).
// Every accepted line is in Elasticsearch once; the refused ones go to the dead letter with Elasticsearch's reason
// (a file, or another output by name), or with no dead letter are counted and logged with their input, path and
// offset. Either way the checkpoint moves past them to the end of the file, /metrics counts them, and a restart
// sends nothing again.
func TestDeadLetters(t *testing.T) {
	t.Parallel()
	const reason = "output es: elasticsearch item status 400: mapper_parsing_exception: failed to parse field " +
		"[message] of type [long]"
	tests := []struct {
		name string
		// deadLetter is the es output's dead_letter entry and any other output, given the test's folder.
		deadLetter func(dir string) string
		metrics    []string
		// check inspects what the dead letter holds (or the logs, without one).
		check func(t *testing.T, dir, logPath string, bad map[int64]string, p *proc)
	}{
		{"file", func(dir string) string {
			return fmt.Sprintf("    dead_letter: {path: %q}\n", filepath.Join(dir, "dead.ndjson"))
		}, []string{
			`flicker_output_events_dead_lettered_total{output="es"} 20`,
			`flicker_output_events_dropped_total{output="es"} 0`,
		}, func(t *testing.T, dir, _ string, bad map[int64]string, _ *proc) {
			checkDeadLetters(t, readEvents[deadLettered](t, filepath.Join(dir, "dead.ndjson")), bad, reason)
		}},
		{"output by name", func(dir string) string {
			return fmt.Sprintf("    dead_letter: {output: dead}\n  - type: file\n    name: dead\n    path: %q\n",
				filepath.Join(dir, "dead.ndjson"))
		}, []string{
			`flicker_output_events_dead_lettered_total{output="es"} 20`,
			`flicker_output_dead_letters_accepted_total{output="dead"} 20`,
			`flicker_output_events_total{output="dead"} 200`,
		}, func(t *testing.T, dir, _ string, bad map[int64]string, _ *proc) {
			// The file output is an output too: it has every event, and the dead letters of es besides.
			var dead []deadLettered
			plain := 0
			for _, ev := range readEvents[deadLettered](t, filepath.Join(dir, "dead.ndjson")) {
				if ev.DeadLetter != nil {
					dead = append(dead, ev)
				} else {
					plain++
				}
			}
			if plain != deadLetterLines {
				t.Fatalf("the dead output has %d events of its own, want %d", plain, deadLetterLines)
			}
			checkDeadLetters(t, dead, bad, reason)
		}},
		{"none", func(string) string { return "" }, []string{
			`flicker_output_events_dropped_total{output="es"} 20`,
			`flicker_output_events_dead_lettered_total{output="es"} 0`,
		}, func(t *testing.T, _, logPath string, bad map[int64]string, p *proc) {
			logged := 0
			for l := range strings.Lines(p.stderr.String()) {
				var e struct {
					Message, Input, Path, Output, Error string
					Offset                              *int64
				}
				if json.Unmarshal([]byte(l), &e) != nil ||
					e.Message != "event rejected and no dead letter configured: dropped" {
					continue
				}
				if e.Input != "app" || e.Path != logPath || e.Offset == nil || bad[*e.Offset] == "" ||
					e.Output != "es" || !strings.Contains(e.Error, "mapper_parsing_exception") {
					t.Fatalf("drop logged as %s", l)
				}
				// start's checkLogKeys checks that the line holds each key once.
				logged++
			}
			if logged == 0 {
				t.Fatalf("no dropped event logged:\n%s", p.logs())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			es := estest.Start(t, estest.Options{LongFields: []string{"message"}})
			logPath := filepath.Join(dir, "app.log")
			bad := deadLetterLog(t, logPath)
			cfg := writeOutputsConfig(t, dir, logPath, fmt.Sprintf(`  - type: elasticsearch
    name: es
    hosts: [%q]
    index: logs-app
    retry: {initial: 10ms, max: 100ms}
%s`, es.URL(), tt.deadLetter(dir)), "")
			reg := filepath.Join(dir, "reg.db")
			addr := freeAddr(t)
			p := start(t, dir, "-c", cfg, "--registry-file", reg, "--http-addr", addr, "--log-format", "json")
			waitMetrics(t, addr, append([]string{
				`flicker_output_events_total{output="es"} 180`,
				`flicker_output_events_rejected_total{output="es"} 20`,
				`flicker_pipeline_events_acknowledged_total 200`,
			}, tt.metrics...), p)
			p.stop()

			indexed := es.Indexed()
			for k := range deadLetterLines {
				want := 1
				if k%10 == 3 {
					want = 0
				}
				if n := indexed[deadLetterLine(k)]; n != want {
					t.Fatalf("line %d indexed %d times, want %d", k, n, want)
				}
			}
			tt.check(t, dir, logPath, bad, p)
			st, err := os.Stat(logPath)
			if err != nil {
				t.Fatal(err)
			}
			if off := committedOffset(t, reg, logPath); off != st.Size() {
				t.Fatalf("committed offset %d, want the end of the file %d", off, st.Size())
			}

			requests := es.Requests()
			before, _ := os.ReadFile(filepath.Join(dir, "dead.ndjson"))
			p2 := start(t, dir, "-c", cfg, "--registry-file", reg, "--once", "--log-format", "json")
			if code := p2.wait(time.Minute); code != 0 {
				t.Fatalf("restart exited %d:\n%s", code, p2.logs())
			}
			after, _ := os.ReadFile(filepath.Join(dir, "dead.ndjson"))
			if es.Requests() != requests || !bytes.Equal(before, after) {
				t.Fatalf("the restart sent again: %d requests after %d, dead letter file %d bytes after %d",
					es.Requests(), requests, len(after), len(before))
			}
		})
	}
}

// checkDeadLetters: the dead letters are exactly the refused lines, once each, at their offsets, with the reason.
func checkDeadLetters(t *testing.T, dead []deadLettered, bad map[int64]string, reason string) {
	t.Helper()
	if len(dead) != deadLetterBad {
		t.Fatalf("%d dead letters, want %d", len(dead), deadLetterBad)
	}
	seen := map[int64]bool{}
	for _, d := range dead {
		if bad[d.Log.Offset] != d.Message || seen[d.Log.Offset] || d.Input.Name != "app" {
			t.Fatalf("dead letter %+v: not a refused line, or twice", d)
		}
		seen[d.Log.Offset] = true
		if d.DeadLetter == nil || !strings.HasPrefix(d.DeadLetter.Reason, reason) ||
			!strings.Contains(d.DeadLetter.Reason, "'"+d.Message+"'") {
			t.Fatalf("dead letter of %q has reason %+v, want %q... with the value", d.Message, d.DeadLetter, reason)
		}
	}
}
