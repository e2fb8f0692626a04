package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/processors"
	"github.com/flickerlog/flicker/sinks/elasticsearch"
	sinkfile "github.com/flickerlog/flicker/sinks/file"
	httpout "github.com/flickerlog/flicker/sinks/http"
	s3out "github.com/flickerlog/flicker/sinks/s3"
	"github.com/flickerlog/flicker/sources/api"
	"github.com/flickerlog/flicker/sources/container"
	"github.com/flickerlog/flicker/sources/file"
	httpsrc "github.com/flickerlog/flicker/sources/http"
	"github.com/flickerlog/flicker/sources/syslog"
)

// Config is a loaded, defaulted and validated configuration.
type Config struct {
	LogFiles         []file.Config          `yaml:"log_files"`
	DockerContainers []container.Config     `yaml:"docker_containers"`
	Kubernetes       []container.KubeConfig `yaml:"kubernetes"`
	APISources       []api.Config           `yaml:"api_sources"`
	SyslogSources    []syslog.Config        `yaml:"syslog_sources"`
	HTTPSources      []httpsrc.Config       `yaml:"http_sources"`
	Outputs          []Output               `yaml:"outputs"`
	Batch            Batch                  `yaml:"batch"`
	Queue            Queue                  `yaml:"queue"`
	// Processors are the processors lists of the inputs that have one, by input name: the `processors:` key
	// of any input entry, kept out of the sources' own config.
	Processors map[string][]processors.Config `yaml:"-"`

	file string // the name given to Parse, for Summary
}

// Output is one entry of outputs. The envelope keys (type, name, retry, dead_letter) are common to every type;
// the other keys of the entry belong to the type and are decoded into its config struct.
type Output struct {
	Type       string      `yaml:"type"` // stdout | file | http | elasticsearch | s3 | discard
	Name       string      `yaml:"name"` // default: the type; unique across outputs
	Retry      Retry       `yaml:"retry"`
	DeadLetter *DeadLetter `yaml:"dead_letter"` // nil: rejected events are counted and logged

	// The type-specific keys of the output, in the field of its type (nil for the other types).
	File          *sinkfile.Config      `yaml:"-"`
	HTTP          *httpout.Config       `yaml:"-"`
	Elasticsearch *elasticsearch.Config `yaml:"-"`
	S3            *s3out.Config         `yaml:"-"`
}

// typeConfig is what every output type's config offers.
type typeConfig interface {
	SetDefaults()
	Validate() error
}

// typeConfig returns the type-specific config of o, allocating it on first use; nil for types without keys
// (stdout, discard) and unknown types.
func (o *Output) typeConfig() typeConfig {
	switch o.Type {
	case OutputFile:
		if o.File == nil {
			o.File = &sinkfile.Config{}
		}
		return o.File
	case OutputHTTP:
		if o.HTTP == nil {
			o.HTTP = &httpout.Config{}
		}
		return o.HTTP
	case OutputElasticsearch:
		if o.Elasticsearch == nil {
			o.Elasticsearch = &elasticsearch.Config{}
		}
		return o.Elasticsearch
	case OutputS3:
		if o.S3 == nil {
			o.S3 = &s3out.Config{}
		}
		return o.S3
	}
	return nil
}

// Retry is the backoff the engine applies to the events an output asks to retry.
type Retry struct {
	Initial time.Duration `yaml:"initial"`
	Max     time.Duration `yaml:"max"`
}

// Policy returns the engine's form of r.
func (r Retry) Policy() engine.RetryPolicy { return engine.RetryPolicy{Initial: r.Initial, Max: r.Max} }

// DeadLetter is where an output's permanently rejected events go: either a size-capped rotating file (Path,
// MaxBytes, MaxFiles, Mode) or another output (Output, by name). The two forms are exclusive.
type DeadLetter struct {
	Path     string `yaml:"path"`
	MaxBytes int64  `yaml:"max_bytes"`
	MaxFiles int    `yaml:"max_files"`
	Mode     string `yaml:"mode"` // of the files it creates, octal: see sinks/file.ParseMode
	Output   string `yaml:"output"`
}

