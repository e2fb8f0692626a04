package kubemeta

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestOwnerOf(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		name   string
		ref    *metav1.OwnerReference
		labels map[string]string
		want   Owner
	}{
		{"none", nil, nil, Owner{}},
		{"deployment", &metav1.OwnerReference{Kind: "ReplicaSet", Name: "shop-api-5d9f8b7c6"}, map[string]string{templateHashLabel: "5d9f8b7c6"}, Owner{"Deployment", "shop-api"}},
		{"bare replicaset", &metav1.OwnerReference{Kind: "ReplicaSet", Name: "shop-api"}, nil, Owner{"ReplicaSet", "shop-api"}},
		{"hash not the suffix", &metav1.OwnerReference{Kind: "ReplicaSet", Name: "shop-abc"}, map[string]string{templateHashLabel: "5d9f8b7c6"}, Owner{"ReplicaSet", "shop-abc"}},
		{"cronjob", &metav1.OwnerReference{Kind: "Job", Name: "nightly-backup-29412360"}, nil, Owner{"CronJob", "nightly-backup"}},
		{"plain job", &metav1.OwnerReference{Kind: "Job", Name: "migrate-2024"}, nil, Owner{"Job", "migrate-2024"}},
		{"job with a word suffix", &metav1.OwnerReference{Kind: "Job", Name: "migrate-v2"}, nil, Owner{"Job", "migrate-v2"}},
		{"statefulset", &metav1.OwnerReference{Kind: "StatefulSet", Name: "db"}, nil, Owner{"StatefulSet", "db"}},
		{"daemonset", &metav1.OwnerReference{Kind: "DaemonSet", Name: "agent"}, nil, Owner{"DaemonSet", "agent"}},
		{"other controller", &metav1.OwnerReference{Kind: "Rollout", Name: "canary", Controller: &yes}, nil, Owner{"Rollout", "canary"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ownerOf(tc.ref, tc.labels); got != tc.want {
				t.Errorf("ownerOf = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestStripKeepsOnlyWhatIsNeeded(t *testing.T) {
	yes, no := true, false
	in := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web-1", Namespace: "prod", UID: "u1", ResourceVersion: "7",
			Labels:        map[string]string{"app": "web"},
			Annotations:   map[string]string{"keep": "1", "kubectl.kubernetes.io/last-applied-configuration": "{}"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
			OwnerReferences: []metav1.OwnerReference{
				{Kind: "Node", Name: "n", Controller: &no},
				{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "web", UID: "s1", Controller: &yes},
			},
			Finalizers: []string{"f"},
		},
		Spec:   corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "c", Image: "i"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1"},
	}
	meta := metav1.ObjectMeta{
		Name: "web-1", Namespace: "prod", UID: "u1", ResourceVersion: "7",
		Labels:          map[string]string{"app": "web"},
		Annotations:     map[string]string{"keep": "1"},
		OwnerReferences: []metav1.OwnerReference{{Kind: "StatefulSet", Name: "web", Controller: &yes}},
	}
	keep := map[string]struct{}{"keep": {}}
	if got, want := strip(in, keep), (&corev1.Pod{ObjectMeta: meta, Spec: corev1.PodSpec{NodeName: "node-a"}}); !reflect.DeepEqual(got, want) {
		t.Errorf("strip =\n%+v\nwant\n%+v", got, want)
	}
	cached := transform(in, keep)
	if want := (&cachedPod{ObjectMeta: meta, NodeName: "node-a"}); !reflect.DeepEqual(cached, want) {
		t.Errorf("transform =\n%+v\nwant\n%+v", cached, want)
	}
	if again := transform(cached, keep); again != cached {
		t.Errorf("transform of a cached pod = %+v, want it as it is", again)
	}
	if got := strip(in, nil); got.Annotations != nil {
		t.Errorf("strip with no allowed annotation kept %v", got.Annotations)
	}
}
