package container

import (
	"encoding/json"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/sources/file"
)

// NewKubernetes returns the source of a kubernetes entry (defaulted and validated): the file source over the
// kubelet's pod logs, decoding the CRI format, keeping the pods the namespace filters admit and adding each
// container's metadata from its log's path.
func NewKubernetes(cfg KubeConfig, reg file.Registry, opts file.Options, log zerolog.Logger) (*file.Source, error) {
	if cfg.Metadata != MetadataPath {
		return nil, fmt.Errorf("kubernetes input %q: metadata %s is not supported in this build", cfg.Name, cfg.Metadata)
	}
	m := &kubeMeta{cfg: &cfg}
	opts.Formats, opts.Streams, opts.Admit, opts.Meta, opts.InputType = Formats(), cfg.Streams, m.admit, m.meta, "kubernetes"
	if len(cfg.Streams) == len(streamsAll) {
		opts.Streams = nil
	}
	return file.New(cfg.FileConfig(), reg, opts, log)
}

// kubeMeta admits and describes the container logs of a kubernetes input from their paths. Used from the file
// source's reader goroutine only.
type kubeMeta struct {
	cfg *KubeConfig
}

// admit reads the logs the kubelet names (not stray files in the pods directory) of the namespaces the filters
// admit.
func (m *kubeMeta) admit(p string) bool {
	log, err := ParsePodLogPath(p)
	if err != nil {
		return false
	}
	if len(m.cfg.IncludeNamespaces) > 0 && !matchAny(m.cfg.IncludeNamespaces, log.Namespace) {
		return false
	}
	return !matchAny(m.cfg.ExcludeNamespaces, log.Namespace)
}

// meta gives the kubernetes members of the events of the log at p. It is where metadata: api will add the
// pod's labels, annotations, node and owner from the API server's watch, looked up by the pod uid (the file
// source asks again at every scan, so what the watch learns later reaches the lines read after it).
func (m *kubeMeta) meta(p string) []byte {
	log, err := ParsePodLogPath(p)
	if err != nil {
		return nil // not admitted
	}
	return kubeMembers(log)
}

// kubeDoc is the kubernetes member of an event, as the path gives it.
type kubeDoc struct {
	Namespace string `json:"namespace"`
	Pod       struct {
		Name string `json:"name"`
		UID  string `json:"uid"`
	} `json:"pod"`
	Container struct {
		Name         string `json:"name"`
		RestartCount int    `json:"restart_count"`
	} `json:"container"`
}

func kubeMembers(log PodLog) []byte {
	var doc kubeDoc
	doc.Namespace, doc.Pod.Name, doc.Pod.UID = log.Namespace, log.Pod, log.PodUID
	doc.Container.Name, doc.Container.RestartCount = log.Container, log.RestartCount
	b, err := json.Marshal(doc)
	if err != nil { // not reachable: strings and an int
		panic(fmt.Sprintf("kubernetes metadata: %v", err))
	}
	return append([]byte(`,"kubernetes":`), b...)
}

// PodName returns "<namespace>/<pod>/<container>" for a kubelet container log (or a rotation of it) at p, read
// from the path alone; empty when p is not one. For `registry show`.
func PodName(p string) string {
	log, err := ParsePodLogPath(p)
	if err != nil {
		return ""
	}
	return log.Namespace + "/" + log.Pod + "/" + log.Container
}
