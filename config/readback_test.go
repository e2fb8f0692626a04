package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestOutputReadByInput: a file output or a dead-letter file (or one of their rotated names) that an input's glob
// matches is refused at the path field's line, naming the output and its path, the input and its glob; excluded,
// elsewhere or not rotated, it is fine. Symbolic links of existing directories are resolved on both sides.
func TestOutputReadByInput(t *testing.T) {
	root := t.TempDir()
	logs := filepath.Join(root, "data", "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	varLog := filepath.Join(root, "var-log") // var-log -> data/logs, as /var/log -> /data/logs
	if err := os.Symlink(logs, varLog); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(root, "flicker")

	tests := []struct {
		name    string
		glob    string
		exclude string // the input's exclude list, YAML
		output  string // the outputs entry after "  - type: ...", YAML at four spaces
		// For a refused config: the error's line and field, and what the message names.
		line  int
		field string
		want  []string
	}{
		{name: "inside the glob", glob: logs + "/*.log", output: "type: file\n    name: archive\n    path: " + logs + "/out.log\n",
			line: 7, field: "outputs[0].path",
			want: []string{`output "archive" writes ` + logs + "/out.log", `input "app"`, `"` + logs + `/*.log"`,
				"log_files[0].paths[0]", "exclude"}},
		{name: "** reaches a subdirectory", glob: root + "/data/**", output: "type: file\n    path: " + logs + "/sub/out.ndjson\n",
			line: 6, field: "outputs[0].path", want: []string{`output "file"`, root + "/data/**"}},
		{name: "rotated name inside the glob",
			glob:   logs + "/*.1",
			output: "type: file\n    name: archive\n    path: " + logs + "/out.ndjson\n    rotate_bytes: 1000\n",
			line:   7, field: "outputs[0].path",
			want: []string{`output "archive" rotates ` + logs + "/out.ndjson to " + logs + "/out.ndjson.1"}},
		{name: "not rotated: no rotated name", glob: logs + "/*.1",
			output: "type: file\n    path: " + logs + "/out.ndjson\n"},
		{name: "dead letter inside the glob", glob: logs + "/*",
			output: "type: discard\n    name: es\n    dead_letter: {path: " + logs + "/dead.ndjson}\n",
			line:   7, field: "outputs[0].dead_letter.path",
			want: []string{`the dead letter of output "es" writes ` + logs + "/dead.ndjson"}},
		{name: "dead letter rotated inside the glob", glob: logs + "/*.3",
			output: "type: discard\n    name: es\n    dead_letter:\n      path: " + logs + "/dead.ndjson\n",
			line:   8, field: "outputs[0].dead_letter.path",
			want: []string{"rotates " + logs + "/dead.ndjson to " + logs + "/dead.ndjson.3"}},
		{name: "dead letter rotated beyond max_files", glob: logs + "/*.3",
			output: "type: discard\n    dead_letter: {path: " + logs + "/dead.ndjson, max_files: 2}\n"},
		{name: "excluded by base name", glob: logs + "/*", exclude: `["out.ndjson*"]`,
			output: "type: file\n    path: " + logs + "/out.ndjson\n    rotate_bytes: 1000\n"},
		{name: "excluded by full path", glob: logs + "/*", exclude: fmt.Sprintf("[%q]", logs+"/out.*"),
			output: "type: file\n    path: " + logs + "/out.ndjson\n"},
		{name: "excluded but not its rotated names", glob: logs + "/*", exclude: `["*.ndjson"]`,
			output: "type: file\n    path: " + logs + "/out.ndjson\n    rotate_bytes: 1000\n",
			line:   6, field: "outputs[0].path", want: []string{"to " + logs + "/out.ndjson.1"}},
		{name: "different directory", glob: logs + "/*.log", output: "type: file\n    path: " + other + "/out.log\n"},
		{name: "uncleaned path", glob: logs + "/*.log",
			output: "type: file\n    path: " + root + "/data/./other/../logs//out.log\n",
			line:   6, field: "outputs[0].path", want: []string{"as " + logs + "/out.log"}},
		{name: "glob through a symlinked directory", glob: varLog + "/*.log",
			output: "type: file\n    path: " + logs + "/out.log\n",
			line:   6, field: "outputs[0].path",
			want: []string{"writes " + logs + "/out.log", "reads as " + varLog + "/out.log", varLog + "/*.log"}},
		{name: "output through a symlinked directory", glob: logs + "/*.log",
			output: "type: file\n    path: " + varLog + "/new/../out.log\n",
			line:   6, field: "outputs[0].path", want: []string{"reads as " + logs + "/out.log"}},
		{name: "excluded through a symlinked directory", glob: varLog + "/*.log",
			exclude: fmt.Sprintf("[%q]", varLog+"/out.log"),
			output:  "type: file\n    path: " + logs + "/out.log\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exclude := ""
			if tt.exclude != "" {
				exclude = "\n    exclude: " + tt.exclude
			}
			doc := fmt.Sprintf("log_files:\n  - name: app\n    paths: [%q]%s\noutputs:\n  - %s", tt.glob, exclude,
				tt.output)
			if tt.exclude != "" {
				tt.line++
			}
			if tt.field == "" {
				mustParse(t, doc)
				return
			}
			requireOneError(t, doc, tt.line, tt.field, tt.want...)
		})
	}
}

// TestOutputReadByInputRelative: relative paths are resolved against the working directory, as the file source
// and the file output resolve them.
func TestOutputReadByInputRelative(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	requireOneError(t, "log_files:\n  - name: app\n    paths: [\"logs/*.log\"]\noutputs:\n  - type: file\n    path: logs/out.log\n",
		6, "outputs[0].path", `writes logs/out.log`, "reads as "+filepath.Join(dir, "logs", "out.log"), `"logs/*.log"`)
	requireOneError(t, fmt.Sprintf("log_files:\n  - name: app\n    paths: [%q]\noutputs:\n  - type: file\n    path: out.log\n",
		filepath.Join(dir, "*.log")), 6, "outputs[0].path", "reads as "+filepath.Join(dir, "out.log"))
	mustParse(t, "log_files:\n  - name: app\n    paths: [\"logs/*.log\"]\noutputs:\n  - type: file\n    path: out/out.log\n")
}
