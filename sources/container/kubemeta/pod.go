package kubemeta

import "strings"

// Pod is what the cache keeps of a pod. Its maps are shared with the cache: read them, never change them.
type Pod struct {
	UID         string
	Namespace   string
	Name        string
	NodeName    string
	Labels      map[string]string
	Annotations map[string]string // only the keys of Config.Annotations
	Owner       Owner             // zero when no controller owns the pod
	// Controller is the pod's controller reference as it stands (a ReplicaSet, a Job), zero when none: events
	// name it next to Owner, as Filebeat's replicaset.name and job.name.
	Controller Owner
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

// ownerOf names the controller of a pod from its controller reference (kind, name) and labels alone, with no
// further API call: that keeps the RBAC to pods only and the cost to one watch.
func ownerOf(kind, name string, labels map[string]string) Owner {
	switch kind {
	case "ReplicaSet":
		if hash := labels[templateHashLabel]; hash != "" {
			if deployment, ok := strings.CutSuffix(name, "-"+hash); ok && deployment != "" {
				return Owner{Kind: "Deployment", Name: deployment}
			}
		}
	case "Job":
		if i := strings.LastIndexByte(name, '-'); i > 0 && len(name)-i-1 >= cronJobSuffixDigits && allDigits(name[i+1:]) {
			return Owner{Kind: "CronJob", Name: name[:i]}
		}
	}
	return Owner{Kind: kind, Name: name}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// podOf turns a decoded pod into the cache's Pod, keeping only the annotations of keep.
func podOf(obj *podObject, keep map[string]struct{}) Pod {
	m := &obj.Metadata
	p := Pod{UID: m.UID, Namespace: m.Namespace, Name: m.Name, NodeName: obj.Spec.NodeName, Labels: m.Labels}
	for key, value := range m.Annotations {
		if _, ok := keep[key]; ok {
			if p.Annotations == nil {
				p.Annotations = make(map[string]string, len(keep))
			}
			p.Annotations[key] = value
		}
	}
	for i := range m.OwnerReferences {
		if ref := &m.OwnerReferences[i]; ref.Controller != nil && *ref.Controller {
			p.Owner, p.Controller = ownerOf(ref.Kind, ref.Name, m.Labels), Owner{Kind: ref.Kind, Name: ref.Name}
			break
		}
	}
	return p
}
