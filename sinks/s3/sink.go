package s3out

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventjson"
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("s3 sink closed")

const (
	// stageFlushBytes is how many encoded bytes Write gathers before handing them to a compressor: compressors
	// work faster on larger writes than on single lines.
	stageFlushBytes = 64 << 10
	// maxKeptBuffer caps the staging buffer kept between batches, so one huge event does not pin its memory.
	maxKeptBuffer = 4 << 20
	// maxUploads bounds the PUTs in flight; more sealed objects wait for a slot.
	maxUploads = 4
	// maxIdleObjects bounds the recycled objects kept with their buffers.
	maxIdleObjects = 2
)

// Sink archives events to S3 as compressed NDJSON objects, one per prefix (an hour partition by default) at a
// time, cut by size or age. Write places a batch's events in the open objects and holds the batch; each batch is
// released once every object holding its events was uploaded (its events accepted) or failed (retried).
type Sink struct {
	cfg     Config
	client  *minio.Client
	log     zerolog.Logger
	pattern prefixPattern
	codec   codec
	putOpts minio.PutObjectOptions

	// Used by Write only (the engine calls it one at a time).
	enc       eventjson.Encoder
	prefixBuf []byte
	idBuf     []byte

	mu          sync.Mutex
	open        map[string]*object // by prefix
	cur         *object            // the object of the last event placed, to skip the map lookup
	heldBytes   int64              // queue bytes of the events in open objects
	heldEvents  int                // events in open objects
	placed      uint64             // events placed so far: the clock of object.lastUsed
	stage       []byte             // encoded lines not yet given to stageObj
	stageObj    *object
	compressors compressors
	idle        []*object // recycled objects
	inflight    int       // sealed objects not yet settled
	settled     chan struct{}
	closed      bool
	// Half the queue's bounds (SetQueueLimits; zero: not set): open objects together hold less, so the queue
	// always has room for the events that fill them.
	halfQueueEvents int
	halfQueueBytes  int64

	slots         chan struct{} // one per PUT in flight
	uploads       sync.WaitGroup
	uploadCtx     context.Context // ends when Close gives up on the uploads
	cancelUploads context.CancelFunc
	kick          chan struct{} // capacity 1: an object was opened, recompute the next age cut
	stop          chan struct{} // closed by Close: the age loop ends
	ageDone       chan struct{}

	stats    counters
	warn     rateLimit
	failures atomic.Int64 // consecutive failed uploads, for the "resumed" log line
}

// New returns a sink writing to cfg.Bucket through client (built by the caller with internal/s3client, usually
// s3client.New(s3client.FromEnv(os.Getenv, cfg.ClientOverrides()))). New fills unset fields with their defaults
// and validates cfg. It makes no request: the first upload shows whether the bucket and the credentials work.
// Close stops the sink's goroutines.
func New(cfg Config, client *minio.Client, log zerolog.Logger) (*Sink, error) {
	if client == nil {
		return nil, errors.New("s3 sink: no client")
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("s3 sink: %w", err)
	}
	pattern, err := parsePrefix(cfg.Prefix)
	if err != nil {
		return nil, fmt.Errorf("s3 sink: prefix: %w", err)
	}
	cd, err := codecFor(cfg.Compression)
	if err != nil {
		return nil, fmt.Errorf("s3 sink: %w", err)
	}
	uploadCtx, cancel := context.WithCancel(context.Background())
	s := &Sink{
		cfg:     cfg,
		client:  client,
		log:     log.With().Str("component", "sink").Str("sink", "s3").Str("bucket", cfg.Bucket).Logger(),
		pattern: pattern,
		codec:   cd,
		putOpts: minio.PutObjectOptions{ContentType: contentType, ContentEncoding: cd.contentEncoding,
			DisableMultipart: true},
		open:          make(map[string]*object),
		compressors:   compressors{codec: cd},
		slots:         make(chan struct{}, maxUploads),
		uploadCtx:     uploadCtx,
		cancelUploads: cancel,
		kick:          make(chan struct{}, 1),
		stop:          make(chan struct{}),
		ageDone:       make(chan struct{}),
	}
	go s.ageLoop()
	return s, nil
}

