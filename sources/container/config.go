package container

import (
	"fmt"
	"path"
	"strings"

	"github.com/flickerlog/flicker/internal/fielderr"
	"github.com/flickerlog/flicker/sources/file"
)

// Config is one entry of docker_containers: the json-file logs of the containers under Path.
type Config struct {
	// Name identifies the input; registry state is keyed by it.
	Name string `yaml:"name"`
	// Path is dockerd's containers directory: <Path>/<id>/<id>-json.log and its rotations .1, .2 (not .gz).
	Path string `yaml:"path"`
	// IncludeNames and ExcludeNames are globs on the container name without its leading slash. A container is
	// read when it matches an include glob (or there are none) and no exclude glob.
	IncludeNames []string `yaml:"include_names"`
	ExcludeNames []string `yaml:"exclude_names"`
	// IncludeLabels keeps the containers that carry every one of these labels with exactly these values.
	IncludeLabels map[string]string `yaml:"include_labels"`
	Tailing       `yaml:",inline"`
}

// DefaultPath is where dockerd keeps its containers.
const DefaultPath = "/var/lib/docker/containers"

var streamsAll = []string{"stdout", "stderr"}

// SetDefaults fills unset fields with their defaults.
func (c *Config) SetDefaults() {
	if c.Path == "" {
		c.Path = DefaultPath
	}
	c.setDefaults()
}

// Validate checks the configuration (after SetDefaults); errors name the field relative to the entry.
func (c *Config) Validate() error {
	var errs []error
	add := func(p, format string, args ...any) { errs = append(errs, fielderr.New(p, format, args...)) }
	if !strings.HasPrefix(c.Path, "/") {
		add("path", "must be an absolute directory (dockerd's is %s), not %q", DefaultPath, c.Path)
	}
	for field, globs := range map[string][]string{"include_names": c.IncludeNames, "exclude_names": c.ExcludeNames} {
		for i, g := range globs {
			if _, err := path.Match(g, ""); err != nil || g == "" {
				add(fmt.Sprintf("%s[%d]", field, i), "invalid glob %q: a container name pattern such as web-*", g)
			}
		}
	}
	errs = append(errs, validateStreams(c.Streams)...)
	// The shared keys are checked by log_files' rules; paths and format are this input's own.
	fc := c.FileConfig()
	errs = append(errs, fc.Validate())
	return fielderr.Join(errs...)
}

// FileConfig is the log_files entry the input reads through.
func (c *Config) FileConfig() file.Config {
	root := strings.TrimRight(c.Path, "/")
	return c.fileConfig(c.Name, []string{root + "/*/*-json.log", root + "/*/*-json.log.*"}, file.FormatDocker)
}

func validateStreams(streams []string) []error {
	var errs []error
	for i, s := range streams {
		if s != "stdout" && s != "stderr" {
			errs = append(errs, fielderr.New(fmt.Sprintf("streams[%d]", i), "must be stdout or stderr, not %q", s))
		}
	}
	return errs
}
