package container

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/flickerlog/flicker/internal/fielderr"
	"github.com/flickerlog/flicker/sources/container/kubemeta"
	"github.com/flickerlog/flicker/sources/file"
)

// KubeConfig is one entry of kubernetes: the CRI logs of the pods' containers under Path, as the kubelet keeps
// them on a node (containerd or CRI-O).
type KubeConfig struct {
	// Name identifies the input; registry state is keyed by it.
	Name string `yaml:"name"`
	// Path is the kubelet's pods directory: <Path>/<namespace>_<pod>_<uid>/<container>/<n>.log and its
	// rotations <n>.log.<YYYYMMDD-hhmmss> (not .gz). The kubelet's symlinks in /var/log/containers are not read.
	Path string `yaml:"path"`
	// IncludeNamespaces and ExcludeNamespaces are globs on the pod's namespace. A pod is read when its namespace
	// matches an include glob (or there are none) and no exclude glob.
	IncludeNamespaces []string `yaml:"include_namespaces"`
	ExcludeNamespaces []string `yaml:"exclude_namespaces"`
	// Metadata is where the events' kubernetes.* members come from: path (namespace, pod, uid, container and
	// restart count, from the log's path) or api (also labels, annotations, node and owner, from a watch of
	// this node's pods on the API server).
	Metadata string `yaml:"metadata"`
	// Node is the node whose pods are watched with metadata: api. Default: $NODE_NAME (in a pod, set from the
	// downward API, fieldRef spec.nodeName).
	Node string `yaml:"node"`
	// Annotations are the annotation keys events carry with metadata: api (exact keys); none by default.
	Annotations []string `yaml:"annotations"`
	// API is where the API server is with metadata: api; empty fields: the in-cluster service account's.
	API KubeAPI `yaml:"api"`
	// MetadataWait bounds how long reading waits at start for the watch's first list (default 2s).
	MetadataWait time.Duration `yaml:"metadata_wait"`
	Tailing      `yaml:",inline"`
}

// KubeAPI says where the API server is and how to authenticate, for use outside the cluster and in tests.
type KubeAPI struct {
	// Host is the API server's URL. Empty: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT.
	Host string `yaml:"host"`
	// TokenFile holds the bearer token, re-read as it rotates. Empty: the service account's token.
	TokenFile string `yaml:"token_file"`
	// CAFile holds the CA certificates (PEM) of the API server. Empty: the service account's ca.crt.
	CAFile string `yaml:"ca_file"`
}

// Defaults and values of kubernetes entries.
const (
	DefaultPodsPath = "/var/log/pods" // the kubelet's --pod-logs-dir
	MetadataPath    = "path"
	MetadataAPI     = "api"
	// NodeNameEnv is the environment variable node defaults to; the chart sets it from the downward API.
	NodeNameEnv         = "NODE_NAME"
	DefaultMetadataWait = kubemeta.DefaultWaitTimeout
	// maxMetadataWait caps metadata_wait: reading stops that long at start while the API server does not answer.
	maxMetadataWait = time.Minute
)

// SetDefaults fills unset fields with their defaults.
func (c *KubeConfig) SetDefaults() {
	if c.Path == "" {
		c.Path = DefaultPodsPath
	}
	c.Metadata = strings.ToLower(c.Metadata)
	if c.Metadata == "" {
		c.Metadata = MetadataPath
	}
	if c.Metadata == MetadataAPI {
		if c.Node == "" {
			c.Node = os.Getenv(NodeNameEnv)
		}
		if c.MetadataWait == 0 {
			c.MetadataWait = DefaultMetadataWait
		}
	}
	c.setDefaults()
}

