package main_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sinks/elasticsearch/estest"
)

// TestElasticsearchAnswersReadByTheBinary: the binary reads Elasticsearch's _bulk answers with jsontext. An item
// error whose reason holds escapes, a surrogate pair and a lone surrogate, after members it skips and before a
// late errors flag, reaches the dead letter decoded as encoding/json decodes it, with its cause; an answer cut
// short, though it starts with "errors":false, retries the batch, which is then indexed once.
func TestElasticsearchAnswersReadByTheBinary(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, answer string
		indexed      int    // times the line is in Elasticsearch at the end
		deadReason   string // the dead letter's reason; "" for none
		logged       string // in the logs
	}{
		{"item error", `{"took":3,"x":[{"a":[1,"]}"]},null],"items":[{"create":{"_index":"logs-app","_id":"i",` +
			`"status":400,"error":{"type":"mapper_parsing_exception","reason":"caf\u00e9 \"x\" \ud83d\ude00 \ud800",` +
			`"caused_by":{"type":"illegal_argument_exception","reason":"For input string: \"OK\""}}}}],"errors":true}`,
			0, "output es: elasticsearch item status 400: mapper_parsing_exception: café \"x\" 😀 \uFFFD " +
				"(caused by illegal_argument_exception: For input string: \"OK\")", ""},
		{"cut answer", `{"errors":false,"items":[{"create":{"status":201}}`, 1, "", "malformed _bulk response"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			es := estest.Start(t, estest.Options{})
			es.AnswerNext(200, tt.answer)
			logPath := filepath.Join(dir, "app.log")
			appendLines(t, logPath, "j", 0, 1)
			deadPath := filepath.Join(dir, "dead.ndjson")
			cfg := writeOutputsConfig(t, dir, logPath, fmt.Sprintf(`  - type: elasticsearch
    name: es
    hosts: [%q]
    index: logs-app
    retry: {initial: 10ms, max: 100ms}
    dead_letter: {path: %q}
`, es.URL(), deadPath), "")
			p := start(t, dir, "-c", cfg, "--once", "--log-format", "json")
			if code := p.wait(time.Minute); code != 0 {
				t.Fatalf("exit %d:\n%s", code, p.logs())
			}
			if n := es.Indexed()[line("j", 0)]; n != tt.indexed {
				t.Errorf("the line is indexed %d times, want %d:\n%s", n, tt.indexed, p.logs())
			}
			var reasons []string
			for _, d := range readEvents[deadLettered](t, deadPath) {
				if d.DeadLetter == nil {
					t.Fatalf("a dead-letter record without its reason: %+v", d)
				}
				reasons = append(reasons, d.DeadLetter.Reason)
			}
			var want []string
			if tt.deadReason != "" {
				want = []string{tt.deadReason}
			}
			if !slices.Equal(reasons, want) {
				t.Errorf("dead-letter reasons %q, want %q", reasons, want)
			}
			if !strings.Contains(p.stderr.String(), tt.logged) {
				t.Errorf("the logs do not say %q:\n%s", tt.logged, p.logs())
			}
		})
	}
}
