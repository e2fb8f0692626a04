package file_test

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sources/file"
)

// ackedEvent is a published event with a copy of its message taken at publish time.
type ackedEvent struct {
	e   engine.Event
	msg []byte
}

// ackingPublisher acknowledges events the way the engine may: late, with several streams' acknowledgements
// interleaved on two goroutines, each acknowledgement covering a random number of a stream's oldest events
// (across batch boundaries). Just before acknowledging, it checks that every covered event's message still holds
// the bytes it had at publish time. Publish blocks while more than maxPending message bytes wait (backpressure),
// so that the source keeps reading into recycled chunks while earlier events are still pending.
type ackingPublisher struct {
	src        *file.Source
	valid      func(msg []byte) bool // checked at publish time
	maxPending int
	never      func(e engine.Event) bool // events never acknowledged (nor any later event of their stream)

	mu       sync.Mutex
	queues   map[*engine.Stream][]ackedEvent
	busy     map[*engine.Stream]bool
	blocked  map[*engine.Stream]bool // a never-acknowledged event was reached
	held     []ackedEvent            // events behind a never-acknowledged one
	pending  int
	all      []string // every published message
	acked    int
	problems []string
}

func newAckingPublisher(src *file.Source, maxPending int, valid func([]byte) bool) *ackingPublisher {
	return &ackingPublisher{src: src, valid: valid, maxPending: maxPending,
		queues: map[*engine.Stream][]ackedEvent{}, busy: map[*engine.Stream]bool{},
		blocked: map[*engine.Stream]bool{}}
}

func (p *ackingPublisher) problem(format string, args ...any) {
	if len(p.problems) < 10 {
		p.problems = append(p.problems, fmt.Sprintf(format, args...))
	}
}

func (p *ackingPublisher) Publish(ctx context.Context, events []engine.Event) error {
	for i := range events {
		e := events[i]
		if !p.valid(e.Message) {
			p.mu.Lock()
			p.problem("%s@%d: invalid message at publish: %q", e.Stream.Path, e.Offset, e.Message)
			p.mu.Unlock()
		}
		ev := ackedEvent{e: e, msg: bytes.Clone(e.Message)}
		for {
			p.mu.Lock()
			if p.pending < p.maxPending || ctx.Err() != nil {
				break
			}
			p.mu.Unlock()
			time.Sleep(100 * time.Microsecond) // backpressure: wait for acknowledgements
		}
		if ctx.Err() != nil {
			p.mu.Unlock()
			return ctx.Err() // this event and the rest are not published
		}
		if p.blocked[e.Stream] {
			p.held = append(p.held, ev)
		} else {
			p.queues[e.Stream] = append(p.queues[e.Stream], ev)
		}
		p.pending += len(ev.msg)
		p.all = append(p.all, string(ev.msg))
		p.mu.Unlock()
	}
	return nil
}

// ackSome acknowledges a random prefix of a random stream's pending events; it reports whether it did.
func (p *ackingPublisher) ackSome(rng *rand.Rand) bool {
	p.mu.Lock()
	var candidates []*engine.Stream
	for st, q := range p.queues {
		if len(q) > 0 && !p.busy[st] && !p.blocked[st] {
			candidates = append(candidates, st)
		}
	}
	if len(candidates) == 0 {
		p.mu.Unlock()
		return false
	}
	sort.Slice(candidates, func(i, j int) bool { return candidates[i].Path < candidates[j].Path })
	st := candidates[rng.Intn(len(candidates))]
	q := p.queues[st]
	k := 1 + rng.Intn(len(q))
	if p.never != nil {
		for i := 0; i < k; i++ {
			if p.never(q[i].e) {
				p.blocked[st] = true
				p.held = append(p.held, q[i:]...)
				k = i
				break
			}
		}
	}
	take := q[:k]
	p.queues[st] = q[k:]
	if p.blocked[st] {
		p.queues[st] = nil
	}
	if k == 0 {
		p.mu.Unlock()
		return true
	}
	p.busy[st] = true
	p.mu.Unlock()

	// Outside the publisher's lock, as the engine's output goroutines do: the reader keeps running.
	var bad []string
	for _, ev := range take {
		if !bytes.Equal(ev.e.Message, ev.msg) {
			bad = append(bad, fmt.Sprintf("%s@%d: message changed before its acknowledgement: %q -> %q",
				ev.e.Stream.Path, ev.e.Offset, ev.msg, ev.e.Message))
		}
	}
	p.src.Ack(st, take[len(take)-1].e.Pos)

	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range bad {
		p.problem("%s", b)
	}
	p.busy[st] = false
	for _, ev := range take {
		p.pending -= len(ev.msg)
	}
	p.acked += len(take)
	return true
}

