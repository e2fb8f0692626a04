package container

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sources/container/kubemeta"
	"github.com/flickerlog/flicker/sources/file"
)

// Kubernetes is the source of a kubernetes entry: the file source over the kubelet's pod logs and, with
// metadata: api, the watch of this node's pods that Run starts and stops with it.
type Kubernetes struct {
	*file.Source
	meta *kubeMeta
}

// NewKubernetes returns the source of a kubernetes entry (defaulted and validated): the file source over the
// kubelet's pod logs, decoding the CRI format, keeping the pods the namespace filters admit and adding each
// container's metadata from its log's path, and with metadata: api from the API server. It sends no request:
// Run does.
func NewKubernetes(cfg KubeConfig, reg file.Registry, opts file.Options, log zerolog.Logger) (*Kubernetes, error) {
	m := &kubeMeta{cfg: &cfg}
	if cfg.Metadata == MetadataAPI {
		w, err := kubemeta.New(cfg.WatcherConfig(), log.With().Str("input", cfg.Name).Logger())
		if err != nil {
			return nil, renameWatcherFields(err) // cmd/flicker names the input
		}
		m.pods, m.wait = w, cfg.MetadataWait
	}
	opts.Formats, opts.Streams, opts.Admit, opts.Meta, opts.InputType = Formats(), cfg.Streams, m.admit, m.meta, "kubernetes"
	if len(cfg.Streams) == len(streamsAll) {
		opts.Streams = nil
	}
	src, err := file.New(cfg.FileConfig(), reg, opts, log)
	if err != nil {
		return nil, err
	}
	return &Kubernetes{Source: src, meta: m}, nil
}

