package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"time"

	"github.com/flickerlog/flicker/sources/container/containertest"
)

// Container logs: a few Docker containers (json-file, dockerd's emulator) and Kubernetes pods (CRI, containerd's)
// print numbered messages; about one in longEvery is 40 KiB, which the runtimes write as partial records (16 KiB
// each) that flicker must join into the one message. Their logs are not rotated.
const (
	containerLongBytes = 40 << 10
	containerMaxLine   = 64 << 10 // the inputs' max_line_bytes: a joined message is never cut
)

// containerWriter is one container's stdout.
type containerWriter struct {
	name   string
	id     uint16
	ledger *ledger
	rng    *rand.Rand
	opts   writerOptions
	write  func(msg string) error
	seq    uint32
}

// newContainerWriters creates docker containers under dockerRoot and pods under podsDir, n of each.
func newContainerWriters(dockerRoot, podsDir string, n int, seed uint64, opts writerOptions, l *ledger) ([]*containerWriter, error) {
	dockerd, err := containertest.NewDockerd(dockerRoot, 0, 1)
	if err != nil {
		return nil, fmt.Errorf("dockerd: %w", err)
	}
	kubelet, err := containertest.NewKubelet(podsDir, containertest.KubeletConfig{})
	if err != nil {
		return nil, fmt.Errorf("kubelet: %w", err)
	}
	var out []*containerWriter
	add := func(name string, write func(string) error) {
		out = append(out, &containerWriter{name: name, id: l.stream(name), ledger: l, opts: opts, write: write,
			rng: rand.New(rand.NewPCG(seed, uint64(len(out))+1000))})
	}
	for i := range n {
		c, err := dockerd.Create(fmt.Sprintf("chaos-%d", i), "chaos:1", map[string]string{"app": "chaos"})
		if err != nil {
			return nil, fmt.Errorf("docker container %d: %w", i, err)
		}
		add(fmt.Sprintf("d%03d", i), func(msg string) error { return c.Write("stdout", msg) })
	}
	for i := range n {
		p, err := kubelet.AddPod("chaos", fmt.Sprintf("chaos-%d", i), "")
		if err != nil {
			return nil, fmt.Errorf("pod %d: %w", i, err)
		}
		c, err := p.StartContainer("app")
		if err != nil {
			return nil, fmt.Errorf("pod %d: %w", i, err)
		}
		add(fmt.Sprintf("k%03d", i), func(msg string) error {
			_, err := c.Write(containertest.Stdout(msg))
			return err
		})
	}
	return out, nil
}

// run prints a message every interval until ctx ends.
func (w *containerWriter) run(ctx context.Context) error {
	tick := time.NewTicker(w.opts.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			size := w.opts.lineBytes
			if w.rng.IntN(w.opts.longEvery) == 0 {
				size = containerLongBytes
			}
			msg := message(w.name, w.seq, 0, 1, size)
			w.ledger.wrote(w.id, w.seq, 1, -1, true, now, size)
			if err := w.write(msg); err != nil {
				return fmt.Errorf("container %s: %w", w.name, err)
			}
			w.seq++
		}
	}
}

func containerPaths(root string) (docker, pods string) {
	return filepath.Join(root, "docker"), filepath.Join(root, "pods")
}