// Write places the batch's events in the open object of their prefix, opening and cutting objects as needed,
// and holds the batch. It never waits for an upload. After Close it marks every event Retry and returns
// ErrClosed.
func (s *Sink) Write(_ context.Context, b *engine.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		for i := range b.Events {
			b.Retry(i, ErrClosed)
		}
		return ErrClosed
	}
	p := &pending{b: b, release: b.Hold()}
	p.remaining.Store(1) // this Write
	opened := false
	dead := b.DeadLetter()
	for i := range b.Events {
		ev := &b.Events[i]
		s.prefixBuf = s.pattern.appendTo(s.prefixBuf[:0], ev)
		o := s.cur
		if o == nil || o.prefix != string(s.prefixBuf) {
			if o = s.open[string(s.prefixBuf)]; o == nil {
				if len(s.open) >= s.cfg.MaxOpenObjects {
					s.seal(s.leastRecentOpen())
				}
				o = s.openObject(string(s.prefixBuf))
				opened = true
			}
			s.cur = o
		}
		if s.stageObj != o {
			s.flushStage()
			s.stageObj = o
		}
		start := len(s.stage)
		if dead {
			s.stage = s.enc.AppendDeadLetter(s.stage, ev, b.Reason(i))
		} else {
			s.stage = s.enc.Append(s.stage, ev)
		}
		s.stage = append(s.stage, '\n')
		n, size := int64(len(s.stage)-start), ev.Size()
		if o.events > 0 && (o.raw+n > s.cfg.MaxObjectBytes || o.held+size > s.cfg.MaxObjectBytes) {
			// The line goes to a new object: hand o the lines before it, cut o, and keep the line staged.
			prefix := o.prefix
			s.stage = s.stage[:start]
			s.seal(o) // compresses stage[:start] and empties the stage; the line's bytes stay in its array
			s.stage = append(s.stage[:0], s.stage[start:start+int(n)]...)
			o = s.openObject(prefix)
			opened = true
			s.cur, s.stageObj = o, o
		}
		if o.events == 0 {
			o.first = ev.AppendID(o.first[:0])
			o.opened = time.Now()
		}
		s.idBuf = ev.AppendID(s.idBuf[:0])
		_, _ = o.ids.Write(s.idBuf)
		_, _ = o.ids.Write([]byte{'\n'})
		o.raw += n
		o.held += size
		o.events++
		s.placed++
		o.lastUsed = s.placed
		o.add(p, i)
		s.heldBytes += size
		s.heldEvents++
		if len(s.stage) >= stageFlushBytes {
			s.flushStage()
		}
		// Open objects of several prefixes together may hold no more of the queue than one full object, nor
		// half the queue: the queue then always has room for the events that fill them.
		for {
			over, byEvents := s.openOverBound()
			if !over {
				break
			}
			s.seal(s.largestOpen(byEvents))
		}
	}
	s.flushStage()
	if cap(s.stage) > maxKeptBuffer {
		s.stage = nil
	}
	s.mu.Unlock()
	if opened {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	p.done()
	return nil
}

// Flush cuts every open object and waits until every object cut so far is settled (uploaded, or failed and its
// events marked for retry), or until ctx ends. For a pipeline that waits for held batches before closing its
// sinks: calling Flush when draining starts avoids waiting for max_object_age.
func (s *Sink) Flush(ctx context.Context) error {
	s.mu.Lock()
	s.sealAll()
	settled := s.settledChan()
	s.mu.Unlock()
	select {
	case <-settled:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("s3 sink flush: %w", ctx.Err())
	}
}

// Close cuts every open object and waits for every upload. When ctx ends first, the uploads in flight are
// cancelled and their events marked for retry. It returns an error when objects cut by Close could not be
// uploaded (their events stay unacknowledged). Write must not be called concurrently with Close.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.ageDone

	failedBefore := s.stats.failed.Load()
	s.mu.Lock()
	s.sealAll()
	settled := s.settledChan()
	s.mu.Unlock()
	var err error
	select {
	case <-settled:
	case <-ctx.Done():
		err = fmt.Errorf("s3 sink close: %w: objects still uploading were abandoned", ctx.Err())
		s.cancelUploads()
	}
	s.uploads.Wait()
	s.cancelUploads()
	if failed := s.stats.failed.Load() - failedBefore; failed > 0 && err == nil {
		err = fmt.Errorf("s3 sink close: %d objects could not be uploaded while closing; their events stay "+
			"unacknowledged", failed)
	}
	return err
}