// Batch bounds the batches handed to outputs: a batch is sent when it reaches MaxEvents or MaxBytes, or when
// its first event has waited MaxWait.
type Batch struct {
	MaxEvents int           `yaml:"max_events"`
	MaxBytes  int           `yaml:"max_bytes"`
	MaxWait   time.Duration `yaml:"max_wait"`
}

// Queue bounds the events between the sources and the outputs, in events and in bytes; a full queue slows
// reading.
type Queue struct {
	MaxEvents int `yaml:"max_events"`
	MaxBytes  int `yaml:"max_bytes"`
}

// Defaults for the keys of this package (sources and sinks define their own).
const (
	DefaultBatchMaxEvents     = 2048
	DefaultBatchMaxBytes      = 4 << 20
	DefaultBatchMaxWait       = 200 * time.Millisecond
	DefaultQueueMaxEvents     = 65536
	DefaultQueueMaxBytes      = 32 << 20
	DefaultDeadLetterMaxBytes = 100 << 20
	DefaultDeadLetterMaxFiles = 3
	DefaultRetryInitial       = engine.DefaultRetryInitial
	DefaultRetryMax           = engine.DefaultRetryMax
)

// Output types. outputTypes lists them in the order error messages name them.
const (
	OutputStdout        = "stdout"
	OutputFile          = "file"
	OutputDiscard       = "discard"
	OutputHTTP          = "http"
	OutputElasticsearch = "elasticsearch"
	OutputS3            = "s3"
)

var outputTypes = []string{OutputStdout, OutputFile, OutputHTTP, OutputElasticsearch, OutputS3, OutputDiscard}

// HasPositions reports whether any input keeps read positions (files, containers, API cursors); listening
// sources (syslog_sources, http_sources) have none, so an aggregator needs no registry.
func (c *Config) HasPositions() bool {
	return len(c.LogFiles)+len(c.DockerContainers)+len(c.Kubernetes)+len(c.APISources) > 0
}

// Summary describes c in one line, for `flicker validate`:
// "config.yaml: 2 inputs (log_files: app, audit), 3 outputs (stdout, file archive, discard)".
func (c *Config) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", c.file, plural(len(c.LogFiles)+len(c.DockerContainers)+len(c.Kubernetes)+len(c.APISources)+len(c.SyslogSources)+len(c.HTTPSources), "input"))
	var kinds []string
	kinds = appendNames(kinds, "log_files", c.LogFiles, func(in file.Config) string { return in.Name })
	kinds = appendNames(kinds, "docker_containers", c.DockerContainers, func(in container.Config) string { return in.Name })
	kinds = appendNames(kinds, "kubernetes", c.Kubernetes, func(in container.KubeConfig) string { return in.Name })
	kinds = appendNames(kinds, "api_sources", c.APISources, func(in api.Config) string { return in.Name })
	kinds = appendNames(kinds, "syslog_sources", c.SyslogSources, func(in syslog.Config) string { return in.Name })
	kinds = appendNames(kinds, "http_sources", c.HTTPSources, func(in httpsrc.Config) string { return in.Name })
	if len(kinds) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(kinds, "; "))
	}
	fmt.Fprintf(&b, ", %s", plural(len(c.Outputs), "output"))
	if len(c.Outputs) > 0 {
		descs := make([]string, len(c.Outputs))
		for i, o := range c.Outputs {
			descs[i] = o.Type
			if o.Name != o.Type {
				descs[i] += " " + o.Name
			}
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(descs, ", "))
	}
	return b.String()
}

// appendNames appends "key: name1, name2" to kinds when list has entries.
func appendNames[T any](kinds []string, key string, list []T, name func(T) string) []string {
	if len(list) == 0 {
		return kinds
	}
	names := make([]string, len(list))
	for i, in := range list {
		names[i] = name(in)
	}
	return append(kinds, key+": "+strings.Join(names, ", "))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