// Validate checks the configuration (after SetDefaults); errors name the field relative to the entry.
func (c *KubeConfig) Validate() error {
	var errs []error
	add := func(p, format string, args ...any) { errs = append(errs, fielderr.New(p, format, args...)) }
	if !strings.HasPrefix(c.Path, "/") {
		add("path", "must be an absolute directory (the kubelet's is %s), not %q", DefaultPodsPath, c.Path)
	}
	for field, globs := range map[string][]string{"include_namespaces": c.IncludeNamespaces, "exclude_namespaces": c.ExcludeNamespaces} {
		for i, g := range globs {
			if _, err := path.Match(g, ""); err != nil || g == "" {
				add(fmt.Sprintf("%s[%d]", field, i), "invalid glob %q: a namespace or a pattern such as team-*", g)
			}
		}
	}
	switch c.Metadata {
	case MetadataPath:
		for _, f := range []struct {
			name string
			set  bool
		}{{"node", c.Node != ""}, {"annotations", len(c.Annotations) > 0}, {"api", c.API != KubeAPI{}},
			{"metadata_wait", c.MetadataWait != 0}} {
			if f.set {
				add(f.name, "is read only with metadata: api: set metadata: api, or remove %s", f.name)
			}
		}
	case MetadataAPI:
		errs = append(errs, c.validateAPI()...)
	default:
		add("metadata", "must be path or api, not %q", c.Metadata)
	}
	errs = append(errs, validateStreams(c.Streams)...)
	fc := c.FileConfig()
	errs = append(errs, fc.Validate())
	return fielderr.Join(errs...)
}

// validateAPI checks the metadata: api settings through the watcher's own Validate, naming the fields as this
// entry spells them.
func (c *KubeConfig) validateAPI() []error {
	var errs []error
	if c.Node == "" {
		errs = append(errs, fielderr.New("node", "is empty and %s is not set: give this node's name; in a pod set env %s from the downward API (fieldRef spec.nodeName), or node: ${%s}", NodeNameEnv, NodeNameEnv, NodeNameEnv))
	}
	if c.MetadataWait > maxMetadataWait {
		errs = append(errs, fielderr.New("metadata_wait", "%s is longer than %s: reading waits that long at start while the API server does not answer", c.MetadataWait, maxMetadataWait))
	}
	for i, key := range c.Annotations {
		if key == "" {
			errs = append(errs, fielderr.New(fmt.Sprintf("annotations[%d]", i), "is empty: give an annotation key such as app.kubernetes.io/version"))
		}
	}
	wc := c.WatcherConfig()
	wc.Node = "-" // reported above, with the environment variable
	if err := wc.Validate(); err != nil {
		errs = append(errs, renameWatcherFields(err))
	}
	return errs
}

// WatcherConfig is the pod watcher's configuration of a metadata: api entry.
func (c *KubeConfig) WatcherConfig() kubemeta.Config {
	return kubemeta.Config{Node: c.Node, Host: c.API.Host, TokenFile: c.API.TokenFile, CAFile: c.API.CAFile,
		Annotations: c.Annotations, WaitTimeout: c.MetadataWait}
}

// watcherFields are the kubemeta.Config fields' names in a kubernetes entry.
var watcherFields = map[string]string{"host": "api.host", "token_file": "api.token_file", "ca_file": "api.ca_file",
	"wait_timeout": "metadata_wait"}

// renameWatcherFields rewrites the field paths of the watcher's errors to this entry's names.
func renameWatcherFields(err error) error {
	var out []error
	var walk func(error)
	walk = func(err error) {
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range joined.Unwrap() {
				walk(e)
			}
			return
		}
		var fe *fielderr.Error
		if errors.As(err, &fe) {
			if name, ok := watcherFields[fe.Path]; ok {
				out = append(out, &fielderr.Error{Path: name, Err: fe.Err})
				return
			}
		}
		out = append(out, err)
	}
	walk(err)
	return fielderr.Join(out...)
}

// FileConfig is the log_files entry the input reads through.
func (c *KubeConfig) FileConfig() file.Config {
	root := strings.TrimRight(c.Path, "/")
	return c.fileConfig(c.Name, []string{root + "/*/*/*.log", root + "/*/*/*.log.*"}, file.FormatCRI)
}
