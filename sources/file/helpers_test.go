package file_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sources/file"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memRegistry is an in-memory Registry that records what the source saved.
type memRegistry struct {
	mu      sync.Mutex
	states  map[uint64]file.State
	removed []uint64
	saves   int
}

func newRegistry(states ...file.State) *memRegistry {
	r := &memRegistry{states: make(map[uint64]file.State)}
	for _, st := range states {
		r.states[st.Inode] = st
	}
	return r
}

func (r *memRegistry) Load(string) ([]file.State, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []file.State
	for _, st := range r.states {
		out = append(out, st)
	}
	return out, nil
}

func (r *memRegistry) Save(_ string, st file.State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states[st.Inode] = st
	r.saves++
}

// Remove forgets the state of inode if it is on device (the states are kept by inode only: the tests use one
// filesystem).
func (r *memRegistry) Remove(_ string, device, inode uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, ok := r.states[inode]; ok && st.Device == device {
		delete(r.states, inode)
	}
	r.removed = append(r.removed, inode)
}

func (r *memRegistry) get(inode uint64) (file.State, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.states[inode]
	return st, ok
}

// recorded is a published event with a copy of its message taken at publish time.
type recorded struct {
	engine.Event
	msg string
}

// recPublisher stores every published event.
type recPublisher struct {
	mu     sync.Mutex
	events []recorded
	before func(ctx context.Context) // when set, called at the start of every Publish (to block the reader)
}

// held is a publisher's first Publish, blocked until release.
type held struct {
	blocked, gate chan struct{}
}

// heldPublisher returns a publisher whose first Publish blocks until released: the reader is held after its first
// read.
func heldPublisher() (*recPublisher, *held) {
	h := &held{blocked: make(chan struct{}), gate: make(chan struct{})}
	var once sync.Once
	return &recPublisher{before: func(ctx context.Context) {
		once.Do(func() {
			close(h.blocked)
			select {
			case <-h.gate:
			case <-ctx.Done():
			}
		})
	}}, h
}

// wait returns once the first Publish blocks.
func (h *held) wait(t *testing.T) {
	t.Helper()
	select {
	case <-h.blocked:
	case <-time.After(10 * time.Second):
		t.Fatal("the source never published")
	}
}

func (h *held) release() { close(h.gate) }

func (p *recPublisher) Publish(ctx context.Context, events []engine.Event) error {
	if p.before != nil {
		p.before(ctx)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range events {
		if e.Stream == nil || e.Pos <= e.Offset {
			panic(fmt.Sprintf("bad event %+v", e))
		}
		p.events = append(p.events, recorded{Event: e, msg: string(e.Message)})
	}
	return ctx.Err()
}

func (p *recPublisher) all() []recorded {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]recorded(nil), p.events...)
}

// messages returns the messages published for path (all paths when empty).
func (p *recPublisher) messages(path string) []string {
	var out []string
	for _, e := range p.all() {
		if path == "" || e.Stream.Path == path {
			out = append(out, e.msg)
		}
	}
	return out
}

// ackAll acknowledges every event published so far, in order, as the engine would.
func (p *recPublisher) ackAll(src *file.Source) {
	for _, e := range p.all() {
		src.Ack(e.Stream, e.Pos)
	}
}

// checkStable fails if a published message changed after Publish: arenas must never be rewritten.
func (p *recPublisher) checkStable(t *testing.T) {
	t.Helper()
	for _, e := range p.all() {
		if string(e.Message) != e.msg {
			t.Fatalf("message at offset %d changed after publish: %q -> %q", e.Offset, e.msg, e.Message)
		}
	}
}

// testConfig is a defaulted config with short intervals for the files in dir.
func testConfig(dir string, mod func(*file.Config)) file.Config {
	cfg := file.Config{Name: "app", Paths: []string{filepath.Join(dir, "*.log")}, ScanInterval: 10 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	return cfg
}

// running is a source running in the background.
type running struct {
	src  *file.Source
	pub  *recPublisher
	reg  *memRegistry
	stop func() error
}

func start(t *testing.T, cfg file.Config, reg *memRegistry, opts file.Options) *running {
	t.Helper()
	return startWith(t, cfg, reg, opts, &recPublisher{})
}

// startWith is start publishing to pub.
func startWith(t *testing.T, cfg file.Config, reg *memRegistry, opts file.Options, pub *recPublisher) *running {
	t.Helper()
	src, err := file.New(cfg, reg, opts, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, pub) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(10 * time.Second):
				runErr = fmt.Errorf("run did not return")
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	return &running{src: src, pub: pub, reg: reg, stop: stop}
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitMessages waits until exactly want were published for path, in order.
func waitMessages(t *testing.T, r *running, path string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := r.pub.messages(path)
		if equalStrings(got, want) {
			return
		}
		if len(got) > len(want) || time.Now().After(deadline) {
			t.Fatalf("messages for %s:\n got %q\nwant %q", path, got, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
}

func inodeOf(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return statInode(fi)
}

func lines(prefix string, n int) (content string, msgs []string) {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		m := fmt.Sprintf("%s-%04d", prefix, i)
		msgs = append(msgs, m)
		b.WriteString(m + "\n")
	}
	return b.String(), msgs
}
