package file

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventfields"
)

// readSize is the most one read takes from one file per round-robin turn: large enough for throughput, small
// enough that many busy files take fair turns.
const readSize = 256 << 10

// Idle polling backs off from minIdle up to the scan interval.
const minIdle = 5 * time.Millisecond

// Source is the log-file source of one log_files entry. One goroutine (Run) discovers, reads and publishes all
// of the entry's files in round-robin turns; acknowledgements arrive on the engine's goroutines.
type Source struct {
	cfg   Config
	reg   Registry
	opts  Options
	log   zerolog.Logger
	now   func() time.Time
	input engine.Input
	enc   encoding
	split splitter

	mu    sync.Mutex // guards the fields of tracked files that acknowledgements use, and files
	files map[fileID]*tracked
	// loaded indexes the states loaded from the registry by inode until the first scan has matched them: one
	// whose device is unknown or was renumbered is found by inode and path.
	loaded map[uint64][]*tracked

	held         map[fileID]*heldCopy        // possible copies waiting for a truncation; see copytruncate.go
	fingerprints map[fingerprintKey]*tracked // index of the tracked files for holdCopy, built once per scan

	// Owned by the Run goroutine.
	open       []*tracked // round-robin order
	openCount  int
	turn       []*tracked
	raw        arena // read data; complete UTF-8 lines are published straight from it
	out        arena // decoded and joined messages
	events     []engine.Event
	uses       []pendingUse // the chunks the events' messages lie in, per stream
	scratch    []byte
	emitFn     func(joined)
	cur        *tracked // the file multi-line events are emitted for
	emitMLFn   func(joined)
	curJoin    *joinStream    // the container stream multi-line events are emitted for
	heldEvents []pendingEvent // events of the record being processed, waiting for their position
	// blocked is how long Publish calls held the reader in all. Join and multi-line timeouts do not count it:
	// while the reader is held, the records that would continue a message may be in the file, unread.
	blocked   time.Duration
	onceSet   []*tracked
	nextMLRun time.Time
	noBirth   bool     // the lack of birth times was logged
	skips     skipLog  // the paths the globs match that are not read, logged once
	baseDirs  []string // the directories above the globs' first wildcards

	pool  chunkPool // the arenas' chunks, recycled once nothing can read them
	stats counters
}

type counters struct {
	events, lines, bytes, longPieces, mlSplits, invalid, truncations atomic.Uint64
	truncLost, missingLost, partialDropped, malformed                atomic.Uint64
	filesOpen, filesTracked                                          atomic.Int64
}

// New returns the source of cfg, which must have been defaulted and validated.
func New(cfg Config, reg Registry, opts Options, log zerolog.Logger) (*Source, error) {
	if reg == nil {
		return nil, fmt.Errorf("file input %q: no registry", cfg.Name)
	}
	// Relative globs are resolved once against the working directory, so that registry paths and
	// log.file.path are absolute and stay meaningful whatever directory a later run starts in.
	paths := make([]string, len(cfg.Paths))
	for i, p := range cfg.Paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("file input %q: paths[%d]: %w", cfg.Name, i, err)
		}
		paths[i] = abs
	}
	cfg.Paths = paths
	if cfg.Format != FormatPlain && cfg.Format != FormatAuto && !slices.ContainsFunc(opts.Formats,
		func(f Format) bool { return f.Name() == cfg.Format }) {
		return nil, fmt.Errorf("file input %q: format %s: no decoder for it in this build", cfg.Name, cfg.Format)
	}
	fieldsJSON, err := eventfields.Render(cfg.Fields, cfg.FieldsUnderRoot)
	if err != nil {
		return nil, fmt.Errorf("file input %q: %w", cfg.Name, err)
	}
	s := &Source{
		cfg: cfg, reg: reg, opts: opts, now: opts.Now,
		log:     log.With().Str("component", "file").Str("input", cfg.Name).Logger(),
		input:   engine.Input{Name: cfg.Name, Type: "file", FieldsJSON: fieldsJSON},
		enc:     parseEncoding(cfg.Encoding),
		files:   make(map[fileID]*tracked),
		scratch: make([]byte, FingerprintSize),
	}
	if opts.InputType != "" {
		s.input.Type = opts.InputType
	}
	s.baseDirs = baseDirs(paths)
	if s.now == nil {
		s.now = time.Now
	}
	s.split = newSplitter(s.enc, rawLineMax(cfg))
	s.raw.pool, s.out.pool = &s.pool, &s.pool
	s.emitFn, s.emitMLFn = s.emitJoined, s.emitML
	return s, nil
}

// rawLineMax is the longest raw line read whole. A container log's record is longer than the message it holds
// (its framing, and escapes that take up to 6 bytes for one), and is cut into messages of max_line_bytes after
// decoding: cut raw, its pieces would not decode.
func rawLineMax(cfg Config) int {
	if cfg.Format == FormatPlain {
		return cfg.MaxLineBytes
	}
	return 6*cfg.MaxLineBytes + 4096
}

