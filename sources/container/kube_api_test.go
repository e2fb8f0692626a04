package container_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/flickerlog/flicker/sources/container"
	"github.com/flickerlog/flicker/sources/container/containertest"
	"github.com/flickerlog/flicker/sources/container/kubemeta/apiservertest"
	"github.com/flickerlog/flicker/sources/file"
)

const (
	apiNode  = "node-a"
	apiToken = "token-0123456789"
)

// startAPI starts a fake API server and returns it with a file holding its token.
func startAPI(t *testing.T) (*apiservertest.Server, string) {
	t.Helper()
	srv := apiservertest.Start(t, apiToken)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(apiToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, tokenFile
}

// withAPI sets metadata: api against srv, waiting at most wait for the first list.
func withAPI(srv *apiservertest.Server, tokenFile string, wait time.Duration, annotations ...string) func(*container.KubeConfig) {
	return func(c *container.KubeConfig) {
		c.Metadata, c.Node, c.Annotations, c.MetadataWait = container.MetadataAPI, apiNode, annotations, wait
		c.API = container.KubeAPI{Host: srv.URL, TokenFile: tokenFile, CAFile: srv.CAFile}
	}
}

// apiPod is the API server's pod of a kubelet pod on apiNode; owner is "Kind/name" or "".
func apiPod(p *containertest.Pod, labels, annotations map[string]string, owner string) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name, UID: types.UID(p.UID), Labels: labels,
			Annotations: annotations},
		Spec: corev1.PodSpec{NodeName: apiNode, Containers: []corev1.Container{{Name: "app", Image: "shop:1"}}},
	}
	if kind, name, ok := strings.Cut(owner, "/"); ok {
		yes := true
		pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: name, UID: "owner", Controller: &yes}}
	}
	return pod
}

// kubeMetaPrefix is the kubernetes member's part from the path, without its closing brace.
func kubeMetaPrefix(log container.PodLog) string {
	m := kubeMeta(log)
	return m[:len(m)-1]
}

// Events carry the pod's node, labels (dots in keys as underscores, as Filebeat), the allow-listed
// annotations only, and its controllers with Filebeat's names, next to what the path says; a pod the API
// server does not know keeps what the path says.
func TestKubernetesAPIMetadata(t *testing.T) {
	t.Parallel()
	srv, tokenFile := startAPI(t)
	k := newKubelet(t, containertest.KubeletConfig{})
	webPod, web := startPod(t, k, "shop", "web-7d9f8-x2x4q", "app")
	dbPod, db := startPod(t, k, "shop", "db-0", "app")
	cronPod, cron := startPod(t, k, "ops", "backup-29000000-abcde", "app")
	_, stray := startPod(t, k, "shop", "stray", "app")
	srv.AddPod(apiPod(webPod, map[string]string{"app": "web", "app.kubernetes.io/name": "web", "pod-template-hash": "7d9f8"},
		map[string]string{"team.example.com/owner": "shop-team", "secret.example.com/note": "not shipped"}, "ReplicaSet/web-7d9f8"))
	srv.AddPod(apiPod(dbPod, map[string]string{"app": "db"}, nil, "StatefulSet/db"))
	srv.AddPod(apiPod(cronPod, nil, nil, "Job/backup-29000000"))
	for _, c := range []*containertest.PodContainer{web, db, cron, stray} {
		write(t, c, containertest.Stdout("hello from "+c.Log().Pod))
	}
	sink := &recSink{}
	src := newKubeSource(t, k.Dir(), newRegistry(), withAPI(srv, tokenFile, 5*time.Second, "team.example.com/owner"))
	run(t, src, sink)
	waitFor(t, "four events", func() bool { return len(sink.all()) == 4 })
	want := map[string]string{
		"hello from web-7d9f8-x2x4q": kubeMetaPrefix(web.Log()) + `,"node":{"name":"node-a"},` +
			`"labels":{"app":"web","app_kubernetes_io/name":"web","pod-template-hash":"7d9f8"},` +
			`"annotations":{"team_example_com/owner":"shop-team"},"deployment":{"name":"web"},"replicaset":{"name":"web-7d9f8"}}`,
		"hello from db-0": kubeMetaPrefix(db.Log()) + `,"node":{"name":"node-a"},"labels":{"app":"db"},"statefulset":{"name":"db"}}`,
		"hello from backup-29000000-abcde": kubeMetaPrefix(cron.Log()) +
			`,"node":{"name":"node-a"},"job":{"name":"backup-29000000"},"cronjob":{"name":"backup"}}`,
		"hello from stray": kubeMeta(stray.Log()),
	}
	for _, e := range sink.all() {
		if w := `,"stream":"stdout"` + want[e.Message]; e.Extra != w {
			t.Errorf("%s shipped with\n%s\nwant\n%s", e.Message, e.Extra, w)
		}
	}
	if missing, ok := src.MetadataMissing(); !ok || missing == 0 {
		t.Errorf("metadata missing %d (%v), want the stray pod counted", missing, ok)
	}
}

