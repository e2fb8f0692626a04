package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/flickerlog/flicker/sources/container/containertest"
	"github.com/flickerlog/flicker/sources/container/kubemeta/apiservertest"
)

// kubeMetaShipped is an event of a kubernetes input with metadata: api, read back from the file output.
type kubeMetaShipped struct {
	Message    string `json:"message"`
	Kubernetes struct {
		Pod struct {
			Name string `json:"name"`
		} `json:"pod"`
		Node *struct {
			Name string `json:"name"`
		} `json:"node"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		Deployment  *struct {
			Name string `json:"name"`
		} `json:"deployment"`
		ReplicaSet *struct {
			Name string `json:"name"`
		} `json:"replicaset"`
		StatefulSet *struct {
			Name string `json:"name"`
		} `json:"statefulset"`
	} `json:"kubernetes"`
}

// The kubelet emulator writes the logs of pods the fake API server serves: flicker with metadata: api ships
// their events with labels, the allow-listed annotations only, the node and the owner; a pod the API server
// does not know ships with what its path says and is counted on /metrics; SIGTERM stops it cleanly.
func TestE2EKubernetesMetadataAPI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const node, token = "node-e2e", "e2e-token-0123456789"
	srv := apiservertest.Start(t, token)
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := containertest.NewKubelet(filepath.Join(dir, "pods"), containertest.KubeletConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Close() })
	yes := true
	addPod := func(ns, name string, labels, annotations map[string]string, ownerKind, ownerName string, inAPI bool) *containertest.PodContainer {
		p, err := k.AddPod(ns, name, "")
		if err != nil {
			t.Fatal(err)
		}
		c, err := p.StartContainer("app")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(containertest.Stdout("hello from " + name)); err != nil {
			t.Fatal(err)
		}
		if inAPI {
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(p.UID), Labels: labels, Annotations: annotations,
					OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: ownerKind, Name: ownerName, UID: "o", Controller: &yes}}},
				Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app"}}},
			}
			srv.AddPod(pod)
		}
		return c
	}
	addPod("shop", "web-5c6d7-abcde", map[string]string{"app": "web", "pod-template-hash": "5c6d7"},
		map[string]string{"team": "shop", "checksum/config": "not allow-listed"}, "ReplicaSet", "web-5c6d7", true)
	addPod("shop", "db-0", map[string]string{"app": "db"}, nil, "StatefulSet", "db", true)
	addPod("shop", "unknown", nil, nil, "", "", false)

	out, addr := filepath.Join(dir, "out.jsonl"), freeAddr(t)
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`kubernetes:
  - name: pods
    path: %q
    scan_interval: 50ms
    metadata: api
    annotations: [team]
    metadata_wait: 5s
    api:
      host: %q
      token_file: %q
      ca_file: %q
outputs:
  - type: file
    name: out
    path: %q
batch:
  max_wait: 20ms
`, k.Dir(), srv.URL, tokenFile, srv.CAFile, out)), 0o644); err != nil {
		t.Fatal(err)
	}
	// node comes from NODE_NAME, as the chart sets it from the downward API.
	p := startEnv(t, dir, []string{"NODE_NAME=" + node}, "-c", cfg, "--registry-file", filepath.Join(dir, "reg.db"),
		"--http-addr", addr, "--log-format", "json")
	events := func() []kubeMetaShipped { return readEvents[kubeMetaShipped](t, out) }
	waitFor(t, 20*time.Second, "three events", func() bool { return len(events()) == 3 }, p)

	byPod := make(map[string]kubeMetaShipped)
	for _, ev := range events() {
		byPod[ev.Kubernetes.Pod.Name] = ev
	}
	web, db, unknown := byPod["web-5c6d7-abcde"].Kubernetes, byPod["db-0"].Kubernetes, byPod["unknown"].Kubernetes
	if web.Node == nil || web.Node.Name != node || web.Labels["app"] != "web" || len(web.Annotations) != 1 ||
		web.Annotations["team"] != "shop" || web.Deployment == nil || web.Deployment.Name != "web" ||
		web.ReplicaSet == nil || web.ReplicaSet.Name != "web-5c6d7" {
		t.Errorf("web's event: %+v", byPod["web-5c6d7-abcde"])
	}
	if db.Node == nil || db.Labels["app"] != "db" || db.StatefulSet == nil || db.StatefulSet.Name != "db" || db.Annotations != nil {
		t.Errorf("db's event: %+v", byPod["db-0"])
	}
	if unknown.Node != nil || unknown.Labels != nil || byPod["unknown"].Message != "hello from unknown" {
		t.Errorf("the unknown pod's event: %+v", byPod["unknown"])
	}

	missing := regexp.MustCompile(`(?m)^flicker_kubernetes_metadata_missing_total\{input="pods"\} (\d+)$`)
	var body string
	waitFor(t, 20*time.Second, "/metrics counting the unknown pod's lookup", func() bool {
		_, b, err := get("http://" + addr + "/metrics")
		body = b
		m := missing.FindStringSubmatch(b)
		if err != nil || m == nil {
			return false
		}
		n, _ := strconv.Atoi(m[1])
		return n >= 1
	}, p)
	p.stop()
	logs := p.stderr.String()
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"level":"error"`) || strings.Contains(l, `"level":"warn"`) {
			t.Errorf("log line at warn or error: %s", l)
		}
	}
	if !strings.Contains(logs, "watching this node's pods") {
		t.Errorf("no sign of the pod watcher in the logs:\n%s\nlast /metrics:\n%s", logs, body)
	}
}