// runAcked runs src with pub acknowledging on two goroutines; the returned function stops both and reports a
// source error.
func runAcked(t *testing.T, src *file.Source, pub *ackingPublisher) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, pub) }()
	pub.runAckers(ctx, &wg)
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		wg.Wait()
	}
}

// runAckers acknowledges on two goroutines until ctx ends.
func (p *ackingPublisher) runAckers(ctx context.Context, wg *sync.WaitGroup) {
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed))
			for ctx.Err() == nil {
				if !p.ackSome(rng) || rng.Intn(4) == 0 {
					time.Sleep(time.Duration(rng.Intn(300)) * time.Microsecond)
				}
			}
		}(int64(g) + 1)
	}
}

func (p *ackingPublisher) state() (published, acked, pending int, problems []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.all), p.acked, p.pending, append([]string(nil), p.problems...)
}

// checkHeld checks that the never-acknowledged events still hold their publish-time bytes.
func (p *ackingPublisher) checkHeld(t *testing.T) int {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ev := range p.held {
		if !bytes.Equal(ev.e.Message, ev.msg) {
			t.Fatalf("%s@%d: unacknowledged message changed: %q -> %q", ev.e.Stream.Path, ev.e.Offset, ev.msg,
				ev.e.Message)
		}
	}
	return len(p.held)
}

// waitFor polls cond for up to a minute: these tests read several MiB, slowly under the race detector.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkedLine is a line that proves its own integrity: tag, sequence number, padding and a checksum of them.
func checkedLine(tag string, seq, padLen int, pad string) string {
	body := fmt.Sprintf("%s %07d %s", tag, seq, string([]rune(strings.Repeat(pad, padLen+1))[:padLen]))
	return fmt.Sprintf("%s %08x", body, crc32.ChecksumIEEE([]byte(body)))
}

func validCheckedLine(line string) bool {
	i := strings.LastIndexByte(line, ' ')
	return i > 0 && fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(line[:i]))) == line[i+1:]
}

// longAlphabet makes long lines whose every piece is checkable: each byte follows the previous one in it.
const longAlphabet = "abcdefghijklmnopqrstuvwxyz"

func validPiece(msg []byte) bool {
	for i := 1; i < len(msg); i++ {
		if strings.IndexByte(longAlphabet, msg[i]) != (strings.IndexByte(longAlphabet, msg[i-1])+1)%26 {
			return false
		}
	}
	return len(msg) > 0 && strings.IndexByte(longAlphabet, msg[0]) >= 0
}

func toLatin1(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r))
	}
	return b
}

// recycleCase is one kind of input for TestChunksRecycledSafely: how records are made, written and turned into
// messages.
type recycleCase struct {
	name   string
	mod    func(*file.Config)
	record func(rng *rand.Rand, tag string, seq int) (text string, msgs []string) // text is written plus "\n"
	encode func(string) []byte
	valid  func(msg []byte) bool
	opts   file.Options
}

