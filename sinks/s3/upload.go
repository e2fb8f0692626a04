package s3out

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/flickerlog/flicker/internal/s3client"
)

const (
	// maxKeptBody caps the object body buffer kept for reuse, so a burst of large objects does not pin memory.
	maxKeptBody = 16 << 20
	// maxKeptSpans caps the span list kept for reuse.
	maxKeptSpans = 4096
)

// Stats are the sink's counters, for metrics and tests. They only grow.
type Stats struct {
	Objects     uint64 // objects uploaded
	Failed      uint64 // uploads that failed (their events were marked for retry)
	Events      uint64 // events in the uploaded objects
	RawBytes    uint64 // NDJSON bytes of the uploaded objects, before compression
	StoredBytes uint64 // bytes uploaded
}

type counters struct {
	objects, failed, events, rawBytes, storedBytes atomic.Uint64
}

// Stats returns the current counters. Safe to call at any time from any goroutine.
func (s *Sink) Stats() Stats {
	c := &s.stats
	return Stats{Objects: c.objects.Load(), Failed: c.failed.Load(), Events: c.events.Load(),
		RawBytes: c.rawBytes.Load(), StoredBytes: c.storedBytes.Load()}
}

// upload puts a sealed object, settles its events and recycles it. seal starts it; Close waits for it.
func (s *Sink) upload(o *object) {
	defer s.uploads.Done()
	start := time.Now()
	err := o.zwErr
	if err == nil {
		err = s.put(o)
	}
	if err != nil {
		s.stats.failed.Add(1)
		streak := s.failures.Add(1)
		if ok, suppressed := s.warn.allow(); ok {
			s.log.Warn().Err(err).Str("key", o.key).Int("events", o.events).Int64("failed_in_a_row", streak).
				Int64("suppressed", suppressed).Msg("object upload failed; its events will be retried")
		}
	} else {
		s.stats.objects.Add(1)
		s.stats.events.Add(uint64(o.events))
		s.stats.rawBytes.Add(uint64(o.raw))
		s.stats.storedBytes.Add(uint64(o.body.Len()))
		if failed := s.failures.Swap(0); failed > 0 {
			s.log.Info().Int64("failed_uploads", failed).Msg("object uploads resumed")
		}
		s.log.Debug().Str("key", o.key).Int("events", o.events).Int64("raw_bytes", o.raw).
			Int("stored_bytes", o.body.Len()).Dur("duration", time.Since(start)).Msg("object uploaded")
	}
	o.settle(err)

	s.mu.Lock()
	s.recycle(o)
	s.inflight--
	if s.inflight == 0 {
		close(s.settled)
	}
	s.mu.Unlock()
}

// put uploads o's body in one PUT, bounded by the upload timeout, waiting for a free slot first.
func (s *Sink) put(o *object) error {
	select {
	case s.slots <- struct{}{}:
	case <-s.uploadCtx.Done():
		return fmt.Errorf("put s3://%s/%s: sink closed before the upload started", s.cfg.Bucket, o.key)
	}
	defer func() { <-s.slots }()
	ctx, cancel := context.WithTimeout(s.uploadCtx, s.cfg.UploadTimeout)
	defer cancel()
	body := o.body.Bytes()
	_, err := s.client.PutObject(ctx, s.cfg.Bucket, o.key, bytes.NewReader(body), int64(len(body)), s.putOpts)
	return s3client.Explain(err, s3client.OpPutObject, s.cfg.Bucket, o.key)
}

// recycle keeps o for a later object, unless enough are kept. Called with s.mu held, after o was settled.
func (s *Sink) recycle(o *object) {
	clear(o.spans)
	o.spans = o.spans[:0]
	o.prefix, o.key, o.zwErr = "", "", nil
	o.raw, o.held, o.events = 0, 0, 0
	if len(s.idle) >= maxIdleObjects {
		return
	}
	if cap(o.spans) > maxKeptSpans {
		o.spans = nil
	}
	if o.body.Cap() > maxKeptBody {
		o.body = bytes.Buffer{}
	}
	s.idle = append(s.idle, o)
}

// rateLimit lets one warning through every few seconds and counts the ones it held back.
type rateLimit struct {
	last       atomic.Int64 // unix nanoseconds of the last warning let through
	suppressed atomic.Int64
}

const warnInterval = 5 * time.Second

func (r *rateLimit) allow() (ok bool, suppressed int64) {
	now := time.Now().UnixNano()
	last := r.last.Load()
	if now-last < int64(warnInterval) || !r.last.CompareAndSwap(last, now) {
		r.suppressed.Add(1)
		return false, 0
	}
	return true, r.suppressed.Swap(0)
}
