package deploy_test

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/flickerlog/flicker/deploy/deploytest"
)

// TestSidecarExample: the Tomcat example decodes strictly; flicker is a native sidecar (an init container with
// restartPolicy Always) sharing Tomcat's log directory, configured inline, its registry keyed by the pod's name.
func TestSidecarExample(t *testing.T) {
	data, err := os.ReadFile(deploytest.SidecarFile)
	if err != nil {
		t.Fatal(err)
	}
	r := decodeAll(t, "tomcat-sidecar.yaml", data)
	pod := only[*appsv1.Deployment](t, r, "Deployment").Spec.Template.Spec
	if len(pod.InitContainers) != 1 || pod.InitContainers[0].Name != "flicker" {
		t.Fatalf("init containers %v: want flicker", pod.InitContainers)
	}
	fl := pod.InitContainers[0]
	if fl.RestartPolicy == nil || *fl.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Fatal("flicker is not a native sidecar (restartPolicy: Always)")
	}
	mountOf := func(c corev1.Container, path string) (corev1.VolumeMount, bool) {
		for _, m := range c.VolumeMounts {
			if m.MountPath == path {
				return m, true
			}
		}
		return corev1.VolumeMount{}, false
	}
	const logs = "/usr/local/tomcat/logs"
	fm, ok1 := mountOf(fl, logs)
	tm, ok2 := mountOf(pod.Containers[0], logs)
	if !ok1 || !ok2 || fm.Name != tm.Name || !fm.ReadOnly {
		t.Fatalf("flicker's %s mount %+v and tomcat's %+v: want one volume, read-only for flicker", logs, fm, tm)
	}
	for _, v := range pod.Volumes {
		if v.Name == fm.Name && v.EmptyDir == nil {
			t.Fatalf("volume %s is not an emptyDir", v.Name)
		}
	}
	if reg, _ := flagValue(fl.Args, "--registry-file"); !strings.Contains(reg, "/$(POD_NAME)/") {
		t.Fatalf("--registry-file %q is not keyed by $(POD_NAME)", reg)
	}
	run := deploytest.PodRuns(t, deploytest.SidecarFile)[0]
	if _, ok := flagValue(run.Args, "--config"); ok || !strings.Contains(run.Config, "localhost_access_log.*") ||
		!strings.Contains(run.Config, "type: elasticsearch") || !strings.Contains(run.Config, "type: stdout") {
		t.Fatalf("want the configuration inline in FLICKER_CONFIG, tailing localhost_access_log.* to elasticsearch and stdout; args %q, config:\n%s", run.Args, run.Config)
	}
	if !bytes.Contains(data, []byte("flicker_queue_bytes")) {
		t.Fatal("the example does not name the metric that shows how far behind flicker is")
	}
}

