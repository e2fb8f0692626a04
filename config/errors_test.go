package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/config"
)

// wantErr is one expected problem. msg is the exact message, or "" where the message belongs to another
// package's Validate (then only its position and path are this package's business).
type wantErr struct {
	line, column int
	path, msg    string
}

func TestParseErrors(t *testing.T) {
	// Variables the env cases need unset, whatever the environment running the tests holds.
	for _, name := range []string{"FLICKER_TEST_UNSET", "FLICKER_TEST_UNSET2", "NODE_NAME"} {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
	const durationWant = `expected a duration such as "5s" or "200ms", got `
	tests := []struct {
		file string
		want []wantErr
	}{
		{"unknown_keys.yaml", []wantErr{
			{6, 7, "log_files[0].multiline", `unknown key "negat" (did you mean "negate"?)`},
			{7, 5, "log_files[0]", `unknown key "colour"`},
			{10, 5, "log_files[1]", `unknown key "exlude" (did you mean "exclude"?)`},
			{13, 5, "outputs[0]", `unknown key "path" (an output of type stdout takes only type, name, retry, dead_letter)`},
			{14, 13, "outputs[0].retry", `unknown key "intial" (did you mean "initial"?)`},
			{18, 5, "outputs[1]", `unknown key "rotate_byte" (did you mean "rotate_bytes"?)`},
			{19, 36, "outputs[1].dead_letter", `unknown key "max_file" (did you mean "max_files"?)`},
			{20, 1, "", `unknown key "ouputs" (did you mean "outputs"?)`},
		}},
		{"wrong_types.yaml", []wantErr{
			{3, 12, "log_files[0].paths", `expected a list, got "/var/log/app.log"`},
			{4, 21, "log_files[0].max_line_bytes", `expected an integer, got "lots"`},
			{7, 15, "log_files[0].multiline.negate", `expected true or false, got "maybe"`},
			{8, 18, "log_files[0].multiline.max_lines", `integer "99999999999999999999" is out of range`},
			{9, 13, "log_files[0].fields", `expected a mapping, got a list`},
			{12, 5, "outputs[1]", `expected a mapping, got "discard"`},
			{13, 8, "batch", `expected a mapping, got "100"`},
		}},
		{"missing_required.yaml", []wantErr{
			{2, 5, "log_files[0].name", "required: every input needs a name, unique across inputs (read positions are stored under it)"},
			{3, 5, "log_files[1].name", "required: every input needs a name, unique across inputs (read positions are stored under it)"},
			{6, 5, "outputs[0].type", "required: one of stdout, file, http, elasticsearch, s3, discard"},
			{7, 5, "outputs[1].type", `unknown output type "kafka" (known: stdout, file, http, elasticsearch, s3, discard)`},
		}},
		{"env_unset.yaml", []wantErr{
			{5, 9, "log_files[0].paths[1]", "environment variable FLICKER_TEST_UNSET is not set (set it, or give a default: ${FLICKER_TEST_UNSET:-default})"},
			{6, 15, "log_files[0].timezone", `unterminated "${" (write "$$" for a literal "$")`},
			{7, 15, "log_files[0].encoding", `invalid variable reference "${1BAD}": expected ${NAME} or ${NAME:-default}`},
			{10, 11, "outputs[0].name", "environment variable FLICKER_TEST_UNSET2 is not set (set it, or give a default: ${FLICKER_TEST_UNSET2:-default})"},
		}},
		{"bad_durations.yaml", []wantErr{
			{4, 20, "log_files[0].scan_interval", durationWant + `"5"`},
			{7, 16, "log_files[0].multiline.timeout", durationWant + `"soon"`},
			{11, 16, "outputs[0].retry.initial", durationWant + `"fast"`},
			{13, 13, "batch.max_wait", durationWant + `"10 ms"`},
		}},
		// From the file source's Validate: this package adds the path prefix and the field's line.
		{"bad_regexp.yaml", []wantErr{{5, 7, "log_files[0].multiline.pattern", ""}}},
		{"reserved_field.yaml", []wantErr{{7, 7, "log_files[0].fields.message", ""}}},
		{"duplicates.yaml", []wantErr{
			{6, 5, "log_files[2].name", `duplicate input name "app" (also log_files[0]): input names must be unique across inputs`},
			{8, 5, "log_files[2].paths", `duplicate key "paths" (first at line 7)`},
			{11, 5, "outputs[1].name", `duplicate output name "stdout" (also outputs[0]; an output's name defaults to its type): give each output its own name`},
			{15, 5, "outputs[3].name", `duplicate output name "sink" (also outputs[2]): give each output its own name`},
		}},
		{"dead_letter_errors.yaml", []wantErr{
			{7, 19, "outputs[0].dead_letter.output", "dead-letter cycle a -> b -> c -> a: a chain of dead letters must end in a file or an output without dead_letter"},
			{16, 19, "outputs[3].dead_letter.output", "names this output itself: name another output, or use path for a dead-letter file"},
			{19, 19, "outputs[4].dead_letter.output", `no output named "nowhere" (outputs: a, b, c, self, lost, both, neither)`},
			{22, 5, "outputs[5].dead_letter", "set either output (another output's name) or path (a dead-letter file, with max_bytes, max_files and mode), not both"},
			{25, 5, "outputs[6].dead_letter", "set path (a dead-letter file) or output (another output's name)"},
		}},
		{"bounds.yaml", []wantErr{
			{6, 26, "outputs[0].retry.max", "must be at least retry.initial (2s)"},
			{8, 36, "outputs[1].dead_letter.max_bytes", "must be positive, got 0"},
			{10, 3, "batch.max_events", "must be positive, got 0"},
			{12, 3, "batch.max_wait", "must be positive, got -1s"},
			{14, 3, "queue.max_bytes", "must be at least batch.max_bytes (8388608): a full batch has to fit in the queue"},
			{17, 5, "docker_containers[0].join_timeout", "must be positive, not -1s"},
		}},
		// metadata: api's settings, checked by the pod watcher's Validate under this entry's names.
		{"kubernetes_api.yaml", []wantErr{
			{5, 5, "kubernetes[0].node", "is empty and NODE_NAME is not set: give this node's name; in a pod set env NODE_NAME from the downward API (fieldRef spec.nodeName), or node: ${NODE_NAME}"},
			{7, 19, "kubernetes[0].annotations[0]", "is empty: give an annotation key such as app.kubernetes.io/version"},
			{8, 5, "kubernetes[0].metadata_wait", "is negative (-1s): give a duration such as 2s, or leave it out for the default"},
			{10, 7, "kubernetes[0].api.host", `"ftp://api" is not an http(s) URL: give the API server as https://host:port`},
		}},
		{"syntax.yaml", []wantErr{{2, 0, "", "invalid YAML: did not find expected ',' or ']'"}}},
		{"empty.yaml", []wantErr{
			{0, 0, "log_files", "no inputs: add at least one entry under log_files, docker_containers, kubernetes, api_sources, syslog_sources or http_sources"},
			{0, 0, "outputs", "no outputs: add at least one entry under outputs (type: stdout, file, http, elasticsearch, s3, discard)"},
		}},
		{"two_documents.yaml", []wantErr{{6, 1, "", `a second YAML document: a config file holds one (remove the "---" separator)`}}},
		{"not_a_mapping.yaml", []wantErr{{1, 1, "", "expected a mapping of top-level keys (log_files, docker_containers, kubernetes, api_sources, syslog_sources, http_sources, outputs, batch, queue), got a list"}}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			c, err := config.Parse(data, tt.file)
			if c != nil {
				t.Errorf("Parse returned a config along with errors")
			}
			assertErrors(t, tt.file, err, tt.want)
		})
	}
}

