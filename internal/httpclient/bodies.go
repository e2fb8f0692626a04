package httpclient

import (
	"bytes"
	"context"
	"sync"
	"time"
)

// TrackedBody is a request body that reports when the transport has closed it. A RoundTripper may close (and
// read) a body after it returned (see http.RoundTripper: callers that reuse a body must wait for its Close), so
// its buffer is not reused before then.
type TrackedBody struct {
	bytes.Reader
	once sync.Once
	done chan struct{}
}

// Close implements io.Closer; the transport may call it more than once.
func (t *TrackedBody) Close() error {
	t.once.Do(func() { close(t.done) })
	return nil
}

// Bodies are the request bodies handed to the transport and not known closed yet.
type Bodies struct {
	mu   sync.Mutex // GetBody may run on a transport goroutine
	open []*TrackedBody
}

// Add returns a body reading p, tracked until the transport closes it.
func (bs *Bodies) Add(p []byte) *TrackedBody {
	t := &TrackedBody{done: make(chan struct{})}
	t.Reset(p)
	bs.mu.Lock()
	bs.open = append(bs.open, t)
	bs.mu.Unlock()
	return t
}

// Wait waits up to d, or until ctx ends, for every body to be closed. Either way it forgets them: on false the
// caller must stop reusing the buffers they read.
func (bs *Bodies) Wait(ctx context.Context, d time.Duration) bool {
	bs.mu.Lock()
	open := bs.open
	bs.open = nil
	bs.mu.Unlock()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for _, t := range open {
		select {
		case <-t.done:
			continue
		default:
		}
		if timer == nil {
			timer = time.NewTimer(d)
		}
		select {
		case <-t.done:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
	return true
}
