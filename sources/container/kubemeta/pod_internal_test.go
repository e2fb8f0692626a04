package kubemeta

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestOwnerOf(t *testing.T) {
	for _, tc := range []struct {
		name      string
		kind, ref string
		labels    map[string]string
		want      Owner
	}{
		{"deployment", "ReplicaSet", "shop-api-5d9f8b7c6", map[string]string{templateHashLabel: "5d9f8b7c6"}, Owner{"Deployment", "shop-api"}},
		{"bare replicaset", "ReplicaSet", "shop-api", nil, Owner{"ReplicaSet", "shop-api"}},
		{"hash not the suffix", "ReplicaSet", "shop-abc", map[string]string{templateHashLabel: "5d9f8b7c6"}, Owner{"ReplicaSet", "shop-abc"}},
		{"cronjob", "Job", "nightly-backup-29412360", nil, Owner{"CronJob", "nightly-backup"}},
		{"plain job", "Job", "migrate-2024", nil, Owner{"Job", "migrate-2024"}},
		{"job with a word suffix", "Job", "migrate-v2", nil, Owner{"Job", "migrate-v2"}},
		{"statefulset", "StatefulSet", "db", nil, Owner{"StatefulSet", "db"}},
		{"daemonset", "DaemonSet", "agent", nil, Owner{"DaemonSet", "agent"}},
		{"other controller", "Rollout", "canary", nil, Owner{"Rollout", "canary"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ownerOf(tc.kind, tc.ref, tc.labels); got != tc.want {
				t.Errorf("ownerOf = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestPodOfKeepsOnlyWhatIsNeeded decodes a pod as the API server sends it and checks what the cache keeps.
func TestPodOfKeepsOnlyWhatIsNeeded(t *testing.T) {
	const in = `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web-1","namespace":"prod","uid":"u1",
		"resourceVersion":"7","labels":{"app":"web"},
		"annotations":{"keep":"1","kubectl.kubernetes.io/last-applied-configuration":"{}"},
		"managedFields":[{"manager":"kubectl","fieldsV1":{"f:metadata":{}}}],
		"ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"n","uid":"x","controller":false},
			{"apiVersion":"apps/v1","kind":"StatefulSet","name":"web","uid":"s1","controller":true}],
		"finalizers":["f"]},
		"spec":{"nodeName":"node-a","containers":[{"name":"c","image":"i"}]},
		"status":{"phase":"Running","podIP":"10.0.0.1"}}`
	var obj podObject
	if err := json.Unmarshal([]byte(in), &obj); err != nil {
		t.Fatal(err)
	}
	want := Pod{UID: "u1", Namespace: "prod", Name: "web-1", NodeName: "node-a",
		Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"keep": "1"},
		Owner: Owner{"StatefulSet", "web"}, Controller: Owner{"StatefulSet", "web"}}
	if got := podOf(&obj, map[string]struct{}{"keep": {}}); !reflect.DeepEqual(got, want) {
		t.Errorf("podOf =\n%+v\nwant\n%+v", got, want)
	}
	if got := podOf(&obj, nil); got.Annotations != nil {
		t.Errorf("podOf with no allowed annotation kept %v", got.Annotations)
	}
	obj.Metadata.OwnerReferences = obj.Metadata.OwnerReferences[:1] // only a non-controller reference
	if got := podOf(&obj, nil); got.Owner != (Owner{}) {
		t.Errorf("podOf without a controller: Owner = %+v", got.Owner)
	}
}
