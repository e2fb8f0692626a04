package deploytest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// CloudRunService is the shape of a Cloud Run service (serving.knative.dev/v1 Service, as `gcloud run services
// replace` reads it) with Kubernetes' own container and volume types. The Go module that has Cloud Run's type,
// google.golang.org/api, is too large to add for one test; this struct is checked the same strict way, and its
// containers and volumes are a superset of what Cloud Run accepts.
type CloudRunService struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       struct {
		Template struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
			Spec     struct {
				ServiceAccountName   string             `json:"serviceAccountName,omitempty"`
				ContainerConcurrency *int64             `json:"containerConcurrency,omitempty"`
				TimeoutSeconds       *int64             `json:"timeoutSeconds,omitempty"`
				Containers           []corev1.Container `json:"containers"`
				Volumes              []corev1.Volume    `json:"volumes,omitempty"`
			} `json:"spec"`
		} `json:"template"`
		Traffic []struct {
			Percent        int  `json:"percent"`
			LatestRevision bool `json:"latestRevision,omitempty"`
		} `json:"traffic,omitempty"`
	} `json:"spec"`
}

// CloudRunFile and ECSFile are the deployment files of the other platforms.
var (
	CloudRunFile = filepath.Join(Dir(), "cloudrun", "service.yaml")
	ECSFile      = filepath.Join(Dir(), "ecs", "task-definition.json")
)

// ReadCloudRun decodes the Cloud Run service strictly.
func ReadCloudRun(t testing.TB) CloudRunService {
	t.Helper()
	data, err := os.ReadFile(CloudRunFile)
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		t.Fatalf("%s: %v", CloudRunFile, err)
	}
	var s CloudRunService
	if err := Strict(js, &s); err != nil {
		t.Fatalf("%s: %v", CloudRunFile, err)
	}
	return s
}

// CloudRunRun is the flicker container of the Cloud Run service.
func CloudRunRun(t testing.TB) Run {
	t.Helper()
	s := ReadCloudRun(t)
	for _, c := range s.Spec.Template.Spec.Containers {
		if c.Name == "flicker" {
			env := map[string]string{}
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					env[e.Name] = e.Value
				}
			}
			return Run{Where: "deploy/cloudrun/service.yaml", Args: c.Args, Config: env["FLICKER_CONFIG"], Env: env}
		}
	}
	t.Fatalf("%s: no container named flicker", CloudRunFile)
	return Run{}
}

// ecsTask is the part of an ECS task definition that says how flicker runs.
type ecsTask struct {
	ContainerDefinitions []struct {
		Name        string   `json:"name"`
		Command     []string `json:"command"`
		Environment []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"environment"`
	} `json:"containerDefinitions"`
}

// ECSRun is the flicker container of the ECS task definition.
func ECSRun(t testing.TB) Run {
	t.Helper()
	data, err := os.ReadFile(ECSFile)
	if err != nil {
		t.Fatal(err)
	}
	var task ecsTask
	if err := json.Unmarshal(data, &task); err != nil {
		t.Fatalf("%s: %v", ECSFile, err)
	}
	for _, c := range task.ContainerDefinitions {
		if c.Name == "flicker" {
			env := map[string]string{}
			for _, e := range c.Environment {
				env[e.Name] = e.Value
			}
			return Run{Where: "deploy/ecs/task-definition.json", Args: c.Command, Config: env["FLICKER_CONFIG"], Env: env}
		}
	}
	t.Fatalf("%s: no container named flicker", ECSFile)
	return Run{}
}

// SidecarFile is the sidecar example.
var SidecarFile = filepath.Join(Dir(), "examples", "tomcat-sidecar.yaml")

// AllRuns are the flicker containers of every deployment file: the chart's cases, the plain manifests, the
// sidecar example, ECS and Cloud Run.
func AllRuns(t testing.TB) []Run {
	t.Helper()
	runs := ChartRuns(t)
	runs = append(runs, PodRuns(t, SidecarFile)...)
	return append(runs, ECSRun(t), CloudRunRun(t))
}
