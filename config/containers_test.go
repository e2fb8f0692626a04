package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/config"
	"github.com/flickerlog/flicker/sources/container"
)

func TestDockerContainersDefaults(t *testing.T) {
	c, err := config.Parse([]byte(`
docker_containers:
  - name: docker
    include_names: ["web-*"]
    include_labels: {app: shop}
outputs:
  - type: stdout
`), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := c.DockerContainers[0]
	if got.Path != container.DefaultPath || strings.Join(got.Streams, ",") != "stdout,stderr" ||
		got.ScanInterval != time.Second || got.MaxLineBytes != 1<<20 || got.IncludeLabels["app"] != "shop" {
		t.Errorf("docker_containers[0] = %+v", got)
	}
	if s := c.Summary(); !strings.Contains(s, "1 input (docker_containers: docker)") {
		t.Errorf("summary %q", s)
	}
}

func TestContainerConfigErrors(t *testing.T) {
	t.Setenv("NODE_NAME", "") // node's default
	tests := []struct{ name, yaml, want string }{
		{"stream", "docker_containers:\n  - name: d\n    streams: [stdin]\n",
			`c.yaml:3:15: docker_containers[0].streams[0]: must be stdout or stderr, not "stdin"`},
		{"relative path", "docker_containers:\n  - name: d\n    path: containers\n",
			`c.yaml:3:5: docker_containers[0].path: must be an absolute directory`},
		{"bad glob", "docker_containers:\n  - name: d\n    include_names: [\"web-[\"]\n",
			`c.yaml:3:21: docker_containers[0].include_names[0]: invalid glob "web-["`},
		{"kubernetes relative path", "kubernetes:\n  - name: k\n    path: pods\n",
			`c.yaml:3:5: kubernetes[0].path: must be an absolute directory (the kubelet's is /var/log/pods)`},
		{"kubernetes metadata api without node", "kubernetes:\n  - name: k\n    metadata: api\n",
			`c.yaml:2:5: kubernetes[0].node: is empty and NODE_NAME is not set: give this node's name; in a pod set env NODE_NAME from the downward API`},
		{"kubernetes api host", "kubernetes:\n  - name: k\n    metadata: api\n    node: n1\n    api:\n      host: api.local:6443\n",
			`c.yaml:6:7: kubernetes[0].api.host: "api.local:6443" is not an http(s) URL: give the API server as https://host:port`},
		{"kubernetes metadata_wait", "kubernetes:\n  - name: k\n    metadata: api\n    node: n1\n    metadata_wait: 5m\n",
			`c.yaml:5:5: kubernetes[0].metadata_wait: 5m0s is longer than 1m0s`},
		{"kubernetes annotations without api", "kubernetes:\n  - name: k\n    annotations: [team]\n",
			`c.yaml:3:5: kubernetes[0].annotations: is read only with metadata: api: set metadata: api, or remove annotations`},
		{"kubernetes unknown metadata", "kubernetes:\n  - name: k\n    metadata: labels\n",
			`c.yaml:3:5: kubernetes[0].metadata: must be path or api, not "labels"`},
		{"kubernetes bad namespace glob", "kubernetes:\n  - name: k\n    exclude_namespaces: [\"kube-[\"]\n",
			`c.yaml:3:26: kubernetes[0].exclude_namespaces[0]: invalid glob "kube-["`},
		{"kubernetes stream", "kubernetes:\n  - name: k\n    streams: [stdin]\n",
			`c.yaml:3:15: kubernetes[0].streams[0]: must be stdout or stderr, not "stdin"`},
		{"unknown format", "log_files:\n  - name: a\n    paths: [/x/*.log]\n    format: json\n",
			`c.yaml:4:5: log_files[0].format: must be auto, docker or cri`},
		{"format needs utf-8", "log_files:\n  - name: a\n    paths: [/x/*.log]\n    format: docker\n    encoding: latin1\n",
			`c.yaml:5:5: log_files[0].encoding: must be utf-8 with format docker`},
		{"duplicate name", "log_files:\n  - name: a\n    paths: [/x/*.log]\ndocker_containers:\n  - name: a\n",
			`docker_containers[0].name: duplicate input name "a" (also log_files[0])`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.yaml+"outputs:\n  - type: stdout\n"), "c.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLogFilesFormatDocker(t *testing.T) {
	c, err := config.Parse([]byte("log_files:\n  - name: a\n    paths: [/x/*.log]\n    format: Docker\noutputs:\n  - type: stdout\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if f := c.LogFiles[0].Format; f != "docker" {
		t.Errorf("format %q", f)
	}
}

// metadata: api takes node from NODE_NAME when the entry has none, and metadata_wait defaults to the watcher's
// wait.
func TestKubernetesMetadataAPIDefaults(t *testing.T) {
	t.Setenv("NODE_NAME", "node-7")
	c, err := config.Parse([]byte(`
kubernetes:
  - name: pods
    metadata: API
    annotations: [team.example.com/owner]
    api: {host: "https://127.0.0.1:6443", token_file: /t, ca_file: /ca}
outputs:
  - type: stdout
`), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := c.Kubernetes[0]
	if got.Metadata != container.MetadataAPI || got.Node != "node-7" || got.MetadataWait != 2*time.Second ||
		got.API.Host != "https://127.0.0.1:6443" || got.API.TokenFile != "/t" || got.API.CAFile != "/ca" ||
		len(got.Annotations) != 1 {
		t.Errorf("kubernetes[0] = %+v", got)
	}
}

func TestKubernetesDefaults(t *testing.T) {
	c, err := config.Parse([]byte(`
kubernetes:
  - name: pods
    exclude_namespaces: [kube-system]
log_files:
  - name: sidecar
    paths: [/x/*.log]
    format: CRI
outputs:
  - type: stdout
`), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := c.Kubernetes[0]
	if got.Path != container.DefaultPodsPath || got.Metadata != "path" || strings.Join(got.Streams, ",") != "stdout,stderr" ||
		got.ScanInterval != time.Second || got.CleanRemovedAfter != 24*time.Hour || got.ExcludeNamespaces[0] != "kube-system" {
		t.Errorf("kubernetes[0] = %+v", got)
	}
	if f := c.LogFiles[0].Format; f != "cri" {
		t.Errorf("log_files format %q", f)
	}
	if s := c.Summary(); !strings.Contains(s, "2 inputs (log_files: sidecar; kubernetes: pods)") {
		t.Errorf("summary %q", s)
	}
}
