// Package containertest emulates the container runtimes' log writers for tests: Dockerd writes a node's
// /var/lib/docker/containers tree as dockerd's json-file driver does.
package containertest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DockerBufSize is where dockerd's log copier cuts a long line into partial records.
const DockerBufSize = 16 << 10

// Dockerd writes containers' json-file logs under Root as dockerd does: one JSON record per line, messages
// longer than DockerBufSize cut into partial records, rotation by rename (max-size, max-file) checked before
// each record, config.v2.json replaced atomically. Safe for concurrent use.
type Dockerd struct {
	Root string
	// MaxSize rotates a log once it has reached this size (0: never); MaxFile is how many files a container
	// keeps, the current one included (at least 1: then the log is unlinked and recreated). A test may change
	// MaxSize between writes.
	MaxSize int64
	MaxFile int

	mu sync.Mutex
}

// Container is one emulated container.
type Container struct {
	ID, Name, Image string
	Labels          map[string]string

	d       *Dockerd
	dir     string
	f       *os.File
	size    int64
	removed bool
}

// NewDockerd returns an emulator writing under root (created if missing).
func NewDockerd(root string, maxSize int64, maxFile int) (*Dockerd, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	return &Dockerd{Root: root, MaxSize: maxSize, MaxFile: max(maxFile, 1)}, nil
}

// Create creates a container: its directory, config.v2.json and an empty log.
func (d *Dockerd) Create(name, image string, labels map[string]string) (*Container, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	c := &Container{ID: hex.EncodeToString(raw[:]), Name: name, Image: image, Labels: labels, d: d}
	c.dir = filepath.Join(d.Root, c.ID)
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil, err
	}
	if err := c.writeConfig(); err != nil {
		return nil, err
	}
	return c, c.openLog()
}

// LogPath is the container's current log file.
func (c *Container) LogPath() string { return filepath.Join(c.dir, c.ID+"-json.log") }

func (c *Container) writeConfig() error {
	cfg := map[string]any{
		"State": map[string]any{"Running": true, "Pid": 4242, "StartedAt": time.Now().UTC().Format(time.RFC3339Nano)},
		"ID":    c.ID, "Created": time.Now().UTC().Format(time.RFC3339Nano), "Path": "/bin/app",
		"Config": map[string]any{"Hostname": c.ID[:12], "Image": c.Image, "Labels": c.Labels, "Env": []string{"PATH=/usr/bin"}},
		"Image":  "sha256:" + c.ID, "LogPath": c.LogPath(), "Name": "/" + c.Name, "Driver": "overlay2", "OS": "linux",
		"RestartCount": 0,
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	tmp := filepath.Join(c.dir, ".tmp-config.v2.json")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(c.dir, "config.v2.json")) // atomic, as dockerd's atomic writer
}

func (c *Container) openLog() error {
	f, err := os.OpenFile(c.LogPath(), os.O_WRONLY|os.O_TRUNC|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	c.f, c.size = f, 0
	return nil
}

// Rename renames the container (docker rename): config.v2.json is replaced.
func (c *Container) Rename(name string) error {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	c.Name = name
	return c.writeConfig()
}

// Records returns the lines dockerd writes for one message (without its newline) on stream at t: pieces of
// DockerBufSize bytes, every one but the last without a final newline.
func Records(stream, msg string, t time.Time) [][]byte {
	var out [][]byte
	for {
		piece, last := msg, true
		if len(msg) > DockerBufSize {
			piece, msg, last = msg[:DockerBufSize], msg[DockerBufSize:], false
		}
		if last {
			piece += "\n"
		}
		b, _ := json.Marshal(struct {
			Log    string `json:"log"`
			Stream string `json:"stream"`
			Time   string `json:"time"`
		}{piece, stream, t.UTC().Format(time.RFC3339Nano)})
		out = append(out, append(b, '\n'))
		if last {
			return out
		}
	}
}

// Write writes one message on stream.
func (c *Container) Write(stream, msg string) error {
	for _, r := range Records(stream, msg, time.Now()) {
		if err := c.Append(r); err != nil {
			return err
		}
	}
	return nil
}

// Interleave writes one message on stdout and one on stderr, their records alternating, as the two copiers of
// dockerd do when both streams write long lines at once.
func (c *Container) Interleave(stdout, stderr string) error {
	now := time.Now()
	a, b := Records("stdout", stdout, now), Records("stderr", stderr, now)
	for len(a) > 0 || len(b) > 0 {
		for _, q := range []*[][]byte{&a, &b} {
			if len(*q) > 0 {
				if err := c.Append((*q)[0]); err != nil {
					return err
				}
				*q = (*q)[1:]
			}
		}
	}
	return nil
}

// Append writes one line (with its newline) to the log, rotating first when the log reached MaxSize.
func (c *Container) Append(line []byte) error {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	if c.removed {
		return fmt.Errorf("container %s removed", c.Name)
	}
	if c.d.MaxSize > 0 && c.size >= c.d.MaxSize {
		if err := c.rotate(); err != nil {
			return err
		}
	}
	n, err := c.f.Write(line)
	c.size += int64(n)
	return err
}

// rotate does what dockerd's rotate does: drop the oldest, shift .i-1 to .i, rename the log to .1, create a
// new log (with max-file 1: unlink and recreate).
func (c *Container) rotate() error {
	if err := c.f.Close(); err != nil {
		return err
	}
	p := c.LogPath()
	if c.d.MaxFile < 2 {
		if err := os.Remove(p); err != nil {
			return err
		}
		return c.openLog()
	}
	_ = os.Remove(fmt.Sprintf("%s.%d", p, c.d.MaxFile-1))
	for i := c.d.MaxFile - 1; i >= 2; i-- {
		if err := os.Rename(fmt.Sprintf("%s.%d", p, i-1), fmt.Sprintf("%s.%d", p, i)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	if err := os.Rename(p, p+".1"); err != nil {
		return err
	}
	return c.openLog()
}

// Remove removes the container and its directory (docker rm).
func (c *Container) Remove() error {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	c.removed = true
	_ = c.f.Close()
	return os.RemoveAll(c.dir)
}

// Close closes the log file (docker stop); the files stay.
func (c *Container) Close() error {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	c.removed = true
	return c.f.Close()
}
