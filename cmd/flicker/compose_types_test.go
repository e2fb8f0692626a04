package main_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The compose specification as far as the tests read it, with the alternative syntaxes compose accepts.

// repoRoot is where docker-compose.yml sits, seen from this package's directory (go test's working directory).
var repoRoot = filepath.Join("..", "..")

// The service names the compose file and its README rely on.
const (
	minioService   = "minio"
	bucketService  = "createbucket"
	writerService  = "logwriter"
	flickerService = "flicker"
)

// composeFile is the part of the compose specification the tests read.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string    `yaml:"image"`
	Build       build     `yaml:"build"`
	Entrypoint  words     `yaml:"entrypoint"`
	Command     words     `yaml:"command"`
	Environment envMap    `yaml:"environment"`
	Volumes     []mount   `yaml:"volumes"`
	Tmpfs       words     `yaml:"tmpfs"`
	DependsOn   dependsOn `yaml:"depends_on"`
	Healthcheck *struct {
		Test words `yaml:"test"`
	} `yaml:"healthcheck"`
}

// words is a field compose accepts as a list or as one string; the string form is split on blanks.
type words []string

func (w *words) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*w = strings.Fields(n.Value)
		return nil
	case yaml.SequenceNode:
		var list []string
		err := n.Decode(&list)
		*w = list
		return err
	}
	return fmt.Errorf("line %d: want a string or a list", n.Line)
}

// envMap is environment as a mapping or as a list of KEY=VALUE.
type envMap map[string]string

func (e *envMap) UnmarshalYAML(n *yaml.Node) error {
	m := envMap{}
	switch n.Kind {
	case yaml.MappingNode:
		if err := n.Decode((*map[string]string)(&m)); err != nil {
			return err
		}
	case yaml.SequenceNode:
		var list []string
		if err := n.Decode(&list); err != nil {
			return err
		}
		for _, kv := range list {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
	default:
		return fmt.Errorf("line %d: environment: want a mapping or a list", n.Line)
	}
	*e = m
	return nil
}

// build is `build: DIR` or `build: {context: DIR, dockerfile: FILE}`.
type build struct {
	Context, Dockerfile string
}

func (b *build) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		b.Context = n.Value
		return nil
	}
	var long struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	}
	err := n.Decode(&long)
	b.Context, b.Dockerfile = long.Context, long.Dockerfile
	return err
}

// dependsOn maps a service to the condition waited for; the list form means service_started.
type dependsOn map[string]string

func (d *dependsOn) UnmarshalYAML(n *yaml.Node) error {
	m := dependsOn{}
	if n.Kind == yaml.SequenceNode {
		var list []string
		if err := n.Decode(&list); err != nil {
			return err
		}
		for _, s := range list {
			m[s] = "service_started"
		}
		*d = m
		return nil
	}
	var long map[string]struct {
		Condition string `yaml:"condition"`
	}
	if err := n.Decode(&long); err != nil {
		return err
	}
	for s, c := range long {
		m[s] = c.Condition
	}
	*d = m
	return nil
}

// mount is one entry of a service's volumes, short ("SRC:DST:ro") or long syntax.
type mount struct {
	Type     string // volume or bind
	Source   string // volume name or host path; "" for an anonymous volume
	Target   string
	ReadOnly bool
}

func (m *mount) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		parts := strings.Split(n.Value, ":")
		switch len(parts) {
		case 1:
			m.Type, m.Target = "volume", parts[0]
			return nil
		case 3:
			m.ReadOnly = slices.Contains(strings.Split(parts[2], ","), "ro")
		}
		m.Source, m.Target = parts[0], parts[1]
		m.Type = "volume"
		if strings.HasPrefix(m.Source, ".") || strings.HasPrefix(m.Source, "/") || strings.HasPrefix(m.Source, "~") {
			m.Type = "bind"
		}
		return nil
	}
	var long struct {
		Type     string `yaml:"type"`
		Source   string `yaml:"source"`
		Target   string `yaml:"target"`
		ReadOnly bool   `yaml:"read_only"`
	}
	err := n.Decode(&long)
	*m = mount(long)
	return err
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for _, name := range []string{minioService, bucketService, writerService, flickerService} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("docker-compose.yml has no service %q", name)
		}
	}
	return c
}

// flagValue returns the value of --name (or its short form) in args, written "--name V" or "--name=V".
func flagValue(args []string, names ...string) (string, bool) {
	for i, a := range args {
		for _, n := range names {
			if a == n && i+1 < len(args) {
				return args[i+1], true
			}
			if v, ok := strings.CutPrefix(a, n+"="); ok {
				return v, true
			}
		}
	}
	return "", false
}

// under reports whether path p is dir or inside it.
func under(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// minioAPIPort is the port the minio service's S3 API listens on: its --address, else MinIO's default.
func minioAPIPort(t *testing.T, minio composeService) string {
	t.Helper()
	addr, ok := flagValue(minio.Command, "--address")
	if !ok {
		return "9000"
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("minio --address %q: %v", addr, err)
	}
	return port
}
