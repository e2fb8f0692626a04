package benchmarks

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/flickerlog/flicker/sources/container"
	"github.com/flickerlog/flicker/sources/container/containertest"
)

// ContainerLogs is what GenerateDocker or GenerateCRI wrote.
type ContainerLogs struct {
	Root     string   // the directory a docker_containers or kubernetes input's path points at
	Files    []string // the log files, one per container
	Bytes    int64    // raw input bytes: the records, as a reader sees them
	Messages int64    // messages, one event each
}

// genStart is the time of the first record; each following record is one microsecond later.
var genStart = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// GenerateDocker writes containers json-file logs under root as dockerd does (<root>/<64-hex id>/<id>-json.log
// and a config.v2.json): the lines of GenerateLog, in its order, each one json-file record on stdout, split
// evenly until the records reach about size bytes in all. The same arguments give the same files.
func GenerateDocker(root string, containers int, size int64) (ContainerLogs, error) {
	return generateContainers(root, containers, size,
		func(i int) (string, error) {
			id := containerID(i)
			dir := filepath.Join(root, id)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return "", err
			}
			return filepath.Join(dir, id+"-json.log"), writeConfigV2(dir, id, i)
		},
		func(dst, line []byte, t time.Time) []byte {
			// Records JSON-escapes as dockerd does (Go's encoding/json) and keeps the newline in "log".
			return append(dst, containertest.Records("stdout", string(line[:len(line)-1]), t)[0]...)
		})
}

// GenerateCRI writes pods' CRI logs under root as containerd does (<root>/<ns>_<pod>_<uid>/<container>/0.log,
// "<time> stdout F <line>"): the lines of GenerateLog, in its order, split evenly across one container per pod
// until the records reach about size bytes in all.
func GenerateCRI(root string, pods int, size int64) (ContainerLogs, error) {
	return generateContainers(root, pods, size,
		func(i int) (string, error) {
			uid := containerID(i)
			dir := filepath.Join(root, fmt.Sprintf("bench_app-%d_%s-%s-%s-%s-%s", i, uid[:8], uid[8:12], uid[12:16],
				uid[16:20], uid[20:32]), "app")
			return filepath.Join(dir, "0.log"), os.MkdirAll(dir, 0o755)
		},
		func(dst, line []byte, t time.Time) []byte {
			return containertest.Containerd.AppendRecord(dst, t, container.StreamStdout, false, line[:len(line)-1])
		})
}

// generateContainers writes n logs at the paths create makes, record(line) appended to each in turn, about
// size/n bytes per log.
func generateContainers(root string, n int, size int64, create func(i int) (string, error),
	record func(dst, line []byte, t time.Time) []byte) (ContainerLogs, error) {
	out := ContainerLogs{Root: root}
	if n < 1 {
		return out, fmt.Errorf("generate %s: %d containers, want at least 1", root, n)
	}
	lines := newLineGen()
	per := size / int64(n)
	var buf []byte
	for i := range n {
		path, err := create(i)
		if err != nil {
			return out, fmt.Errorf("generate %s: %w", root, err)
		}
		f, err := os.Create(path)
		if err != nil {
			return out, fmt.Errorf("generate %s: %w", path, err)
		}
		w := bufio.NewWriterSize(f, 1<<20)
		for written := int64(0); written < per; {
			buf = record(buf[:0], lines.next(), genStart.Add(time.Duration(lines.n)*time.Microsecond))
			if _, err := w.Write(buf); err != nil {
				f.Close()
				return out, fmt.Errorf("generate %s: %w", path, err)
			}
			written += int64(len(buf))
			out.Bytes += int64(len(buf))
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return out, fmt.Errorf("generate %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return out, fmt.Errorf("generate %s: %w", path, err)
		}
		out.Files = append(out.Files, path)
	}
	out.Messages = lines.n
	return out, nil
}

// containerID is container i's 64-hex id, stable across runs.
func containerID(i int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("flicker-bench-%d", i)))
	return hex.EncodeToString(sum[:])
}

// writeConfigV2 writes the part of config.v2.json the docker_containers input reads.
func writeConfigV2(dir, id string, i int) error {
	var cfg struct {
		ID     string
		Name   string
		Config struct {
			Image  string
			Labels map[string]string
		}
	}
	cfg.ID, cfg.Name = id, fmt.Sprintf("/bench-%d", i)
	cfg.Config.Image, cfg.Config.Labels = "registry.example/shop/web:1.4.2", map[string]string{"app": "shop", "tier": "web"}
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.v2.json"), b, 0o644)
}
