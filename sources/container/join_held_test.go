package container_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sources/container"
	"github.com/flickerlog/flicker/sources/file"
)

// heldPublisher records the messages published; its first Publish blocks for a while, as the pipeline's Publish does
// under backpressure (an output that is slow or down).
type heldPublisher struct {
	block time.Duration
	mu    sync.Mutex
	calls int
	msgs  []string
}

func (p *heldPublisher) Publish(ctx context.Context, evs []engine.Event) error {
	p.mu.Lock()
	p.calls++
	first := p.calls == 1
	for _, e := range evs {
		p.msgs = append(p.msgs, string(e.Message))
	}
	p.mu.Unlock()
	if first {
		select {
		case <-time.After(p.block):
		case <-ctx.Done():
		}
	}
	return nil
}

func (p *heldPublisher) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.msgs...)
}

// A message of 1 MiB is 64 records written at once, longer than one read (256 KiB). When the Publish of the
// first read's events blocks longer than join_timeout (backpressure), the join is expired right after it, though
// its next records were in the file all along and only not read yet: the message ships cut in two.
func TestJoinNotExpiredWhileReaderHeld(t *testing.T) {
	t.Parallel()
	d := newDockerd(t, 0, 1)
	c := create(t, d, "web-1", nil)
	if err := c.Write("stdout", "short"); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("m", 1<<20)
	if err := c.Write("stdout", long); err != nil {
		t.Fatal(err)
	}
	cfg := container.Config{Name: "docker", Path: d.Root, Tailing: container.Tailing{ScanInterval: 20 * time.Millisecond,
		JoinTimeout: 200 * time.Millisecond}}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	src, err := container.NewDocker(cfg, newRegistry(), file.Options{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	pub := &heldPublisher{block: 500 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, pub) }()
	waitFor(t, "both messages", func() bool {
		n := 0
		for _, m := range pub.all() {
			n += len(m)
		}
		return n >= len(long)+len("short")
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	msgs := pub.all()
	if len(msgs) != 2 || msgs[1] != long {
		var lens []int
		for _, m := range msgs {
			lens = append(lens, len(m))
		}
		t.Errorf("message lengths %v, want [5 %d]", lens, len(long))
	}
}