// Run reads the pod logs until ctx ends (or, in once mode, until what they held at start is read), as the file
// source's Run. With metadata: api it runs the pod watcher alongside, in a goroutine it owns, and returns only
// after the watcher has stopped.
func (k *Kubernetes) Run(ctx context.Context, pub engine.Publisher) error {
	w := k.meta.pods
	if w == nil {
		return k.Source.Run(ctx, pub)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watched := make(chan error, 1)
	go func() { watched <- w.Run(ctx) }()
	stopWaiting := k.meta.start(ctx, time.Now())
	err := k.Source.Run(ctx, pub)
	stopWaiting()
	cancel()
	if werr := <-watched; werr != nil && err == nil {
		err = fmt.Errorf("kubernetes input %q: pod watcher: %w", k.Input().Name, werr)
	}
	return err
}

// MetadataMissing reports how many lookups of a pod's API metadata found nothing (the events went out with
// what the path says), and false with metadata: path.
func (k *Kubernetes) MetadataMissing() (uint64, bool) {
	if k.meta.pods == nil {
		return 0, false
	}
	return k.meta.pods.Stats().Missing, true
}

// kubeMeta admits and describes the container logs of a kubernetes input from their paths and, with metadata:
// api, the pod watcher's cache. Used from the file source's reader goroutine only, but for start, called
// before it runs.
type kubeMeta struct {
	cfg  *KubeConfig
	pods *kubemeta.Watcher // nil with metadata: path
	wait time.Duration     // metadata_wait

	// Lookups wait for the watcher only within one window at start (see lookupCtx).
	waitCtx   context.Context // ends at waitUntil, or when the source stops
	waitUntil time.Time
	noWait    context.Context // already done: a lookup answers from the cache at once
}

// start opens the wait window, from now until the watcher's first list or now+metadata_wait, whichever comes
// first; the returned func closes it and returns once the goroutine that watches for the list has ended.
func (m *kubeMeta) start(ctx context.Context, now time.Time) (stop func()) {
	m.waitUntil = now.Add(m.wait)
	var cancel context.CancelFunc
	m.waitCtx, cancel = context.WithDeadline(ctx, m.waitUntil)
	noWait, cancelNoWait := context.WithCancel(ctx)
	cancelNoWait()
	m.noWait = noWait
	// A lookup of a pod that the first list did not hold (the logs of a deleted pod) waits only until the list.
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-m.pods.Listed():
			cancel()
		case <-m.waitCtx.Done():
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// lookupCtx bounds a lookup. The hook runs on the file source's single reader goroutine, so a wait per unknown
// pod would add up (500 pods read at start with the API server down: 500 waits). Instead, lookups wait only
// until the watcher's first list has been cached, and at most until metadata_wait after the start, all of
// them within that one window: the whole input stalls at most metadata_wait once. After the first list (or
// the window), a lookup never waits: an unknown pod is then one the API server does not have or cannot tell
// yet (a pod is bound to the node, and watched, before its containers start and write), and its lines ship
// with what the path says; the file source asks again at every scan, so the lines read after the watch
// learns the pod carry its metadata.
func (m *kubeMeta) lookupCtx(now time.Time) context.Context {
	if m.pods.Synced() || !now.Before(m.waitUntil) {
		return m.noWait
	}
	return m.waitCtx
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

// meta gives the kubernetes members of the events of the log at p: what the path says and, with metadata: api
// and the pod known to the watcher, its node, labels, allow-listed annotations and owner. The file source
// asks again at every scan, so what the watch learns later reaches the lines read after it.
func (m *kubeMeta) meta(p string) []byte {
	log, err := ParsePodLogPath(p)
	if err != nil {
		return nil // not admitted
	}
	if m.pods == nil {
		return kubeMembers(log, nil)
	}
	pod, ok := m.pods.Pod(m.lookupCtx(time.Now()), log.PodUID)
	if !ok {
		return kubeMembers(log, nil)
	}
	return kubeMembers(log, &pod)
}

// kubeDoc is the kubernetes member of an event: what the path gives, then what the API server gives, with
// Filebeat's add_kubernetes_metadata names (node.name, labels, annotations, <kind>.name of the controllers).
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
	Node        *named            `json:"node,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Deployment  *named            `json:"deployment,omitempty"`
	ReplicaSet  *named            `json:"replicaset,omitempty"`
	StatefulSet *named            `json:"statefulset,omitempty"`
	DaemonSet   *named            `json:"daemonset,omitempty"`
	Job         *named            `json:"job,omitempty"`
	CronJob     *named            `json:"cronjob,omitempty"`
}

type named struct {
	Name string `json:"name"`
}

// kubeMembers renders the kubernetes member of log's events, with pod's metadata when pod is not nil.
func kubeMembers(log PodLog, pod *kubemeta.Pod) []byte {
	var doc kubeDoc
	doc.Namespace, doc.Pod.Name, doc.Pod.UID = log.Namespace, log.Pod, log.PodUID
	doc.Container.Name, doc.Container.RestartCount = log.Container, log.RestartCount
	if pod != nil {
		if pod.NodeName != "" {
			doc.Node = &named{pod.NodeName}
		}
		doc.Labels, doc.Annotations = dedot(pod.Labels), dedot(pod.Annotations)
		for _, o := range []kubemeta.Owner{pod.Controller, pod.Owner} {
			doc.setOwner(o)
		}
	}
	b, err := json.Marshal(doc)
	if err != nil { // not reachable: strings and an int
		panic(fmt.Sprintf("kubernetes metadata: %v", err))
	}
	return append([]byte(`,"kubernetes":`), b...)
}

// setOwner sets the <kind>.name member of a controller of the kinds Filebeat names; others are left out.
func (d *kubeDoc) setOwner(o kubemeta.Owner) {
	var slot **named
	switch o.Kind {
	case "Deployment":
		slot = &d.Deployment
	case "ReplicaSet":
		slot = &d.ReplicaSet
	case "StatefulSet":
		slot = &d.StatefulSet
	case "DaemonSet":
		slot = &d.DaemonSet
	case "Job":
		slot = &d.Job
	case "CronJob":
		slot = &d.CronJob
	default:
		return
	}
	*slot = &named{o.Name}
}

// dedot replaces the dots of the keys with underscores, as Filebeat does by default (labels.dedot,
// annotations.dedot): Elasticsearch reads a dot in a field name as nesting, so app and app.kubernetes.io/name
// would clash. A map without dotted keys is returned as it is (the watcher's, shared and never changed).
func dedot(m map[string]string) map[string]string {
	dotted := false
	for k := range m {
		if strings.Contains(k, ".") {
			dotted = true
			break
		}
	}
	if !dotted {
		return m
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ReplaceAll(k, ".", "_")] = v
	}
	return out
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