// A pod whose log is read before the API server has it ships its first lines with what the path says; the
// lines read after the watch delivers it carry its metadata.
func TestKubernetesAPIPodAddedAfterItsLog(t *testing.T) {
	t.Parallel()
	srv, tokenFile := startAPI(t)
	k := newKubelet(t, containertest.KubeletConfig{})
	pod, c := startPod(t, k, "shop", "late", "app")
	write(t, c, containertest.Stdout("before"))
	sink := &recSink{}
	src := newKubeSource(t, k.Dir(), newRegistry(), withAPI(srv, tokenFile, 100*time.Millisecond))
	run(t, src, sink)
	waitFor(t, "the first line", func() bool { return len(sink.all()) == 1 })
	if e := sink.all()[0]; e.Extra != `,"stream":"stdout"`+kubeMeta(c.Log()) {
		t.Errorf("first line shipped with %s, want what the path says", e.Extra)
	}
	srv.AddPod(apiPod(pod, map[string]string{"app": "late"}, nil, ""))
	writeUntil(t, c, sink, "a line with the pod's labels", `"labels":{"app":"late"}`)
}

// While the API server does not answer, reading goes on: 50 pods' logs ship (with what their paths say) after
// one metadata_wait for the whole input, not one per pod (50 s here), and every lookup that found nothing is
// counted.
func TestKubernetesAPIUnreachableDoesNotHoldEventsBack(t *testing.T) {
	t.Parallel()
	srv, tokenFile := startAPI(t)
	srv.Pause()
	t.Cleanup(srv.Resume)
	k := newKubelet(t, containertest.KubeletConfig{})
	for i := range 50 {
		c := startContainer(t, k, "shop", fmt.Sprintf("web-%d", i), "app")
		write(t, c, containertest.Stdout(fmt.Sprintf("line of web-%d", i)))
	}
	sink := &recSink{}
	src := newKubeSource(t, k.Dir(), newRegistry(), withAPI(srv, tokenFile, time.Second))
	run(t, src, sink)
	waitFor(t, "50 events", func() bool { return len(sink.all()) == 50 })
	checkDelivered(t, k, sink.all(), false) // with the path's metadata alone
	if missing, _ := src.MetadataMissing(); missing < 50 {
		t.Errorf("metadata missing counted %d times, want at least once per pod (50)", missing)
	}
}

// An API server down when the input starts: the lines read meanwhile ship with what the path says; once it
// answers, the lines read after carry the pod's metadata.
func TestKubernetesAPIDownAtStartThenUp(t *testing.T) {
	t.Parallel()
	srv, tokenFile := startAPI(t)
	srv.Pause()
	k := newKubelet(t, containertest.KubeletConfig{})
	pod, c := startPod(t, k, "shop", "web", "app")
	srv.AddPod(apiPod(pod, map[string]string{"app": "web"}, nil, "DaemonSet/agent"))
	write(t, c, containertest.Stdout("while down"))
	sink := &recSink{}
	src := newKubeSource(t, k.Dir(), newRegistry(), withAPI(srv, tokenFile, 50*time.Millisecond))
	run(t, src, sink)
	waitFor(t, "the line read while down", func() bool { return len(sink.all()) == 1 })
	if e := sink.all()[0]; e.Extra != `,"stream":"stdout"`+kubeMeta(c.Log()) {
		t.Errorf("line read while down shipped with %s, want what the path says", e.Extra)
	}
	srv.Resume()
	writeUntil(t, c, sink, "a line with the pod's metadata", `"labels":{"app":"web"},"daemonset":{"name":"agent"}`)
}

// writeUntil writes a line to c each time the previous one has shipped, until an event carries want.
func writeUntil(t *testing.T, c *containertest.PodContainer, sink *recSink, what, want string) {
	t.Helper()
	n := len(sink.all())
	waitFor(t, what, func() bool {
		if len(sink.with(want)) > 0 {
			return true
		}
		if got := len(sink.all()); got >= n {
			n = got + 1
			write(t, c, containertest.Stdout(fmt.Sprintf("line %d", n)))
		}
		return false
	})
}

// A pod read at start that the first list does not hold (the logs of a deleted pod) holds reading back only
// until the list comes, not for the rest of metadata_wait (a minute here).
func TestKubernetesAPIUnknownPodWaitsOnlyForTheFirstList(t *testing.T) {
	t.Parallel()
	srv, tokenFile := startAPI(t)
	srv.SetDelay(300 * time.Millisecond) // the list comes after the reader has asked for the pod
	k := newKubelet(t, containertest.KubeletConfig{})
	c := startContainer(t, k, "shop", "deleted", "app")
	write(t, c, containertest.Stdout("left behind"))
	sink := &recSink{}
	run(t, newKubeSource(t, k.Dir(), newRegistry(), withAPI(srv, tokenFile, time.Minute)), sink)
	waitFor(t, "the deleted pod's line", func() bool { return len(sink.all()) == 1 })
	checkDelivered(t, k, sink.all(), false)
}

// Outside a pod, metadata: api without api.host is refused when the input is built, naming the field as the
// entry spells it.
func TestKubernetesAPIOutsideAPodNeedsHost(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	cfg := container.KubeConfig{Name: "pods", Path: t.TempDir(), Metadata: container.MetadataAPI, Node: apiNode}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	_, err := container.NewKubernetes(cfg, newRegistry(), file.Options{}, zerolog.Nop())
	if err == nil || !strings.HasPrefix(err.Error(), "api.host: is empty and KUBERNETES_SERVICE_HOST/PORT are not set") {
		t.Errorf("NewKubernetes: %v, want an error naming api.host", err)
	}
}
