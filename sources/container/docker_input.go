package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/sources/file"
)

// NewDocker returns the source of a docker_containers entry (defaulted and validated): the file source over
// the containers' json-file logs, decoding them, keeping the containers the filters admit and adding each
// one's metadata from its config.v2.json.
func NewDocker(cfg Config, reg file.Registry, opts file.Options, log zerolog.Logger) (*file.Source, error) {
	m := &dockerMeta{cfg: &cfg, byDir: make(map[string]*containerInfo)}
	opts.Formats, opts.Streams, opts.Admit, opts.Meta, opts.InputType = Formats(), cfg.Streams, m.admit, m.meta, "container"
	if len(cfg.Streams) == len(streamsAll) {
		opts.Streams = nil
	}
	return file.New(cfg.FileConfig(), reg, opts, log)
}

// dockerMeta reads and caches each container's config.v2.json, once per change of its file (dockerd replaces
// it atomically: a new inode), size or modification time. The metadata of a removed container (its
// config.v2.json gone) stays for its logs still being read, and is forgotten once nothing asked for it for
// forgetRemovedAfter. Used from the file source's reader goroutine only.
type dockerMeta struct {
	cfg   *Config
	byDir map[string]*containerInfo
	swept time.Time // when removed containers were last looked for in byDir
}

// forgetRemovedAfter is how long a removed container's metadata is kept after it was last asked for: the file
// source asks for the metadata of every open log at each scan.
const forgetRemovedAfter = time.Minute

type containerInfo struct {
	file    os.FileInfo // config.v2.json as last read
	admit   bool
	meta    []byte
	removed bool      // config.v2.json is gone
	asked   time.Time // when info last returned it
}

// configV2 is the part of dockerd's config.v2.json the input reads.
type configV2 struct {
	ID     string
	Name   string // with a leading slash
	Config struct {
		Image  string
		Labels map[string]string
	}
}

func (m *dockerMeta) admit(p string) bool { return m.info(p).admit }

func (m *dockerMeta) meta(p string) []byte { return m.info(p).meta }

// info returns what is known of the container whose log file is at p.
func (m *dockerMeta) info(p string) *containerInfo {
	now := time.Now()
	m.sweep(now)
	dir := filepath.Dir(p)
	fi, err := os.Stat(filepath.Join(dir, "config.v2.json"))
	if err != nil {
		if ci := m.byDir[dir]; ci != nil && errors.Is(err, fs.ErrNotExist) {
			// Removed (docker rm): the logs still open are read to their end with the metadata known.
			ci.removed, ci.asked = true, now
			return ci
		}
		delete(m.byDir, dir) // not written yet, or unreadable
		return m.build(dir, nil)
	}
	// Same size and time are not enough: the time's granularity is the kernel's tick, and a rename changes
	// neither when the names are as long.
	if ci := m.byDir[dir]; ci != nil && os.SameFile(ci.file, fi) && ci.file.Size() == fi.Size() &&
		ci.file.ModTime().Equal(fi.ModTime()) {
		ci.removed, ci.asked = false, now
		return ci
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.v2.json"))
	var c configV2
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		return m.build(dir, nil) // half written: read again at the next scan
	}
	ci := m.build(dir, &c)
	ci.file, ci.asked = fi, now
	m.byDir[dir] = ci
	return ci
}

// sweep forgets, at most once per forgetRemovedAfter, the removed containers nothing asked for since.
func (m *dockerMeta) sweep(now time.Time) {
	if now.Sub(m.swept) < forgetRemovedAfter {
		return
	}
	m.swept = now
	for dir, ci := range m.byDir {
		if ci.removed && now.Sub(ci.asked) >= forgetRemovedAfter {
			delete(m.byDir, dir)
		}
	}
}

// build applies the filters to c (nil when its config is unknown: then only the id, from the directory, is
// known, and the container is read only without name and label filters).
func (m *dockerMeta) build(dir string, c *configV2) *containerInfo {
	var doc struct {
		ID    string `json:"id"`
		Name  string `json:"name,omitempty"`
		Image *struct {
			Name string `json:"name"`
		} `json:"image,omitempty"`
		Labels map[string]string `json:"labels,omitempty"`
	}
	doc.ID = filepath.Base(dir)
	ci := &containerInfo{}
	if c == nil {
		ci.admit = len(m.cfg.IncludeNames) == 0 && len(m.cfg.ExcludeNames) == 0 && len(m.cfg.IncludeLabels) == 0
	} else {
		if c.ID != "" {
			doc.ID = c.ID
		}
		doc.Name = trimSlash(c.Name)
		if c.Config.Image != "" {
			doc.Image = &struct {
				Name string `json:"name"`
			}{c.Config.Image}
		}
		doc.Labels = c.Config.Labels
		ci.admit = m.admitted(doc.Name, c.Config.Labels)
	}
	b, err := json.Marshal(doc)
	if err != nil { // not reachable: strings and a map of strings
		panic(fmt.Sprintf("container metadata: %v", err))
	}
	ci.meta = append([]byte(`,"container":`), b...)
	return ci
}

func (m *dockerMeta) admitted(name string, labels map[string]string) bool {
	if len(m.cfg.IncludeNames) > 0 && !matchAny(m.cfg.IncludeNames, name) {
		return false
	}
	if matchAny(m.cfg.ExcludeNames, name) {
		return false
	}
	for k, v := range m.cfg.IncludeLabels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func matchAny(globs []string, name string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

func trimSlash(name string) string {
	if len(name) > 0 && name[0] == '/' {
		return name[1:]
	}
	return name
}

// DockerName returns the name of the container whose json-file log (or a rotation of it) is at p, read from the
// config.v2.json next to it; empty when p is not such a log or the container is gone. For `registry show`.
func DockerName(p string) string {
	dir := filepath.Dir(p)
	id := filepath.Base(dir)
	if len(id) != 64 || !strings.HasPrefix(filepath.Base(p), id+"-json.log") {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.v2.json"))
	if err != nil {
		return ""
	}
	var c configV2
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	return trimSlash(c.Name)
}
