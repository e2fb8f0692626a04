package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/config"
)

const outputsYAML = `log_files:
  - name: app
    paths: ["/var/log/app/*.log"]
outputs:
  - type: http
    url: https://collector.example.com/ingest
    headers: {X-Tenant: acme}
    auth: {bearer_token: "${TOKEN:-t0ken}"}
    timeout: 5s
  - type: elasticsearch
    hosts: ["http://es1:9200", "http://es2:9200"]
    index: "logs-%{+yyyy.MM.dd}"
    api_key: secret-key
  - type: s3
    bucket: archive
    prefix: "logs/%{input}/%{+yyyy/MM/dd/HH}/"
    compression: zstd
    max_object_bytes: 1048576
    max_object_age: 10s
`

func TestParseNetworkOutputs(t *testing.T) {
	c, err := config.Parse([]byte(outputsYAML), "outputs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h, es, s3 := c.Outputs[0].HTTP, c.Outputs[1].Elasticsearch, c.Outputs[2].S3
	if h == nil || h.URL != "https://collector.example.com/ingest" || h.Headers["X-Tenant"] != "acme" ||
		h.Auth.BearerToken != "t0ken" || h.Timeout != 5*time.Second {
		t.Fatalf("http config %+v", h)
	}
	if es == nil || len(es.Hosts) != 2 || es.Index != "logs-%{+yyyy.MM.dd}" || es.APIKey != "secret-key" {
		t.Fatalf("elasticsearch config %+v", es)
	}
	if s3 == nil || s3.Bucket != "archive" || s3.Compression != "zstd" || s3.MaxObjectBytes != 1<<20 ||
		s3.MaxObjectAge != 10*time.Second {
		t.Fatalf("s3 config %+v", s3)
	}
	if h.Workers != 2 || es.Workers != 2 {
		t.Fatalf("default workers %d %d, want 2", h.Workers, es.Workers)
	}
	if c.Outputs[0].Name != "http" || c.Outputs[1].Name != "elasticsearch" || c.Outputs[2].Name != "s3" {
		t.Fatalf("default names %q %q %q", c.Outputs[0].Name, c.Outputs[1].Name, c.Outputs[2].Name)
	}
}

func TestParseNetworkOutputErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown http key with its line", "  - type: http\n    url: http://x\n    urll: http://y\n",
			[]string{":7:5", `unknown key "urll"`, `did you mean "url"`}},
		{"http without url", "  - type: http\n", []string{"outputs[0].url"}},
		{"elasticsearch without hosts", "  - type: elasticsearch\n    index: logs\n", []string{"outputs[0].hosts"}},
		{"http workers out of range", "  - type: http\n    url: http://x\n    workers: 65\n",
			[]string{"c.yaml:7:5", "outputs[0].workers", "between 1 and 64"}},
		{"elasticsearch workers zero", "  - type: elasticsearch\n    hosts: [http://es:9200]\n    index: l\n    workers: 0\n",
			[]string{"c.yaml:8:5", "outputs[0].workers", "must be positive"}},
		{"s3 object larger than the queue", "  - type: s3\n    bucket: b\n    max_object_bytes: 67108864\nqueue:\n  max_bytes: 33554432\n",
			[]string{"outputs[0].max_object_bytes", "queue.max_bytes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := "log_files:\n  - name: app\n    paths: [\"/x/*.log\"]\noutputs:\n" + tc.yaml
			_, err := config.Parse([]byte(doc), "c.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestParseExplicitZeroInOutputs(t *testing.T) {
	doc := "log_files:\n  - name: app\n    paths: [\"/x/*.log\"]\noutputs:\n  - type: http\n    url: http://x\n    timeout: 0s\n" +
		"  - type: s3\n    bucket: b\n    max_object_age: 0s\n"
	_, err := config.Parse([]byte(doc), "c.yaml")
	if err == nil {
		t.Fatal("no error for explicit zeros")
	}
	for _, w := range []string{"c.yaml:7:5", "outputs[0].timeout", "outputs[1].max_object_age", "must be positive"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
}
