package benchmarks_test

// The cost of `metadata: api` (issue 12): the kubemeta watcher holding 500 pods, listed from the fake API server
// (in this process). Results and commands are in RESULTS.md.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/flickerlog/flicker/sources/container/kubemeta"
	"github.com/flickerlog/flicker/sources/container/kubemeta/apiservertest"
)

// kubemetaPods is the number of pods on the node: the 500 containers, one per pod.
const kubemetaPods = 500

// BenchmarkKubemeta500Pods starts a watcher against a fake API server holding kubemetaPods pods of a realistic
// size (managedFields, last-applied annotation, two containers with env, status) and waits until all are
// cached. It reports the live heap the running watcher adds (after a GC; per pod and in all), the growth of
// this process's RSS and peak RSS while it lists, the time to sync, and the JSON size of one pod as the API
// server sends it. Run it with -benchtime 3x:
//
//	go test -run '^$' -bench Kubemeta500Pods -benchtime 3x ./benchmarks/
func BenchmarkKubemeta500Pods(b *testing.B) {
	srv := apiservertest.Start(b, "bench-token")
	for i := range kubemetaPods {
		srv.AddPod(benchPod(i))
	}
	podJSON, err := json.Marshal(benchPod(0))
	if err != nil {
		b.Fatal(err)
	}
	tokenFile := filepath.Join(b.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("bench-token"), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg := kubemeta.Config{Node: "node-a", Host: srv.URL, CAFile: srv.CAFile, TokenFile: tokenFile,
		Annotations: []string{"team.example.com/owner"}}

	var heap, rss, hwm, syncs []float64
	for b.Loop() {
		heapBefore := liveHeap()
		rssBefore, hwmBefore := procRSS(b)
		began := time.Now()
		w, err := kubemeta.New(cfg, zerolog.Nop())
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		for deadline := time.Now().Add(30 * time.Second); !w.Synced() || w.Stats().Pods < kubemetaPods; {
			if time.Now().After(deadline) {
				b.Fatalf("not synced after 30s: %+v", w.Stats())
			}
			time.Sleep(5 * time.Millisecond)
		}
		syncs = append(syncs, time.Since(began).Seconds())
		heap = append(heap, float64(liveHeap()-heapBefore))
		rssAfter, hwmAfter := procRSS(b)
		rss = append(rss, float64(rssAfter-rssBefore))
		hwm = append(hwm, float64(hwmAfter-hwmBefore))
		if _, ok := w.Pod(ctx, "uid-bench-7"); !ok {
			b.Fatal("pod 7 not cached")
		}
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		runtime.KeepAlive(w)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(mean64(heap)/(1<<20), "heap-MiB")
	b.ReportMetric(mean64(heap)/kubemetaPods/1024, "heap-KiB/pod")
	b.ReportMetric(mean64(rss)/(1<<20), "RSS-delta-MiB")
	b.ReportMetric(mean64(hwm)/(1<<20), "peakRSS-delta-MiB")
	b.ReportMetric(mean64(syncs)*1000, "sync-ms")
	b.ReportMetric(float64(len(podJSON))/1024, "pod-JSON-KiB")
}

func mean64(v []float64) float64 {
	var sum float64
	for _, x := range v {
		sum += x
	}
	return sum / float64(len(v))
}

// liveHeap is the heap in use after a full collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// procRSS returns this process's resident and peak resident set sizes in bytes.
func procRSS(b *testing.B) (rss, hwm int64) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		key, value, _ := strings.Cut(s.Text(), ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch key {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			hwm = kb << 10
		}
	}
	return rss, hwm
}

// benchPod is a pod of a Deployment as the API server returns it, about 5 KiB of JSON.
func benchPod(i int) *corev1.Pod {
	yes := true
	name := fmt.Sprintf("shop-%d-7d9f8b6c5d-x%04d", i%40, i)
	env := make([]corev1.EnvVar, 10)
	for j := range env {
		env[j] = corev1.EnvVar{Name: fmt.Sprintf("SETTING_%d", j), Value: strings.Repeat("v", 24)}
	}
	container := func(n string) corev1.Container {
		return corev1.Container{
			Name: n, Image: "registry.example.com/shop/" + n + ":1.42.7", Env: env,
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
			},
			VolumeMounts: []corev1.VolumeMount{{Name: "kube-api-access-abcde", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true}},
		}
	}
	var fields bytes.Buffer
	fields.WriteString(`{"f:metadata":{"f:labels":{".":{},"f:app":{},"f:pod-template-hash":{}},"f:ownerReferences":{}},"f:spec":{"f:containers":{`)
	for j := range env {
		fmt.Fprintf(&fields, `"f:env%d":{".":{},"f:name":{},"f:value":{}},`, j)
	}
	fields.WriteString(`"f:image":{}}}}`)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: fmt.Sprintf("team-%d", i%8), UID: types.UID(fmt.Sprintf("uid-bench-%d", i)),
			Labels: map[string]string{"app": fmt.Sprintf("shop-%d", i%40), "pod-template-hash": "7d9f8b6c5d",
				"app.kubernetes.io/part-of": "shop", "tier": "backend"},
			Annotations: map[string]string{
				"team.example.com/owner":                           "payments",
				"prometheus.io/scrape":                             "true",
				"kubectl.kubernetes.io/last-applied-configuration": strings.Repeat("x", 1200),
			},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet",
				Name: fmt.Sprintf("shop-%d-7d9f8b6c5d", i%40), UID: "rs-uid", Controller: &yes, BlockOwnerDeletion: &yes}},
			ManagedFields: []metav1.ManagedFieldsEntry{
				{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1",
					FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(fields.String())},
				{Manager: "kubelet", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1",
					FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:status":{"f:conditions":{},"f:containerStatuses":{},"f:podIP":{}}}`), Subresource: "status"},
			},
		},
		Spec: corev1.PodSpec{
			NodeName: "node-a", ServiceAccountName: "shop", Containers: []corev1.Container{container("app"), container("sidecar")},
			Volumes: []corev1.Volume{{Name: "kube-api-access-abcde"}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: "10.1.2.3", HostIP: "192.0.2.10",
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}, {Type: corev1.PodScheduled, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{
				{Name: "app", Ready: true, Image: "registry.example.com/shop/app:1.42.7", ContainerID: "containerd://" + strings.Repeat("a", 64)},
				{Name: "sidecar", Ready: true, Image: "registry.example.com/shop/sidecar:1.42.7", ContainerID: "containerd://" + strings.Repeat("b", 64)},
			},
		},
	}
}
