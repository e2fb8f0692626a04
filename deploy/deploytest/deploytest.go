// Package deploytest renders flicker's Helm chart and reads the other deployment files (the plain manifests, the
// sidecar example, the ECS task definition, the Cloud Run service) for the tests that check them offline: the
// objects' shapes in deploy/, the flicker arguments and configurations in cmd/flicker.
//
// Helm is the pinned binary `make tools` installs (or $FLICKER_HELM); a test that needs it fails, never skips,
// when it is missing.
package deploytest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// HelmVersion is the Helm version `make tools` installs (HELM_VERSION in the Makefile); keep them equal.
const HelmVersion = "v4.3.2"

// EnvHelm names an environment variable that overrides where the helm binary is.
const EnvHelm = "FLICKER_HELM"

// Release and Namespace are what every render uses, the plain manifests included.
const (
	Release   = "flicker"
	Namespace = "logging"
)

// Helm returns the path of the helm binary: $FLICKER_HELM if set, else the one `make tools` installs. The error
// says how to install it.
func Helm() (string, error) {
	path := os.Getenv(EnvHelm)
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find helm: %w; run `make tools` or set %s", err, EnvHelm)
		}
		path = filepath.Join(home, ".cache", "flicker-tools", "helm-"+HelmVersion)
	}
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("helm %s: %w; run `make tools` to install it (or set %s to a helm binary)", path, err, EnvHelm)
	}
	if info.IsDir() || info.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("helm %s is not an executable file; run `make tools` (or set %s)", path, EnvHelm)
	}
	return path, nil
}

// Dir is the repository's deploy directory.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// Chart is the chart's directory.
func Chart() string { return filepath.Join(Dir(), "helm", "flicker") }

// Case is one way to render the chart: its name and the helm template arguments after release and chart.
type Case struct {
	Name string
	Args []string
}

// Modes are the chart's modes.
var Modes = []string{"daemonset", "deployment", "aggregator"}

// Cases are the renders the tests check: every mode with its defaults and with its full values file
// (ci/<mode>-values.yaml, every value the mode reads set).
func Cases() []Case {
	var cs []Case
	for _, m := range Modes {
		cs = append(cs,
			Case{Name: m + "-defaults", Args: []string{"--set", "mode=" + m}},
			Case{Name: m + "-full", Args: []string{"-f", filepath.Join(Chart(), "ci", m+"-values.yaml")}})
	}
	return cs
}

// ReadmeCases are the worked examples of the chart's README: each ```yaml block written to a values file.
func ReadmeCases(t testing.TB) []Case {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(Chart(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var cs []Case
	dir := t.TempDir()
	for i, block := range strings.Split(string(data), "```yaml\n")[1:] {
		body, _, ok := strings.Cut(block, "```")
		if !ok {
			t.Fatalf("chart README: yaml block %d is not closed", i+1)
		}
		path := filepath.Join(dir, fmt.Sprintf("readme-%d.yaml", i+1))
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, Case{Name: fmt.Sprintf("readme-example-%d", i+1), Args: []string{"-f", path}})
	}
	if len(cs) != len(Modes) {
		t.Fatalf("chart README: %d yaml examples, want one per mode (%d)", len(cs), len(Modes))
	}
	return cs
}

// Manifest is one plain manifest of deploy/kubernetes and the render it holds.
type Manifest struct {
	File string // in deploy/kubernetes
	Args []string
}

// Manifests are the plain manifests: each mode with an S3 registry where it has one, for users without Helm.
func Manifests() []Manifest {
	return []Manifest{
		{File: "daemonset.yaml", Args: []string{"--set", "mode=daemonset", "--set", "registry.type=s3",
			"--set", "registry.s3.bucket=CHANGE-ME-bucket"}},
		{File: "deployment.yaml", Args: []string{"--set", "mode=deployment", "--set", "registry.type=s3",
			"--set", "registry.s3.bucket=CHANGE-ME-bucket", "--set", "secret.existingSecret=flicker-okta"}},
		{File: "aggregator.yaml", Args: []string{"--set", "mode=aggregator"}},
	}
}

// ManifestHeader starts every plain manifest; Render's output follows it.
func ManifestHeader(m Manifest) string {
	return fmt.Sprintf("# Rendered from deploy/helm/flicker by `make manifests` (helm template %s deploy/helm/flicker "+
		"--namespace %s %s).\n# Do not edit: change the chart and run `make manifests`; a test fails when they "+
		"differ.\n# Apply with: kubectl create namespace %s; kubectl apply -n %s -f %s\n",
		Release, Namespace, strings.Join(m.Args, " "), Namespace, Namespace, m.File)
}

// HelmCmd runs helm with args and returns its stdout, or an error with its stderr.
func HelmCmd(t testing.TB, args ...string) ([]byte, error) {
	t.Helper()
	helm, err := Helm()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(helm, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Helm's own state (plugins, repositories, cache) stays out of the user's home.
	tmp := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+tmp, "HELM_CONFIG_HOME="+tmp, "HELM_DATA_HOME="+tmp)
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// Template renders the chart with args and fails the test when helm does.
func Template(t testing.TB, args ...string) []byte {
	t.Helper()
	out, err := HelmCmd(t, append([]string{"template", Release, Chart(), "--namespace", Namespace}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Object is one document of a stream of Kubernetes objects.
type Object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	JSON []byte `json:"-"` // the document as JSON
}

func (o Object) String() string { return o.Kind + "/" + o.Metadata.Name }

// Split parses a YAML stream into its objects, skipping empty documents. Duplicate keys are errors.
func Split(data []byte) ([]Object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []Object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		js, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", len(objs)+1, err)
		}
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			continue
		}
		var o Object
		if err := json.Unmarshal(js, &o); err != nil {
			return nil, fmt.Errorf("document %d: %w", len(objs)+1, err)
		}
		o.JSON = js
		objs = append(objs, o)
	}
}

// Strict decodes js into v: an unknown or misplaced field, a field in the wrong case and a duplicate field are
// errors, as the API server's strict field validation reports them.
func Strict(js []byte, v any) error {
	strictErrs, err := sigsjson.UnmarshalStrict(js, v)
	if err != nil {
		return err
	}
	return errors.Join(strictErrs...)
}

// Run is one flicker container as a deployment file runs it.
type Run struct {
	Where  string   // the file or render, for messages
	Args   []string // after the image's entrypoint, with $(VAR) references expanded as the kubelet does
	Config string   // the configuration's YAML ("" when it is not in the file: an existing ConfigMap)
	// Env is the environment flicker gets: the downward API's values (samples), the rendered Secret's keys and
	// the container's plain env.
	Env map[string]string
}

// SampleEnv are the downward-API variables with sample values.
var SampleEnv = map[string]string{"NODE_NAME": "node-a", "POD_NAME": "pod-a", "POD_NAMESPACE": Namespace}

// ChartRuns renders every case (the README's examples too) and reads every plain manifest, and returns their
// flicker containers.
func ChartRuns(t testing.TB) []Run {
	t.Helper()
	var runs []Run
	for _, c := range append(Cases(), ReadmeCases(t)...) {
		runs = append(runs, objectRuns(t, "chart "+c.Name, Template(t, c.Args...))...)
	}
	for _, m := range Manifests() {
		data, err := os.ReadFile(filepath.Join(Dir(), "kubernetes", m.File))
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, objectRuns(t, "deploy/kubernetes/"+m.File, data)...)
	}
	return runs
}