// Problems inside a YAML string given inline, where a file would be overkill.
func TestParseErrorsInline(t *testing.T) {
	const input = "log_files:\n  - name: app\n    paths: [/x]\n"
	tests := []struct {
		name, yaml string
		want       []wantErr
	}{
		{"non-string key", input + "outputs:\n  - type: stdout\n    [a]: b\n",
			[]wantErr{{6, 5, "outputs[0]", "a key must be a string, got a list"}}},
		{"bad merge", input + "outputs:\n  - type: stdout\n    <<: [1]\n",
			[]wantErr{{6, 5, "outputs[0]", "<< must be given a mapping or a list of mappings"}}},
		{"file output without type-specific key of another type", input + "outputs:\n  - type: discard\n    rotate_bytes: 5\n",
			[]wantErr{{6, 5, "outputs[0]", `unknown key "rotate_bytes" (an output of type discard takes only type, name, retry, dead_letter)`}}},
		// From the file sink's Validate: a file output needs a path; absent, it is located at the entry.
		{"file output without path", input + "outputs:\n  - type: file\n    name: archive\n",
			[]wantErr{{5, 5, "outputs[0].path", ""}}},
		{"batch larger than default queue", input + "outputs: [{type: stdout}]\nbatch: {max_bytes: 67108864}\n",
			[]wantErr{{5, 9, "batch.max_bytes", "must not exceed queue.max_bytes (33554432): a full batch has to fit in the queue"}}},
		{"string where a mapping belongs", input + "outputs: [{type: stdout, retry: 5s}]\n",
			[]wantErr{{4, 33, "outputs[0].retry", `expected a mapping, got "5s"`}}},
		{"self-referencing alias", input + "outputs: &o [{type: stdout, dead_letter: *o}]\n",
			[]wantErr{{4, 42, "outputs[0].dead_letter", "expected a mapping, got a list"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.yaml), "inline.yaml")
			assertErrors(t, "inline.yaml", err, tt.want)
		})
	}
}