// SetQueueLimits tells the sink the bounds of the pipeline's queue (engine.QueueLimits; zero or less takes the
// engine's default, as the engine does). The sink holds events until their object is written, so open objects
// must never hold the whole queue, or the source blocks and nothing is cut until max_object_age: once the open
// objects together hold half the queue's events or half its bytes, the largest is cut, as when they pass
// max_object_bytes (so objects hold at most half the queue even when max_object_bytes is larger). Without this
// call only max_object_bytes bounds them. Call it before the first Write; it is safe at any time.
func (s *Sink) SetQueueLimits(maxEvents int, maxBytes int64) {
	if maxEvents <= 0 {
		maxEvents = engine.DefaultQueueMaxEvents
	}
	if maxBytes <= 0 {
		maxBytes = engine.DefaultQueueMaxBytes
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.halfQueueEvents = max(maxEvents/2, 1)
	s.halfQueueBytes = max(maxBytes/2, 1)
}

// InvalidUTF8 is the number of events written with invalid UTF-8 replaced.
func (s *Sink) InvalidUTF8() int64 { return s.enc.InvalidUTF8.Load() }

// openObject returns an empty object for prefix, recycled when possible, and registers it as open. Called with
// s.mu held.
func (s *Sink) openObject(prefix string) *object {
	var o *object
	if n := len(s.idle); n > 0 {
		o, s.idle = s.idle[n-1], s.idle[:n-1]
		o.body.Reset()
	} else {
		o = &object{}
	}
	o.prefix = prefix
	o.ids.Reset()
	s.open[prefix] = o
	return o
}

// flushStage hands the staged lines to their object. Called with s.mu held.
func (s *Sink) flushStage() {
	if len(s.stage) > 0 && s.stageObj != nil {
		s.compress(s.stageObj, s.stage)
	}
	s.stage = s.stage[:0]
}

// seal cuts o: it stops taking events and its upload starts. Called with s.mu held.
func (s *Sink) seal(o *object) {
	if s.stageObj == o {
		s.flushStage()
		s.stageObj = nil
	}
	if s.cur == o {
		s.cur = nil
	}
	delete(s.open, o.prefix)
	s.heldBytes -= o.held
	s.heldEvents -= o.events
	s.finishBody(o)
	o.makeKey(s.codec.ext)
	if s.inflight == 0 {
		s.settled = make(chan struct{})
	}
	s.inflight++
	s.uploads.Add(1)
	go s.upload(o)
}

// sealAll cuts every open object. Called with s.mu held.
func (s *Sink) sealAll() {
	for _, o := range s.open {
		s.seal(o)
	}
}

// openOverBound says whether the open objects together hold more of the queue than they may, and whether the
// events (rather than the bytes) are what is over. Called with s.mu held.
func (s *Sink) openOverBound() (over, byEvents bool) {
	if len(s.open) == 0 {
		return false, false
	}
	if s.halfQueueEvents > 0 && s.heldEvents >= s.halfQueueEvents {
		return true, true
	}
	return s.heldBytes > s.cfg.MaxObjectBytes || s.halfQueueBytes > 0 && s.heldBytes >= s.halfQueueBytes, false
}

// largestOpen returns the open object holding the most events (byEvents) or queue bytes. Called with s.mu held,
// len(s.open) > 0.
func (s *Sink) largestOpen(byEvents bool) *object {
	var big *object
	for _, o := range s.open {
		if big == nil || byEvents && o.events > big.events || !byEvents && o.held > big.held {
			big = o
		}
	}
	return big
}

// leastRecentOpen returns the open object that took an event least recently: a backfill has moved past its
// prefix, while the objects still taking events stay open. Called with s.mu held, len(s.open) > 0.
func (s *Sink) leastRecentOpen() *object {
	var old *object
	for _, o := range s.open {
		if old == nil || o.lastUsed < old.lastUsed {
			old = o
		}
	}
	return old
}

// settledChan returns a channel closed once no sealed object is waiting to be settled. Called with s.mu held.
func (s *Sink) settledChan() <-chan struct{} {
	if s.inflight == 0 {
		c := make(chan struct{})
		close(c)
		return c
	}
	return s.settled
}

// ageLoop cuts objects max_object_age after their first event. New owns it; Close stops it.
func (s *Sink) ageLoop() {
	defer close(s.ageDone)
	t := time.NewTimer(s.cfg.MaxObjectAge)
	defer t.Stop()
	for {
		s.mu.Lock()
		next := s.sealExpired(time.Now())
		s.mu.Unlock()
		wait := s.cfg.MaxObjectAge
		if !next.IsZero() {
			wait = time.Until(next)
		}
		t.Reset(wait)
		select {
		case <-t.C:
		case <-s.kick:
		case <-s.stop:
			return
		}
	}
}

// sealExpired cuts the open objects due at now and returns when the next one is due (zero: none open). Called
// with s.mu held.
func (s *Sink) sealExpired(now time.Time) time.Time {
	var next time.Time
	for _, o := range s.open {
		due := o.opened.Add(s.cfg.MaxObjectAge)
		if !due.After(now) {
			s.seal(o)
			continue
		}
		if next.IsZero() || due.Before(next) {
			next = due
		}
	}
	return next
}
