package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/processors"
)

// README (Processing): test-processors adds "the input's configured `fields`". A docker_containers input takes
// `fields` (container.Tailing) and its source renders them (file.Source's Input.FieldsJSON), but the sample's
// event of a container input has none.
// flicker test-processors makes events as the input would: with its configured fields (which win over a
// processor's) and its input.type, for every input kind that has fields.
func TestSampleEventsCarryTheInputsFields(t *testing.T) {
	for _, kind := range []string{"log_files", "docker_containers", "kubernetes"} {
		t.Run(kind, func(t *testing.T) {
			yaml := kind + ":\n  - name: app\n"
			if kind == "log_files" {
				yaml += "    paths: [\"/tmp/x/*.log\"]\n"
			}
			yaml += "    fields: {env: prod}\n    processors:\n      - add_fields: {fields: {team: a}}\n" +
				"outputs:\n  - type: stdout\n"
			cfg, err := loadConfig("", yaml)
			if err != nil {
				t.Fatal(err)
			}
			in, err := sampleInput(cfg, "app")
			if err != nil {
				t.Fatal(err)
			}
			chain, err := processors.Build("app", cfg.Processors["app"])
			if err != nil {
				t.Fatal(err)
			}
			var out, notes bytes.Buffer
			if err := runSample(strings.NewReader("hello\n"), &out, &notes, in, chain); err != nil {
				t.Fatal(err)
			}
			var ev map[string]any
			if err := json.Unmarshal(out.Bytes(), &ev); err != nil {
				t.Fatalf("%v: %s", err, out.Bytes())
			}
			fields, _ := ev["fields"].(map[string]any)
			if fields["env"] != "prod" {
				t.Fatalf("%s input: the configured fields.env is missing from the sample's event: %s", kind, out.Bytes())
			}
			input, _ := ev["input"].(map[string]any)
			want := map[string]string{"log_files": "file", "docker_containers": "container", "kubernetes": "kubernetes"}
			if input["type"] != want[kind] {
				t.Errorf("%s input: input.type %v, want %s as its events have", kind, input["type"], want[kind])
			}
		})
	}
}
