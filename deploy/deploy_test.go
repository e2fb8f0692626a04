// Package deploy_test checks the deployment files offline: the Helm chart (lint, and every rendered object decoded
// strictly into its Kubernetes type), the Service ports derived from the configuration, the plain manifests
// against the chart, the sidecar example, the ECS task definition and the Cloud Run service. The flicker
// arguments and configurations in them are checked with flicker's own CLI in cmd/flicker (deploy_internal_test.go).
package deploy_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flickerlog/flicker/deploy/deploytest"
)

var update = flag.Bool("update", false, "rewrite deploy/kubernetes from the chart (make manifests)")

// serviceMonitor is the part of monitoring.coreos.com/v1 ServiceMonitor the chart renders: the Prometheus
// Operator's Go types are not a dependency, so this struct, decoded as strictly, stands for them.
type serviceMonitor struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path,omitempty"`
			Interval string `json:"interval,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// typed returns a new value of the Go type of an apiVersion and kind the chart renders.
func typed(apiVersion, kind string) (any, bool) {
	switch apiVersion + " " + kind {
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, true
	case "v1 Secret":
		return &corev1.Secret{}, true
	case "v1 Service":
		return &corev1.Service{}, true
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}, true
	case "apps/v1 DaemonSet":
		return &appsv1.DaemonSet{}, true
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, true
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, true
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, true
	case "rbac.authorization.k8s.io/v1 ClusterRole":
		return &rbacv1.ClusterRole{}, true
	case "rbac.authorization.k8s.io/v1 ClusterRoleBinding":
		return &rbacv1.ClusterRoleBinding{}, true
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return &serviceMonitor{}, true
	}
	return nil, false
}

// rendered is one render decoded: every object by kind.
type rendered struct {
	objs map[string][]any
}

func decodeAll(t *testing.T, where string, data []byte) rendered {
	t.Helper()
	objs, err := deploytest.Split(data)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	r := rendered{objs: map[string][]any{}}
	for _, o := range objs {
		v, ok := typed(o.APIVersion, o.Kind)
		if !ok {
			t.Fatalf("%s: %s: apiVersion %q kind %q has no Go type in this test: add it", where, o, o.APIVersion, o.Kind)
		}
		if err := deploytest.Strict(o.JSON, v); err != nil {
			t.Fatalf("%s: %s: %v", where, o, err)
		}
		r.objs[o.Kind] = append(r.objs[o.Kind], v)
	}
	return r
}

func only[T any](t *testing.T, r rendered, kind string) T {
	t.Helper()
	if len(r.objs[kind]) != 1 {
		t.Fatalf("%d objects of kind %s, want 1", len(r.objs[kind]), kind)
	}
	return r.objs[kind][0].(T)
}

// TestChartLint: helm lint --strict passes for every mode, with its defaults and with its full values file.
func TestChartLint(t *testing.T) {
	for _, c := range append(deploytest.Cases(), deploytest.ReadmeCases(t)...) {
		t.Run(c.Name, func(t *testing.T) {
			if out, err := deploytest.HelmCmd(t, append([]string{"lint", "--strict", deploytest.Chart()}, c.Args...)...); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}

// TestChartRendersStrictly decodes every object of every render strictly into its Kubernetes type, and checks
// what each mode promises: no PersistentVolumeClaim, update strategies that cannot deadlock on the lease, a grace
// period above --shutdown-timeout, probes, GOMEMLIMIT from the memory limit, read-only node mounts.
func TestChartRendersStrictly(t *testing.T) {
	for _, c := range append(deploytest.Cases(), deploytest.ReadmeCases(t)...) {
		t.Run(c.Name, func(t *testing.T) {
			r := decodeAll(t, c.Name, deploytest.Template(t, c.Args...))
			if len(r.objs["PersistentVolumeClaim"]) != 0 {
				t.Fatal("a PersistentVolumeClaim is rendered")
			}
			var pod corev1.PodSpec
			mode := "deployment"
			switch {
			case len(r.objs["DaemonSet"]) > 0:
				mode = "daemonset"
			case len(r.objs["HorizontalPodAutoscaler"]) > 0:
				mode = "aggregator"
			}
			switch mode {
			case "daemonset":
				ds := only[*appsv1.DaemonSet](t, r, "DaemonSet")
				pod = ds.Spec.Template.Spec
				ru := ds.Spec.UpdateStrategy.RollingUpdate
				if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || ru == nil ||
					ru.MaxSurge == nil || ru.MaxSurge.IntValue() != 0 {
					t.Fatalf("DaemonSet update strategy %+v: want RollingUpdate with maxSurge 0", ds.Spec.UpdateStrategy)
				}
				checkNodeMounts(t, pod)
				if len(r.objs["Deployment"]) != 0 {
					t.Fatal("daemonset mode renders a Deployment")
				}
			case "deployment", "aggregator":
				d := only[*appsv1.Deployment](t, r, "Deployment")
				pod = d.Spec.Template.Spec
				if mode == "deployment" {
					checkDeploymentStrategy(t, d)
				} else {
					checkAggregator(t, r, d)
				}
				for _, v := range pod.Volumes {
					if v.HostPath != nil {
						t.Fatalf("%s mode mounts hostPath %s", mode, v.HostPath.Path)
					}
				}
			}
			checkPod(t, pod)
		})
	}
}

func flickerContainer(t *testing.T, pod corev1.PodSpec) corev1.Container {
	t.Helper()
	for _, c := range pod.Containers {
		if c.Name == "flicker" {
			return c
		}
	}
	t.Fatal("no flicker container")
	return corev1.Container{}
}

func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
		if a == name {
			return "", true
		}
	}
	return "", false
}

func checkPod(t *testing.T, pod corev1.PodSpec) {
	t.Helper()
	c := flickerContainer(t, pod)
	timeout, ok := flagValue(c.Args, "--shutdown-timeout")
	secs, err := strconv.Atoi(strings.TrimSuffix(timeout, "s"))
	if !ok || err != nil {
		t.Fatalf("--shutdown-timeout %q: want whole seconds", timeout)
	}
	if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds <= int64(secs) {
		t.Fatalf("terminationGracePeriodSeconds %v is not above --shutdown-timeout %ds", pod.TerminationGracePeriodSeconds, secs)
	}
	if _, ok := flagValue(c.Args, "--http-addr"); !ok {
		t.Fatal("no --http-addr")
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Fatalf("liveness probe %+v: want GET /healthz", c.LivenessProbe)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil {
		t.Fatal("no readiness probe")
	}
	var memLimit bool
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" && e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil &&
			e.ValueFrom.ResourceFieldRef.Resource == "limits.memory" {
			memLimit = true
		}
	}
	if !memLimit {
		t.Fatal("GOMEMLIMIT does not follow limits.memory")
	}
	if c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
		t.Fatalf("resources %+v: want requests and limits", c.Resources)
	}
	sc := c.SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || (sc.Privileged != nil && *sc.Privileged) {
		t.Fatalf("security context %+v: want no privilege escalation, a read-only root, not privileged", sc)
	}
	for _, v := range pod.Volumes {
		if v.Name == "state" && v.EmptyDir == nil {
			t.Fatal("the state dir is not an emptyDir")
		}
	}
	if dir, ok := flagValue(c.Args, "--state-dir"); ok && !strings.HasPrefix(dir, "/var/lib/flicker/") {
		t.Fatalf("--state-dir %s is not on the state emptyDir", dir)
	}
}

// checkNodeMounts: the node's log directories are mounted read-only, the container reads them as uid 0 with every
// capability dropped, and the registry key is the node's name.
func checkNodeMounts(t *testing.T, pod corev1.PodSpec) {
	t.Helper()
	c := flickerContainer(t, pod)
	hostPaths := map[string]string{}
	for _, v := range pod.Volumes {
		if v.HostPath != nil {
			hostPaths[v.Name] = v.HostPath.Path
		}
	}
	logDirs := 0
	for _, m := range c.VolumeMounts {
		p, ok := hostPaths[m.Name]
		if !ok || !strings.HasPrefix(p, "/var/") || strings.HasPrefix(p, "/var/lib/flicker") {
			continue
		}
		logDirs++
		if !m.ReadOnly {
			t.Fatalf("node directory %s is mounted writable", p)
		}
	}
	if logDirs < 2 {
		t.Fatalf("%d node log directories mounted, want /var/log/pods and more", logDirs)
	}
	sc := c.SecurityContext
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) != 0 {
		t.Fatalf("capabilities %+v: want every one dropped, none added", sc.Capabilities)
	}
	if reg, ok := flagValue(c.Args, "--registry-file"); ok && strings.HasPrefix(reg, "s3://") &&
		!strings.Contains(reg, "/$(NODE_NAME)/") {
		t.Fatalf("--registry-file %s is not keyed by $(NODE_NAME)", reg)
	}
	if len(pod.Tolerations) == 0 {
		t.Fatal("no tolerations: the agent would miss tainted nodes")
	}
}

// checkDeploymentStrategy: one replica is replaced with Recreate; two are an active and a --standby, replaced one
// at a time, ready on /healthz (a standby never answers /readyz 200).
func checkDeploymentStrategy(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	c := flickerContainer(t, d.Spec.Template.Spec)
	_, standby := flagValue(c.Args, "--standby")
	switch *d.Spec.Replicas {
	case 1:
		if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType || standby {
			t.Fatalf("one replica: strategy %s, --standby %v; want Recreate without --standby", d.Spec.Strategy.Type, standby)
		}
	case 2:
		ru := d.Spec.Strategy.RollingUpdate
		if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || !standby || ru == nil ||
			ru.MaxSurge.IntValue() != 0 || c.ReadinessProbe.HTTPGet.Path != "/healthz" {
			t.Fatalf("two replicas: strategy %+v, --standby %v, readiness %s; want a rolling update with maxSurge 0, "+
				"--standby and readiness on /healthz", d.Spec.Strategy, standby, c.ReadinessProbe.HTTPGet.Path)
		}
	default:
		t.Fatalf("%d replicas", *d.Spec.Replicas)
	}
	if reg, ok := flagValue(c.Args, "--registry-file"); ok && strings.Contains(reg, "$(") {
		t.Fatalf("--registry-file %s: want a fixed key in deployment mode", reg)
	}
}

func checkAggregator(t *testing.T, r rendered, d *appsv1.Deployment) {
	t.Helper()
	c := flickerContainer(t, d.Spec.Template.Spec)
	if reg, ok := flagValue(c.Args, "--registry-file"); ok {
		t.Fatalf("aggregator mode keeps a registry: --registry-file %s", reg)
	}
	hpa := only[*autoscalingv2.HorizontalPodAutoscaler](t, r, "HorizontalPodAutoscaler")
	if hpa.Spec.ScaleTargetRef.Name != d.Name || len(hpa.Spec.Metrics) != 1 || hpa.Spec.Metrics[0].Resource == nil ||
		hpa.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU {
		t.Fatalf("HPA %+v: want CPU on the Deployment", hpa.Spec)
	}
	if d.Spec.Replicas != nil {
		t.Fatal("the Deployment sets replicas although the HPA owns them")
	}
	only[*policyv1.PodDisruptionBudget](t, r, "PodDisruptionBudget")
}

// TestStrictDecodingCatchesMistakes: the decoding the tests above rely on fails on a field misplaced one level
// (readOnly under hostPath instead of on the mount), an unknown field, a field in the wrong case, and a
// duplicate key.
func TestStrictDecodingCatchesMistakes(t *testing.T) {
	objs, err := deploytest.Split(deploytest.Template(t, "--set", "mode=daemonset"))
	if err != nil {
		t.Fatal(err)
	}
	var ds []byte
	for _, o := range objs {
		if o.Kind == "DaemonSet" {
			ds = o.JSON
		}
	}
	if err := deploytest.Strict(ds, &appsv1.DaemonSet{}); err != nil {
		t.Fatalf("the rendered DaemonSet does not decode: %v", err)
	}
	edit := func(f func(pod map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(ds, &m); err != nil {
			t.Fatal(err)
		}
		f(m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any))
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	tests := []struct {
		name, want string
		doc        []byte
	}{
		{"readOnly under hostPath", `unknown field "spec.template.spec.volumes[2].hostPath.readOnly"`, edit(func(pod map[string]any) {
			pod["volumes"].([]any)[2].(map[string]any)["hostPath"].(map[string]any)["readOnly"] = true
		})},
		{"unknown field", `unknown field "spec.template.spec.containers[0].resource"`, edit(func(pod map[string]any) {
			pod["containers"].([]any)[0].(map[string]any)["resource"] = map[string]any{}
		})},
		{"wrong case", `unknown field "spec.template.spec.ServiceAccountName"`, edit(func(pod map[string]any) {
			pod["ServiceAccountName"] = "x"
		})},
		{"duplicate key", `duplicate field "spec.template.spec.serviceAccountName"`,
			bytes.Replace(ds, []byte(`"serviceAccountName":`), []byte(`"serviceAccountName":"a","serviceAccountName":`), 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := deploytest.Strict(tt.doc, &appsv1.DaemonSet{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v; want one containing %s", err, tt.want)
			}
		})
	}
	if _, err := deploytest.Split([]byte("a: 1\na: 2\n")); err == nil {
		t.Fatal("a YAML document with a duplicate key splits without error")
	}
}

type port struct {
	number   int32
	protocol corev1.Protocol
}

// ports renders aggregator mode with config (JSON) and returns the Service's ports and the container's, without
// the metrics port.
func ports(t *testing.T, config string) (service, container []port) {
	t.Helper()
	r := decodeAll(t, "aggregator", deploytest.Template(t, "--set", "mode=aggregator", "--set-json", "config="+config))
	for _, p := range only[*corev1.Service](t, r, "Service").Spec.Ports {
		if p.Name != "http-metrics" {
			service = append(service, port{p.Port, p.Protocol})
		}
	}
	for _, p := range flickerContainer(t, only[*appsv1.Deployment](t, r, "Deployment").Spec.Template.Spec).Ports {
		if p.Name != "http-metrics" {
			container = append(container, port{p.ContainerPort, p.Protocol})
		}
	}
	return service, container
}

// TestServicePortsFollowConfig: in aggregator mode, adding an http_sources or syslog_sources entry to the config
// adds exactly its port to the Service and the container, with its protocol; nothing else changes.
func TestServicePortsFollowConfig(t *testing.T) {
	const base = `{"http_sources":[{"name":"a","address":":8080"}],"outputs":[{"type":"stdout","name":"o"}]}`
	with := func(key, entry string) string {
		var m map[string]any
		_ = json.Unmarshal([]byte(base), &m)
		var e any
		if err := json.Unmarshal([]byte(entry), &e); err != nil {
			t.Fatal(err)
		}
		list, _ := m[key].([]any)
		m[key] = append(list, e)
		out, _ := json.Marshal(m)
		return string(out)
	}
	baseService, baseContainer := ports(t, base)
	if !slices.Equal(baseService, []port{{8080, corev1.ProtocolTCP}}) || !slices.Equal(baseContainer, baseService) {
		t.Fatalf("base ports: service %v, container %v; want 8080/TCP", baseService, baseContainer)
	}
	tests := []struct {
		name, key, entry string
		want             port
	}{
		{"http source", "http_sources", `{"name":"b","address":"0.0.0.0:9200"}`, port{9200, corev1.ProtocolTCP}},
		{"syslog udp", "syslog_sources", `{"name":"s","address":":514","protocol":"udp"}`, port{514, corev1.ProtocolUDP}},
		{"syslog tcp", "syslog_sources", `{"name":"s","address":"[::]:601","protocol":"tcp"}`, port{601, corev1.ProtocolTCP}},
		{"syslog tls", "syslog_sources", `{"name":"s","address":":6514","protocol":"tls"}`, port{6514, corev1.ProtocolTCP}},
		{"syslog without protocol", "syslog_sources", `{"name":"s","address":":1514"}`, port{1514, corev1.ProtocolTCP}},
		{"same port, other protocol", "syslog_sources", `{"name":"s","address":":8080","protocol":"udp"}`, port{8080, corev1.ProtocolUDP}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			service, container := ports(t, with(tt.key, tt.entry))
			want := append(slices.Clone(baseService), tt.want)
			if !slices.Equal(service, want) || !slices.Equal(container, want) {
				t.Fatalf("service %v, container %v; want %v", service, container, want)
			}
		})
	}
	t.Run("other modes publish only metrics", func(t *testing.T) {
		r := decodeAll(t, "deployment", deploytest.Template(t, "--set", "mode=deployment", "--set-json", "config="+with("syslog_sources", `{"name":"s","address":":514"}`)))
		if ps := only[*corev1.Service](t, r, "Service").Spec.Ports; len(ps) != 1 || ps[0].Name != "http-metrics" {
			t.Fatalf("deployment mode Service ports %+v; want only http-metrics", ps)
		}
	})
	t.Run("an address without a port fails the render", func(t *testing.T) {
		_, err := deploytest.HelmCmd(t, "template", "x", deploytest.Chart(), "--set", "mode=aggregator",
			"--set-json", `config={"http_sources":[{"name":"a","address":"localhost"}]}`)
		if err == nil || !strings.Contains(err.Error(), "address") {
			t.Fatalf("error %v; want one naming the address", err)
		}
	})
}

// TestPlainManifests: deploy/kubernetes holds exactly what the chart renders (`make manifests` rewrites it), each
// object decoding strictly.
func TestPlainManifests(t *testing.T) {
	for _, m := range deploytest.Manifests() {
		t.Run(m.File, func(t *testing.T) {
			want := deploytest.ManifestHeader(m) + string(deploytest.Template(t, m.Args...))
			path := filepath.Join(deploytest.Dir(), "kubernetes", m.File)
			if *update {
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run `make manifests`)", err)
			}
			if string(got) != want {
				t.Fatalf("deploy/kubernetes/%s differs from the chart's render: run `make manifests`\n%s", m.File, firstDiff(string(got), want))
			}
			decodeAll(t, m.File, got)
		})
	}
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n  file:  %q\n  chart: %q", i+1, gl, wl)
		}
	}
	return ""
}

// TestHelmVersionPinned: the helm the tests look for is the one `make tools` installs.
func TestHelmVersionPinned(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join(filepath.Dir(deploytest.Dir()), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "HELM_VERSION := " + deploytest.HelmVersion + "\n"; !strings.Contains(string(mk), want) {
		t.Fatalf("the Makefile does not pin %q (deploytest.HelmVersion): keep them equal", strings.TrimSpace(want))
	}
}

// TestNamedMetricsExist: every flicker_* metric the deployment files tell users to watch (NOTES.txt, the chart's
// README, the sidecar example) is one internal/telemetry exports.
func TestNamedMetricsExist(t *testing.T) {
	root := filepath.Dir(deploytest.Dir())
	sources, err := filepath.Glob(filepath.Join(root, "internal", "telemetry", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	name := regexp.MustCompile(`flicker_[a-z_]*[a-z]`)
	for _, path := range sources {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`"(flicker_[a-z_]+)"`).FindAllSubmatch(data, -1) {
			exported[string(m[1])] = true
		}
	}
	for _, doc := range []string{
		filepath.Join(deploytest.Chart(), "templates", "NOTES.txt"),
		filepath.Join(deploytest.Chart(), "README.md"),
		deploytest.SidecarFile,
	} {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range name.FindAll(data, -1) {
			if !exported[string(m)] {
				t.Errorf("%s names %s, which flicker does not export", filepath.Base(doc), m)
			}
		}
	}
}

// TestChartRefusesWhatFlickerCannotRun: values that would render a deployment flicker refuses or runs otherwise
// than asked fail the render, naming the value: two replicas without the S3 lease (both pods would ship), a zero
// snapshot interval, an aggregator shutdown budget not above an http_sources ack_timeout. Their neighbours render.
func TestChartRefusesWhatFlickerCannotRun(t *testing.T) {
	s3 := []string{"--set", "registry.type=s3", "--set", "registry.s3.bucket=b"}
	for _, tc := range []struct {
		name string
		args []string
		want string // in the error; empty: renders
	}{
		{"two replicas, local registry", []string{"--set", "mode=deployment", "--set", "replicas=2"}, "registry.type s3"},
		{"two replicas, lease off", append([]string{"--set", "mode=deployment", "--set", "replicas=2",
			"--set", "registry.s3.lease=off"}, s3...), "registry.s3.lease"},
		{"two replicas, S3 and lease", append([]string{"--set", "mode=deployment", "--set", "replicas=2"}, s3...), ""},
		{"zero snapshot interval", append([]string{"--set-string", "registry.s3.snapshotInterval=0s"}, s3...),
			"snapshotInterval"},
		{"aggregator, 18s for a 15s ack_timeout", []string{"--set", "mode=aggregator", "--set",
			"shutdownTimeoutSeconds=18"}, "ack_timeout"},
		{"aggregator, 19s for a 15s ack_timeout", []string{"--set", "mode=aggregator", "--set",
			"shutdownTimeoutSeconds=19"}, ""},
		{"aggregator, 60s for a 60s ack_timeout", []string{"--set", "mode=aggregator", "--set",
			"shutdownTimeoutSeconds=60", "--set-json", `config={"http_sources":[{"name":"a","address":":8080","ack_timeout":"60s"}],"outputs":[{"type":"stdout"}]}`},
			"config.http_sources[0].ack_timeout 60s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := deploytest.HelmCmd(t, append([]string{"template", "x", deploytest.Chart()}, tc.args...)...)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("render failed: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("render error %v; want one naming %s", err, tc.want)
			}
		})
	}
}