// active is the reader's active time at wall time at: at less the time Publish calls held the reader so far.
// Join and multi-line timeouts are measured in it.
func (s *Source) active(at time.Time) time.Time { return at.Add(-s.blocked) }

// Input is the engine input every stream of this source points to.
func (s *Source) Input() *engine.Input { return &s.input }

// Stats returns the source's counters.
func (s *Source) Stats() Stats {
	c := &s.stats
	return Stats{Events: c.events.Load(), Lines: c.lines.Load(), Bytes: c.bytes.Load(),
		LongLinePieces: c.longPieces.Load(), MultilineSplits: c.mlSplits.Load(), InvalidEncoding: c.invalid.Load(),
		Truncations: c.truncations.Load(), TruncatedBytesLost: c.truncLost.Load(), MissingBytesLost: c.missingLost.Load(),
		PartialBytesDropped: c.partialDropped.Load(), Malformed: c.malformed.Load(), FilesOpen: c.filesOpen.Load(),
		FilesTracked: c.filesTracked.Load(), ChunksAllocated: s.pool.allocated.Load(),
		ChunksReused: s.pool.reused.Load()}
}

// Run discovers and reads the files until ctx ends (it returns nil), or in once mode until every file found at
// start was read to its size at that moment. It returns an error only when the registry cannot be loaded or
// the publisher fails for another reason than ctx.
func (s *Source) Run(ctx context.Context, pub engine.Publisher) error {
	defer s.closeAll()
	if err := s.load(); err != nil {
		return err
	}
	s.scan(true)
	if s.opts.Once {
		s.startOnce()
	}
	stop := func(err error) error {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if err := s.publish(ctx, pub); err != nil {
		return stop(err)
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	nextScan := time.Now().Add(s.cfg.ScanInterval)
	idle := minIdle
	for ctx.Err() == nil {
		progressed, err := s.readTurn(ctx, pub)
		if err != nil {
			return stop(err)
		}
		s.expireMultiline()
		if s.opts.Once {
			if s.onceFinished() {
				return stop(s.publish(ctx, pub))
			}
			s.schedule(s.now())
		} else if !time.Now().Before(nextScan) {
			s.scan(false)
			nextScan = time.Now().Add(s.cfg.ScanInterval)
		}
		if err := s.publish(ctx, pub); err != nil {
			return stop(err)
		}
		if progressed {
			idle = minIdle
			continue
		}
		wait := idle
		if !s.opts.Once {
			wait = min(wait, time.Until(nextScan))
		}
		if ml := s.cfg.Multiline; ml != nil {
			wait = min(wait, ml.Timeout/2)
		}
		timer.Reset(max(wait, time.Millisecond))
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
		idle = min(idle*2, s.cfg.ScanInterval)
	}
	return nil
}

// load puts the registry's states among the known files; they are matched by identity in the first scan.
func (s *Source) load() error {
	states, err := s.reg.Load(s.cfg.Name)
	if err != nil {
		return fmt.Errorf("load registry of input %q: %w", s.cfg.Name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loaded = make(map[uint64][]*tracked)
	for _, st := range states {
		t := &tracked{inode: st.Inode, dev: st.Device, path: st.Path, fp: st.Fingerprint,
			fpLen: st.FingerprintLen, gen: st.Generation, acked: st.Offset, size: st.Size, lastSeen: st.LastSeen,
			offset: st.Offset, search: true, limit: -1, fromRegistry: true}
		if !st.Birth.IsZero() {
			t.birth = st.Birth.UnixNano()
		}
		s.files[t.id()] = t
		s.loaded[t.inode] = append(s.loaded[t.inode], t)
	}
	s.stats.filesTracked.Store(int64(len(s.files)))
	return nil
}

// publish hands the collected events to the pipeline.
func (s *Source) publish(ctx context.Context, pub engine.Publisher) error {
	s.pushUses()
	if len(s.events) == 0 {
		return nil
	}
	start := s.now()
	err := pub.Publish(ctx, s.events)
	s.blocked += max(0, s.now().Sub(start))
	if err == nil {
		s.stats.events.Add(uint64(len(s.events)))
	}
	// Not cleared: the stale entries are never read again (they only keep at most one batch of arena chunks
	// reachable for the garbage collector until they are overwritten), and clearing costs write barriers on
	// every event.
	s.events = s.events[:0]
	return err
}

func (s *Source) closeAll() {
	for len(s.open) > 0 {
		s.closeFile(s.open[0])
	}
}

// startOnce fixes what once mode reads: the files found by the first scan, up to their current size.
func (s *Source) startOnce() {
	for _, t := range s.files {
		if t.seen {
			t.limit = t.size
			s.onceSet = append(s.onceSet, t)
		}
	}
}

func (s *Source) onceFinished() bool {
	for _, t := range s.onceSet {
		if !t.done {
			return false
		}
	}
	return true
}