// Alias bombs are cut off by the alias budget instead of running for hours, and the budget error is the only
// one reported.
func TestParseAliasBomb(t *testing.T) {
	var deep strings.Builder // each level merges the one below twice
	deep.WriteString("log_files:\n  - name: app\n    paths: [/x]\n    fields: &a0 {k: v}\n")
	for i := 1; i <= 40; i++ {
		prev := "*a" + itoa(i-1)
		deep.WriteString("  - name: n" + itoa(i) + "\n    paths: [/x]\n    fields: &a" + itoa(i) + " {<<: [" + prev + ", " + prev + "]}\n")
	}
	var wide strings.Builder // one large anchor used many times
	wide.WriteString("log_files:\n  - name: n0\n    paths: &big [")
	for i := range 2000 {
		wide.WriteString("/p" + itoa(i) + ", ")
	}
	wide.WriteString("/last]\n")
	for i := 1; i <= 2000; i++ {
		wide.WriteString("  - {name: n" + itoa(i) + ", paths: *big}\n")
	}
	for name, yaml := range map[string]string{"deep": deep.String(), "wide": wide.String()} {
		t.Run(name, func(t *testing.T) {
			_, err := config.Parse([]byte(yaml), "bomb.yaml")
			var errs config.Errors
			if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Msg != "too many alias expansions: write the repeated parts out" {
				t.Fatalf("Parse(alias bomb) = %v, want only a too many alias expansions error", err)
			}
		})
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func assertErrors(t *testing.T, file string, err error, want []wantErr) {
	t.Helper()
	var errs config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse error = %v (%T), want config.Errors", err, err)
	}
	if len(errs) != len(want) {
		t.Errorf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for i := range min(len(errs), len(want)) {
		g, w := errs[i], want[i]
		if g.File != file || g.Line != w.line || g.Column != w.column || g.Path != w.path || (w.msg != "" && g.Msg != w.msg) {
			t.Errorf("error %d = %s:%d:%d %q %q\nwant      %s:%d:%d %q %q", i, g.File, g.Line, g.Column, g.Path, g.Msg,
				file, w.line, w.column, w.path, w.msg)
		}
	}
}