func recycleCases() []recycleCase {
	plain := func(rng *rand.Rand, tag string, seq int) (string, []string) {
		l := checkedLine(tag, seq, rng.Intn(200), "0123456789")
		return l, []string{l}
	}
	validLines := func(msg []byte) bool {
		for _, l := range strings.Split(string(msg), "\n") {
			if !validCheckedLine(l) {
				return false
			}
		}
		return true
	}
	const maxLine = 1000
	return []recycleCase{
		{name: "utf-8", record: plain, valid: validLines},
		{name: "long lines", mod: func(c *file.Config) { c.MaxLineBytes = maxLine },
			record: func(rng *rand.Rand, tag string, seq int) (string, []string) {
				if rng.Intn(8) != 0 {
					return plain(rng, tag, seq)
				}
				n := maxLine + 1 + rng.Intn(3*maxLine)
				long := strings.Repeat(longAlphabet, n/26+1)[:n]
				var pieces []string
				for len(long) > maxLine {
					pieces, long = append(pieces, long[:maxLine]), long[maxLine:]
				}
				return strings.Repeat(longAlphabet, n/26+1)[:n], append(pieces, long)
			},
			valid: func(msg []byte) bool { return validLines(msg) || validPiece(msg) }},
		{name: "latin1", mod: func(c *file.Config) { c.Encoding = "latin1" },
			record: func(rng *rand.Rand, tag string, seq int) (string, []string) {
				l := checkedLine(tag, seq, rng.Intn(200), "é-ü-ß ")
				return l, []string{l}
			},
			encode: toLatin1, valid: validLines},
		{name: "multiline", mod: func(c *file.Config) {
			// A line ending in a backslash continues in the next: every event is complete once its last
			// line is read, whatever the timing.
			c.Multiline = &file.MultilineConfig{Pattern: `\\$`, Match: "before", Timeout: time.Hour}
		}, record: func(rng *rand.Rand, tag string, seq int) (string, []string) {
			var parts []string
			for j := rng.Intn(4); j > 0; j-- {
				parts = append(parts, checkedLine(tag, seq, rng.Intn(100), "abc")+` \`)
			}
			parts = append(parts, checkedLine(tag, seq, rng.Intn(200), "xyz"))
			m := strings.Join(parts, "\n")
			return m, []string{m}
		}, valid: func(msg []byte) bool {
			for _, l := range strings.Split(string(msg), "\n") {
				if !validCheckedLine(strings.TrimSuffix(l, ` \`)) {
					return false
				}
			}
			return true
		}},
		{name: "container format", mod: func(c *file.Config) { c.Format = file.FormatCRI },
			opts: file.Options{Formats: []file.Format{tagFormat{}}},
			record: func(rng *rand.Rand, tag string, seq int) (string, []string) {
				return taggedRecords(rng, checkedLine(tag, seq, rng.Intn(200), "0123456789"),
					checkedLine(tag, seq, rng.Intn(100), "abc"))
			}, valid: validLines},
	}
}

// TestChunksRecycledSafely reads several MiB from many files, with rename rotations, a copytruncate (whose old
// generation's acknowledgements must still free its chunks), long lines, latin1 and multi-line input, while
// acknowledging late and out of batch order. Chunks must be reused, and no message may change before its
// acknowledgement.
func TestChunksRecycledSafely(t *testing.T) {
	for _, tc := range recycleCases() {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(dir, func(c *file.Config) {
				c.CloseInactive = 100 * time.Millisecond
				if tc.mod != nil {
					tc.mod(c)
				}
			})
			reg := newRegistry()
			src, err := file.New(cfg, reg, tc.opts, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			src.PoisonFreedChunks()
			pub := newAckingPublisher(src, 3<<20, tc.valid)
			defer runAcked(t, src, pub)()

			rng := rand.New(rand.NewSource(42))
			encode := tc.encode
			if encode == nil {
				encode = func(s string) []byte { return []byte(s) }
			}
			const files, rounds = 6, 24
			var want []string
			var written int64
			seq := 0
			for round := 0; round < rounds; round++ {
				if round > 0 {
					// This round's rotation renames a file out of the glob and replaces (deletes) an older rotated
					// one: both must have been found and read, or their data is lost (polling cannot see a file
					// created and rotated away between two scans).
					waitFor(t, "everything read", func() bool { return int64(src.Stats().Bytes) == written })
				}
				for i := 0; i < files; i++ {
					path := filepath.Join(dir, fmt.Sprintf("f%d.log", i))
					if round > 0 && round%6 == i%6 {
						// rename+create rotation; the previous rotated file is replaced (deleted) by the rename
						if err := os.Rename(path, path+".1"); err != nil {
							t.Fatal(err)
						}
					}
					var b bytes.Buffer
					if round == 0 || round%6 == i%6 {
						// A new file starts with a unique line: files are told apart by their first bytes, and
						// two files starting with the same long line would be one file on a reused inode.
						header := checkedLine(fmt.Sprintf("f%d", i), seq, 10, "-")
						seq++
						b.WriteString(header + "\n")
						want = append(want, header)
					}
					for b.Len() < 64<<10 {
						text, msgs := tc.record(rng, fmt.Sprintf("f%d", i), seq)
						seq++
						b.Write(encode(text + "\n"))
						want = append(want, msgs...)
					}
					appendFile(t, path, b.String())
					written += int64(b.Len())

				}
				if round == rounds/2 {
					// copytruncate of f0 once everything is read, so that nothing is lost; the old generation's
					// events are acknowledged after the new generation started. The source sees a truncation
					// (f0 open) or a new file on the same inode (f0 closed as inactive).
					waitFor(t, "everything read", func() bool { return int64(src.Stats().Bytes) == written })
					path := filepath.Join(dir, "f0.log")
					if err := os.Truncate(path, 0); err != nil {
						t.Fatal(err)
					}
					header := checkedLine("f0", seq, 10, "-")
					seq++
					appendFile(t, path, header+"\n")
					written += int64(len(header) + 1)
					want = append(want, header)
					waitFor(t, "the new content read", func() bool {
						published, _, _, _ := pub.state()
						return published == len(want)
					})
				}
			}
			waitFor(t, "everything published and acknowledged", func() bool {
				published, acked, _, problems := pub.state()
				return len(problems) > 0 || (published == len(want) && acked == published)
			})
			_, _, pending, problems := pub.state()
			if len(problems) > 0 {
				t.Fatalf("%d problems, first ones:\n%s", len(problems), strings.Join(problems, "\n"))
			}
			if pending != 0 {
				t.Fatalf("%d bytes pending", pending)
			}
			pub.mu.Lock()
			got := append([]string(nil), pub.all...)
			pub.mu.Unlock()
			sort.Strings(got)
			sort.Strings(want)
			if !equalStrings(got, want) {
				t.Fatalf("published %d messages, want %d (or different ones)", len(got), len(want))
			}
			if uses := src.ChunkUses(); uses != 0 {
				t.Errorf("%d chunk uses left after every event was acknowledged", uses)
			}
			st := src.Stats()
			if st.ChunksReused == 0 {
				t.Errorf("no chunk reused: %+v", st)
			}
			t.Logf("%d bytes, %d events, chunks allocated %d reused %d", written, len(want), st.ChunksAllocated,
				st.ChunksReused)
		})
	}
}

// TestUnacknowledgedEventsKeepTheirChunks: events that are never acknowledged keep their bytes, however much is
// read (and recycled) after them.
func TestUnacknowledgedEventsKeepTheirChunks(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir, nil)
	src, err := file.New(cfg, newRegistry(), file.Options{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	src.PoisonFreedChunks()
	pub := newAckingPublisher(src, 2<<20, func(msg []byte) bool { return validCheckedLine(string(msg)) })
	stuck := filepath.Join(dir, "stuck.log")
	// From the stuck file, every event from the 100th on is never acknowledged (a run stopped before its
	// pipeline drained); the other files are acknowledged normally.
	pub.never = func(e engine.Event) bool { return e.Stream.Path == stuck && e.Offset > 100*60 }
	defer runAcked(t, src, pub)()

	rng := rand.New(rand.NewSource(7))
	var b bytes.Buffer
	seq := 0
	for b.Len() < 512<<10 {
		b.WriteString(checkedLine("stuck", seq, 20+rng.Intn(60), "0123456789") + "\n")
		seq++
	}
	writeFile(t, stuck, b.String())
	stuckLines := seq
	var wantOthers int
	for round := 0; round < 4; round++ {
		for i := 0; i < 4; i++ {
			b.Reset()
			for b.Len() < 512<<10 {
				b.WriteString(checkedLine(fmt.Sprintf("other%d", i), seq, rng.Intn(200), "abcdef") + "\n")
				seq++
				wantOthers++
			}
			appendFile(t, filepath.Join(dir, fmt.Sprintf("other%d.log", i)), b.String())
		}
	}
	waitFor(t, "everything published, the others acknowledged", func() bool {
		published, acked, _, problems := pub.state()
		pub.mu.Lock()
		held := len(pub.held)
		pub.mu.Unlock()
		return len(problems) > 0 || (published == stuckLines+wantOthers && acked+held == published &&
			src.Stats().ChunksReused > 0)
	})
	if _, _, _, problems := pub.state(); len(problems) > 0 {
		t.Fatalf("%d problems, first ones:\n%s", len(problems), strings.Join(problems, "\n"))
	}
	held := pub.checkHeld(t)
	if held < stuckLines-200 {
		t.Fatalf("only %d of the stuck file's %d events held", held, stuckLines)
	}
	if src.ChunkUses() == 0 {
		t.Error("no chunk use kept for the unacknowledged events")
	}
	t.Logf("held %d events; stats %+v", held, src.Stats())
}

// syncAckPublisher acknowledges every event inside Publish (the earliest an acknowledgement can come), except
// the events hold selects, which it keeps unacknowledged with a copy of their bytes.
type syncAckPublisher struct {
	src   *file.Source
	valid func(msg []byte) bool
	hold  func(e engine.Event) bool

	mu       sync.Mutex
	msgs     map[string][]string // per path, copies taken at publish
	held     []ackedEvent
	problems []string
}

func (p *syncAckPublisher) Publish(ctx context.Context, events []engine.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	last := map[*engine.Stream]int64{}
	var order []*engine.Stream
	for _, e := range events {
		if !p.valid(e.Message) && len(p.problems) < 10 {
			p.problems = append(p.problems, fmt.Sprintf("%s@%d: invalid at publish: %q", e.Stream.Path, e.Offset,
				e.Message))
		}
		p.msgs[e.Stream.Path] = append(p.msgs[e.Stream.Path], string(e.Message))
		if p.hold(e) {
			p.held = append(p.held, ackedEvent{e: e, msg: bytes.Clone(e.Message)})
			continue
		}
		if _, ok := last[e.Stream]; !ok {
			order = append(order, e.Stream)
		}
		last[e.Stream] = e.Pos
	}
	for _, st := range order {
		p.src.Ack(st, last[st])
	}
	return ctx.Err()
}

// TestPartialLinesSurviveRecycling: a partial line left in a chunk that the reader moved on from, and whose
// events were all acknowledged at once, must survive until it is completed (or flushed), and a flushed partial
// line's event keeps that older chunk until it is acknowledged.
func TestPartialLinesSurviveRecycling(t *testing.T) {
	dir := t.TempDir()
	del, part := filepath.Join(dir, "0del.log"), filepath.Join(dir, "1part.log")
	writeFile(t, del, "del-first\ndel-partial-unterminated")
	writeFile(t, part, "part-first\npart-partial-")
	rng := rand.New(rand.NewSource(3))
	seq := 0
	for i := 0; i < 8; i++ {
		var b bytes.Buffer
		for b.Len() < 2<<20 {
			b.WriteString(checkedLine(fmt.Sprintf("b%d", i), seq, rng.Intn(200), "0123456789") + "\n")
			seq++
		}
		writeFile(t, filepath.Join(dir, fmt.Sprintf("b%d.log", i)), b.String())
	}
	cfg := testConfig(dir, func(c *file.Config) { c.FlushPartialOnClose = true })
	src, err := file.New(cfg, newRegistry(), file.Options{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	src.PoisonFreedChunks()
	pub := &syncAckPublisher{src: src, msgs: map[string][]string{},
		valid: func(msg []byte) bool {
			return validCheckedLine(string(msg)) || bytes.HasPrefix(msg, []byte("del-")) ||
				bytes.HasPrefix(msg, []byte("part-"))
		},
		hold: func(e engine.Event) bool { return e.Stream.Path == del && e.Offset > 0 }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, pub) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	count := func(path string) int {
		pub.mu.Lock()
		defer pub.mu.Unlock()
		return len(pub.msgs[path])
	}
	waitFor(t, "the first lines", func() bool { return count(del) == 1 && count(part) == 1 })
	if err := os.Remove(del); err != nil { // its partial line is flushed while the other files are read
		t.Fatal(err)
	}
	waitFor(t, "the other files read", func() bool { return seq == int(src.Stats().Events)-3 })
	appendFile(t, part, "completed\n")
	waitFor(t, "the completed line", func() bool { return count(part) == 2 })

	pub.mu.Lock()
	defer pub.mu.Unlock()
	if len(pub.problems) > 0 {
		t.Fatalf("problems:\n%s", strings.Join(pub.problems, "\n"))
	}
	if got := pub.msgs[part]; !equalStrings(got, []string{"part-first", "part-partial-completed"}) {
		t.Errorf("partial line completed after recycling: %q", got)
	}
	if got := pub.msgs[del]; !equalStrings(got, []string{"del-first", "del-partial-unterminated"}) {
		t.Errorf("flushed partial line: %q", got)
	}
	for _, ev := range pub.held {
		if !bytes.Equal(ev.e.Message, ev.msg) {
			t.Errorf("unacknowledged flushed line changed: %q -> %q", ev.msg, ev.e.Message)
		}
	}
	if st := src.Stats(); st.ChunksReused == 0 {
		t.Errorf("no chunk reused: %+v", st)
	}
}