// objectRuns finds the flicker containers of the workloads in a YAML stream, their ConfigMap and Secret.
func objectRuns(t testing.TB, where string, data []byte) []Run {
	t.Helper()
	objs, err := Split(data)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	configs, secrets := map[string]string{}, map[string]map[string]string{}
	var pods []corev1.PodSpec
	for _, o := range objs {
		switch o.Kind {
		case "ConfigMap":
			var cm corev1.ConfigMap
			mustStrict(t, where, o, &cm)
			configs[cm.Name] = cm.Data["config.yaml"]
		case "Secret":
			var s corev1.Secret
			mustStrict(t, where, o, &s)
			secrets[s.Name] = s.StringData
		case "DaemonSet":
			var ds appsv1.DaemonSet
			mustStrict(t, where, o, &ds)
			pods = append(pods, ds.Spec.Template.Spec)
		case "Deployment":
			var d appsv1.Deployment
			mustStrict(t, where, o, &d)
			pods = append(pods, d.Spec.Template.Spec)
		}
	}
	var runs []Run
	for _, pod := range pods {
		for _, c := range append(pod.InitContainers, pod.Containers...) {
			if c.Name != "flicker" {
				continue
			}
			env := maps.Clone(SampleEnv)
			for _, ef := range c.EnvFrom {
				if ef.SecretRef != nil {
					for k, v := range secrets[ef.SecretRef.Name] {
						env[k] = v
					}
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					env[e.Name] = Expand(e.Value, env)
				}
			}
			run := Run{Where: where, Env: env}
			for _, a := range append(c.Command[min(len(c.Command), 1):], c.Args...) {
				run.Args = append(run.Args, Expand(a, env))
			}
			for _, v := range pod.Volumes {
				if v.ConfigMap != nil {
					run.Config = configs[v.ConfigMap.Name]
				}
			}
			if cfg, ok := env["FLICKER_CONFIG"]; ok {
				run.Config = cfg
			}
			runs = append(runs, run)
		}
	}
	if len(runs) == 0 {
		t.Fatalf("%s: no flicker container", where)
	}
	return runs
}

// PodRuns returns the flicker containers of a YAML file of Kubernetes objects (the sidecar example).
func PodRuns(t testing.TB, path string) []Run {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(filepath.Dir(Dir()), path)
	return objectRuns(t, rel, data)
}

func mustStrict(t testing.TB, where string, o Object, v any) {
	t.Helper()
	if err := Strict(o.JSON, v); err != nil {
		t.Fatalf("%s: %s: %v", where, o, err)
	}
}

// Expand replaces $(VAR) with env's value as the kubelet does: an unknown reference stays as it is, $$ is $.
func Expand(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case s[i+1] == '$':
			b.WriteByte('$')
			i++
		case s[i+1] == '(':
			end := strings.IndexByte(s[i:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+end]
			if v, ok := env[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+end+1])
			}
			i += end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
