package config_test

import (
	"strings"
	"testing"

	"github.com/flickerlog/flicker/config"
)

// An explicit 0 for an input setting whose zero means "the default" is a mistake, not a request for the default
// (close_inactive: 0s does not mean "never"): an error naming the key, as for outputs and the network sources.
func TestExplicitZeroInInputsIsAnError(t *testing.T) {
	for _, tc := range []struct{ name, doc, path string }{
		{"log_files close_inactive", "log_files:\n  - name: a\n    paths: [\"/x/*.log\"]\n    close_inactive: 0s\n", "log_files[0].close_inactive"},
		{"log_files max_line_bytes", "log_files:\n  - name: a\n    paths: [\"/x/*.log\"]\n    max_line_bytes: 0\n", "log_files[0].max_line_bytes"},
		{"log_files scan_interval", "log_files:\n  - name: a\n    paths: [\"/x/*.log\"]\n    scan_interval: 0s\n", "log_files[0].scan_interval"},
		{"multiline timeout", "log_files:\n  - name: a\n    paths: [\"/x/*.log\"]\n    multiline: {pattern: x, timeout: 0s}\n", "log_files[0].multiline.timeout"},
		{"docker join_timeout", "docker_containers:\n  - name: d\n    join_timeout: 0s\n", "docker_containers[0].join_timeout"},
		{"docker multiline max_lines", "docker_containers:\n  - name: d\n    multiline: {pattern: x, max_lines: 0}\n", "docker_containers[0].multiline.max_lines"},
		{"kubernetes metadata_wait", "kubernetes:\n  - name: k\n    metadata: api\n    node: n\n    metadata_wait: 0s\n", "kubernetes[0].metadata_wait"},
		{"kubernetes max_open_files", "kubernetes:\n  - name: k\n    max_open_files: 0\n", "kubernetes[0].max_open_files"},
		{"syslog max_connections", "syslog_sources:\n  - name: s\n    address: \":1514\"\n    max_connections: 0\n", "syslog_sources[0].max_connections"},
		{"s3 max_open_objects", "log_files:\n  - name: a\n    paths: [\"/x/*.log\"]\noutputs:\n  - type: s3\n    bucket: b\n    max_open_objects: 0\n", "outputs[0].max_open_objects"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.doc
			if !strings.Contains(doc, "outputs:") {
				doc += "outputs:\n  - type: stdout\n"
			}
			_, err := config.Parse([]byte(doc), "c.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.path+": must be positive") {
				t.Errorf("explicit 0 at %s: err = %v; want one naming it", tc.path, err)
			}
		})
	}
	// Left out, the same keys take their defaults.
	if _, err := config.Parse([]byte("log_files:\n  - name: a\n    paths: [\"/x/*.log\"]\n    multiline: {pattern: x}\noutputs:\n  - type: stdout\n"), "c.yaml"); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// An output's name may not end in .dead_letter: the engine names the dead-letter file writer of output a so
// (a.dead_letter), and the two would share their /metrics series and registry entries.
func TestOutputNameLikeADeadLetterWriterIsAnError(t *testing.T) {
	doc := "log_files:\n  - name: a\n    paths: [\"/x/*.log\"]\noutputs:\n  - type: stdout\n    name: a\n" +
		"  - type: discard\n    name: a.dead_letter\n"
	if _, err := config.Parse([]byte(doc), "c.yaml"); err == nil || !strings.Contains(err.Error(), "outputs[1].name") {
		t.Errorf("an output named a.dead_letter: err = %v; want one naming outputs[1].name", err)
	}
}
