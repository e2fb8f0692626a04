package kubemeta

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// strip returns the parts of a pod the cache keeps, in a new object, so the decoded original (managedFields,
// spec, status: tens of KiB) can be collected. It is the informer's transform, run before anything is stored.
func strip(pod *corev1.Pod, annotations map[string]struct{}) *corev1.Pod {
	out := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name:            pod.Name,
		Namespace:       pod.Namespace,
		UID:             pod.UID,
		ResourceVersion: pod.ResourceVersion,
		Labels:          pod.Labels,
	}}
	out.Spec.NodeName = pod.Spec.NodeName
	for key, value := range pod.Annotations {
		if _, ok := annotations[key]; ok {
			if out.Annotations == nil {
				out.Annotations = make(map[string]string, len(annotations))
			}
			out.Annotations[key] = value
		}
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		out.OwnerReferences = []metav1.OwnerReference{{Kind: ref.Kind, Name: ref.Name, Controller: ref.Controller}}
	}
	return out
}

// podOf turns a stripped pod into the cache's Pod.
func podOf(pod *corev1.Pod) Pod {
	return Pod{
		UID:         string(pod.UID),
		Namespace:   pod.Namespace,
		Name:        pod.Name,
		NodeName:    pod.Spec.NodeName,
		Labels:      pod.Labels,
		Annotations: pod.Annotations,
		Owner:       ownerOf(metav1.GetControllerOfNoCopy(pod), pod.Labels),
	}
}
