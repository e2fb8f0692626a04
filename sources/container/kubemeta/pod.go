package kubemeta

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Pod is what the cache keeps of a pod. Its maps are shared with the cache: read them, never change them.
type Pod struct {
	UID         string
	Namespace   string
	Name        string
	NodeName    string
	Labels      map[string]string
	Annotations map[string]string // only the keys of Config.Annotations
	Owner       Owner             // zero when no controller owns the pod
}

// Owner is the workload that controls a pod, as a person names it: a Deployment rather than its ReplicaSet, a
// CronJob rather than the Job it created.
type Owner struct {
	Kind string // Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, or another controller's kind
	Name string
}

// templateHashLabel is the label a Deployment puts on its ReplicaSets' pods; the ReplicaSet is named
// <deployment>-<hash>.
const templateHashLabel = "pod-template-hash"

// cronJobSuffixDigits is the least number of digits of a Job name's suffix for the Job to count as a CronJob's:
// the CronJob controller names its Jobs <cronjob>-<scheduled time in minutes since the Unix epoch>
// (kubernetes pkg/controller/cronjob, getJobName), 8 digits since 1989. Requiring 8 keeps a plain Job named
// "backup-2024" a Job.
const cronJobSuffixDigits = 8

// ownerOf names the controller of a pod from its controller reference and labels alone, with no further API
// call: that keeps the RBAC to pods only and the cost to one watch.
func ownerOf(ref *metav1.OwnerReference, labels map[string]string) Owner {
	if ref == nil {
		return Owner{}
	}
	switch ref.Kind {
	case "ReplicaSet":
		if hash := labels[templateHashLabel]; hash != "" {
			if name, ok := strings.CutSuffix(ref.Name, "-"+hash); ok && name != "" {
				return Owner{Kind: "Deployment", Name: name}
			}
		}
	case "Job":
		if i := strings.LastIndexByte(ref.Name, '-'); i > 0 && len(ref.Name)-i-1 >= cronJobSuffixDigits && allDigits(ref.Name[i+1:]) {
			return Owner{Kind: "CronJob", Name: ref.Name[:i]}
		}
	}
	return Owner{Kind: ref.Kind, Name: ref.Name}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// cachedPod is what the informer stores of a pod: the stripped metadata and the node name, a fifth of the size
// of a corev1.Pod even when that is stripped empty.
type cachedPod struct {
	metav1.ObjectMeta
	NodeName string
}

func (*cachedPod) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

func (p *cachedPod) DeepCopyObject() runtime.Object {
	return &cachedPod{ObjectMeta: *p.ObjectMeta.DeepCopy(), NodeName: p.NodeName}
}

// transform returns what is kept of a pod, in new objects, so the decoded original (managedFields, spec, status:
// kilobytes) can be collected. It is the informer's transform, run before anything is stored, and it returns
// an object that is already a cachedPod as it is.
func transform(obj any, keep map[string]struct{}) any {
	switch pod := obj.(type) {
	case *corev1.Pod:
		return &cachedPod{ObjectMeta: stripMeta(&pod.ObjectMeta, keep), NodeName: pod.Spec.NodeName}
	}
	return obj // a cachedPod, or a tombstone whose pod was transformed when it was stored
}

// strip returns a pod with only what the cache keeps, for a list being decoded.
func strip(pod *corev1.Pod, keep map[string]struct{}) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: stripMeta(&pod.ObjectMeta, keep), Spec: corev1.PodSpec{NodeName: pod.Spec.NodeName}}
}

// stripMeta keeps the name, namespace, UID, resource version, labels, the annotations of keep and the
// controller reference (its kind and name).
func stripMeta(m *metav1.ObjectMeta, keep map[string]struct{}) metav1.ObjectMeta {
	out := metav1.ObjectMeta{
		Name:            m.Name,
		Namespace:       m.Namespace,
		UID:             m.UID,
		ResourceVersion: m.ResourceVersion,
		Labels:          m.Labels,
	}
	for key, value := range m.Annotations {
		if _, ok := keep[key]; ok {
			if out.Annotations == nil {
				out.Annotations = make(map[string]string, len(keep))
			}
			out.Annotations[key] = value
		}
	}
	if ref := metav1.GetControllerOfNoCopy(m); ref != nil {
		out.OwnerReferences = []metav1.OwnerReference{{Kind: ref.Kind, Name: ref.Name, Controller: ref.Controller}}
	}
	return out
}

// podOf turns a cached pod into the cache's Pod.
func podOf(pod *cachedPod) Pod {
	return Pod{
		UID:         string(pod.UID),
		Namespace:   pod.Namespace,
		Name:        pod.Name,
		NodeName:    pod.NodeName,
		Labels:      pod.Labels,
		Annotations: pod.Annotations,
		Owner:       ownerOf(metav1.GetControllerOfNoCopy(pod), pod.Labels),
	}
}