// TestECSTaskDefinition decodes the task definition strictly into the AWS SDK's RegisterTaskDefinitionInput (what
// `aws ecs register-task-definition --cli-input-json` takes) and checks Fargate, the task role's policy (Get and
// Put on the registry's prefix only), the token from Secrets Manager and a stop timeout above --shutdown-timeout.
func TestECSTaskDefinition(t *testing.T) {
	data, err := os.ReadFile(deploytest.ECSFile)
	if err != nil {
		t.Fatal(err)
	}
	var td ecs.RegisterTaskDefinitionInput
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&td); err != nil {
		t.Fatalf("%s: %v", deploytest.ECSFile, err)
	}
	// The SDK's types have no JSON tags, so encoding/json matches keys without regard to case: check the case.
	var raw any
	_ = json.Unmarshal(data, &raw)
	if err := checkKeyCase(raw, reflect.TypeOf(td), ""); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(td.RequiresCompatibilities, ecstypes.CompatibilityFargate) || td.NetworkMode != ecstypes.NetworkModeAwsvpc {
		t.Fatalf("compatibilities %v, network mode %s: want FARGATE and awsvpc", td.RequiresCompatibilities, td.NetworkMode)
	}
	if td.TaskRoleArn == nil || td.ExecutionRoleArn == nil {
		t.Fatal("want a task role (S3) and an execution role (Secrets Manager)")
	}
	c := td.ContainerDefinitions[0]
	var tokenFromSecrets bool
	for _, s := range c.Secrets {
		tokenFromSecrets = tokenFromSecrets || (*s.Name == "OKTA_API_TOKEN" && strings.HasPrefix(*s.ValueFrom, "arn:aws:secretsmanager:"))
	}
	if !tokenFromSecrets {
		t.Fatal("the Okta token does not come from Secrets Manager")
	}
	timeout, _ := flagValue(c.Command, "--shutdown-timeout")
	secs, err := strconv.Atoi(strings.TrimSuffix(timeout, "s"))
	if err != nil || c.StopTimeout == nil || int(*c.StopTimeout) <= secs {
		t.Fatalf("stopTimeout %v, --shutdown-timeout %q: want the stop timeout above it", c.StopTimeout, timeout)
	}
	registry, _ := flagValue(c.Command, "--registry-file")

	var policy struct {
		Version   string
		Statement []struct {
			Sid      string
			Effect   string
			Action   []string
			Resource string
		}
	}
	pdata, err := os.ReadFile(strings.Replace(deploytest.ECSFile, "task-definition.json", "task-role-policy.json", 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(pdata, &policy); err != nil {
		t.Fatal(err)
	}
	if len(policy.Statement) != 1 {
		t.Fatalf("%d policy statements, want 1", len(policy.Statement))
	}
	st := policy.Statement[0]
	bucketKey := strings.TrimPrefix(registry, "s3://")
	prefix := bucketKey[:strings.LastIndexByte(bucketKey, '/')+1]
	if st.Effect != "Allow" || !slices.Equal(st.Action, []string{"s3:GetObject", "s3:PutObject"}) ||
		st.Resource != "arn:aws:s3:::"+prefix+"*" {
		t.Fatalf("policy statement %+v: want Allow s3:GetObject and s3:PutObject on arn:aws:s3:::%s*", st, prefix)
	}
}

// checkKeyCase reports a JSON key that matches a field of t only without regard to case (the AWS JSON names are
// the Go field names with a lower-case first letter).
func checkKeyCase(v any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, _ := v.(map[string]any)
		for key, val := range m {
			f, ok := t.FieldByNameFunc(func(name string) bool { return strings.EqualFold(name, key) })
			if !ok {
				continue // DisallowUnknownFields reported it
			}
			r := []rune(f.Name)
			r[0] = unicode.ToLower(r[0])
			if key != string(r) {
				return &keyCaseError{path + "." + key, string(r)}
			}
			if err := checkKeyCase(val, f.Type, path+"."+key); err != nil {
				return err
			}
		}
	case reflect.Slice:
		list, _ := v.([]any)
		for i, e := range list {
			if err := checkKeyCase(e, t.Elem(), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	case reflect.Map:
		m, _ := v.(map[string]any)
		for k, e := range m {
			if err := checkKeyCase(e, t.Elem(), path+"."+k); err != nil {
				return err
			}
		}
	}
	return nil
}

type keyCaseError struct{ path, want string }

func (e *keyCaseError) Error() string { return "key " + e.path + ": want the spelling " + e.want }

// TestECSKeyCaseCheck: the case check catches what encoding/json lets through.
func TestECSKeyCaseCheck(t *testing.T) {
	var raw any
	_ = json.Unmarshal([]byte(`{"family":"f","containerDefinitions":[{"Name":"flicker"}]}`), &raw)
	if err := checkKeyCase(raw, reflect.TypeOf(ecs.RegisterTaskDefinitionInput{}), ""); err == nil ||
		!strings.Contains(err.Error(), ".containerDefinitions[0].Name") {
		t.Fatalf("error %v; want one naming .containerDefinitions[0].Name", err)
	}
}

// TestCloudRunService decodes the service strictly (deploytest.CloudRunService) and checks one instance (GCS's S3
// endpoint cannot fence a second writer), the state dir in memory, GCS through its S3 endpoint, and a shutdown
// budget inside Cloud Run's 10 seconds.
func TestCloudRunService(t *testing.T) {
	s := deploytest.ReadCloudRun(t)
	if s.APIVersion != "serving.knative.dev/v1" || s.Kind != "Service" {
		t.Fatalf("%s %s: want serving.knative.dev/v1 Service", s.APIVersion, s.Kind)
	}
	ann := s.Spec.Template.Metadata.Annotations
	if ann["autoscaling.knative.dev/maxScale"] != "1" || ann["autoscaling.knative.dev/minScale"] != "1" {
		t.Fatalf("scale annotations %v: want exactly one instance", ann)
	}
	spec := s.Spec.Template.Spec
	var memory bool
	for _, v := range spec.Volumes {
		memory = memory || (v.EmptyDir != nil && v.EmptyDir.Medium == corev1.StorageMediumMemory)
	}
	if !memory {
		t.Fatal("no in-memory volume for the state dir")
	}
	args := spec.Containers[0].Args
	if e, _ := flagValue(args, "--s3-endpoint"); e != "https://storage.googleapis.com" {
		t.Fatalf("--s3-endpoint %q: want GCS's S3 endpoint", e)
	}
	d, _ := flagValue(args, "--shutdown-timeout")
	if dur, err := time.ParseDuration(d); err != nil || dur >= 10*time.Second {
		t.Fatalf("--shutdown-timeout %q: want less than Cloud Run's 10s", d)
	}
}
