package kubemeta

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// ErrReused is returned by a second call of Run.
var ErrReused = errors.New("kubemeta: Run called twice")

// maxWaits is the number of remembered waits past which expired ones are pruned: it bounds the memory of UIDs
// that never appear to those asked for within one MissRetry.
const maxWaits = 1024

// Stats are the watcher's counters since New.
type Stats struct {
	// Missing counts the Pod calls that answered false: the event went out without API metadata.
	Missing uint64
	// WatchErrors counts the list and watch failures (each one is retried after a backoff). A watch that the
	// server ends, or that fell out of its history (410), is routine and not counted.
	WatchErrors uint64
	// Lists counts the lists made: 1 after the first, one more for each relist.
	Lists uint64
	// Pods is the number of pods cached, deleted ones in their grace period included.
	Pods int
}

// Watcher keeps the metadata of this node's pods. Build it with New, run it with Run, read it with Pod.
type Watcher struct {
	cfg     Config
	log     zerolog.Logger
	api     *apiClient
	keep    map[string]struct{} // Config.Annotations
	started atomic.Bool
	synced  atomic.Bool
	listed  chan struct{} // closed when synced turns true

	mu    sync.Mutex
	pods  map[string]*entry  // by UID
	waits map[string]*waiter // UIDs asked for before the watch delivered them

	missing     atomic.Uint64
	watchErrors atomic.Uint64
	lists       atomic.Uint64
}

type entry struct {
	pod     Pod
	deleted time.Time // zero while the pod exists
}

// waiter is one bounded wait for a UID, shared by every Pod call for it until deadline; after deadline the UID
// is answered at once until deadline+MissRetry.
type waiter struct {
	ready    chan struct{} // closed when the pod arrives
	deadline time.Time
}

// New checks cfg, resolves the in-cluster defaults and reads the CA. It sends no request: Run does.
func New(cfg Config, log zerolog.Logger) (*Watcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	api, err := newAPIClient(cfg)
	if err != nil {
		return nil, err
	}
	keep := make(map[string]struct{}, len(cfg.Annotations))
	for _, key := range cfg.Annotations {
		keep[key] = struct{}{}
	}
	return &Watcher{
		cfg:   cfg,
		log:   log.With().Str("component", "kubemeta").Str("node", cfg.Node).Logger(),
		api:   api,
		keep:  keep,
		pods:  make(map[string]*entry),
		waits: make(map[string]*waiter),

		listed: make(chan struct{}),
	}, nil
}

// Run lists this node's pods, then watches them, until ctx ends, and returns nil then, after every goroutine
// it started has ended and its connections are closed. Failures are logged, counted and retried with backoff;
// a watch that fell out of the server's history (410 Gone) lists again. It is called once, by the owner of the
// Watcher, in a goroutine of its own; a second call returns ErrReused.
func (w *Watcher) Run(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return ErrReused
	}
	defer w.api.transport.CloseIdleConnections()
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // before wg.Wait: ends sweep
	wg.Go(func() { w.sweep(ctx) })

	w.log.Info().Str("host", w.cfg.Host).Msg("watching this node's pods")
	b := backoff{initial: w.cfg.RetryBackoff, max: w.cfg.RetryBackoffMax}
	rv, listRV := "", "0" // the first list from the API server's cache; after a 410 a consistent one
	for ctx.Err() == nil {
		if rv == "" {
			var err error
			if rv, err = w.list(ctx, listRV); err != nil {
				if ctx.Err() == nil {
					w.failed(err, "listing")
					b.wait(ctx)
				}
				continue
			}
			b.reset()
		}
		began := time.Now()
		next, got, err := w.api.watch(ctx, rv, w.apply)
		rv = next
		switch {
		case ctx.Err() != nil:
		case isGone(err):
			w.log.Info().Str("resource_version", rv).Msg("watch fell out of the server's history (410 Gone); listing again")
			rv, listRV = "", ""
		case err != nil:
			w.failed(err, "watching")
			b.wait(ctx)
		case !got && time.Since(began) < time.Second:
			// Ended at once with nothing: wait rather than hammer a server that closes every watch.
			w.log.Debug().Msg("watch ended at once; watching again after a backoff")
			b.wait(ctx)
		default:
			b.reset() // an ordinary end (the watch's timeout): watch again from rv
		}
	}
	return nil
}

// list lists the pods and makes the cache match: pods not in the list are deleted (kept for the grace period).
func (w *Watcher) list(ctx context.Context, rv string) (string, error) {
	if n := w.lists.Add(1); n > 1 {
		w.log.Info().Uint64("lists", n).Msg("listing this node's pods again")
	}
	seen := make(map[string]struct{}, 64)
	listRV, err := w.api.list(ctx, rv, func(obj *podObject) {
		w.store(podOf(obj, w.keep), false)
		seen[obj.Metadata.UID] = struct{}{}
	})
	if err != nil {
		return "", err
	}
	now := time.Now()
	w.mu.Lock()
	for uid, e := range w.pods {
		if _, ok := seen[uid]; !ok && e.deleted.IsZero() {
			e.deleted = now
		}
	}
	n := len(w.pods)
	w.mu.Unlock()
	if w.synced.CompareAndSwap(false, true) {
		close(w.listed)
	}
	w.log.Debug().Int("pods", n).Str("resource_version", listRV).Msg("listed this node's pods")
	return listRV, nil
}

// apply applies one watch event.
func (w *Watcher) apply(typ string, obj *podObject) {
	w.store(podOf(obj, w.keep), typ == "DELETED")
}

// failed logs and counts a failed list or watch.
func (w *Watcher) failed(err error, doing string) {
	w.watchErrors.Add(1)
	switch statusCode(err) {
	case http.StatusUnauthorized:
		w.log.Error().Err(err).Str("token_file", w.cfg.TokenFile).Msg("the API server refused the token (401): check the service account token; retrying with backoff")
	case http.StatusForbidden:
		w.log.Error().Err(err).Msg("the API server forbade listing pods (403): grant the service account get, list and watch on pods; retrying with backoff")
	default:
		w.log.Warn().Err(err).Str("doing", doing).Msg("listing or watching pods failed; retrying with backoff")
	}
}

// Synced reports whether the first list has been cached.
func (w *Watcher) Synced() bool { return w.synced.Load() }

// Listed is closed once the first list has been cached, so that a caller waiting for it stops waiting then.
func (w *Watcher) Listed() <-chan struct{} { return w.listed }

// Stats returns the counters.
func (w *Watcher) Stats() Stats {
	w.mu.Lock()
	n := len(w.pods)
	w.mu.Unlock()
	return Stats{Missing: w.missing.Load(), WatchErrors: w.watchErrors.Load(), Lists: w.lists.Load(), Pods: n}
}

// Pod returns the pod with the UID. A cached pod is returned at once. An unknown one is waited for until it
// arrives, ctx ends or Config.WaitTimeout passes, whichever is first; a UID already waited for in vain within
// the last MissRetry is not waited for again. A false answer is counted in Stats.Missing. Safe for concurrent
// use.
func (w *Watcher) Pod(ctx context.Context, uid string) (Pod, bool) {
	now := time.Now()
	w.mu.Lock()
	if p, ok := w.cached(uid, now); ok {
		w.mu.Unlock()
		return p, true
	}
	wt := w.waits[uid]
	if wt == nil || now.Sub(wt.deadline) >= w.cfg.MissRetry {
		if len(w.waits) >= maxWaits {
			w.pruneWaits(now)
		}
		wt = &waiter{ready: make(chan struct{}), deadline: now.Add(w.cfg.WaitTimeout)}
		w.waits[uid] = wt
	}
	w.mu.Unlock()

	if remaining := wt.deadline.Sub(now); remaining > 0 {
		timer := time.NewTimer(remaining)
		defer timer.Stop()
		select {
		case <-wt.ready:
			w.mu.Lock()
			p, ok := w.cached(uid, time.Now())
			w.mu.Unlock()
			if ok {
				return p, true
			}
		case <-timer.C:
		case <-ctx.Done():
		}
	}
	w.missing.Add(1)
	return Pod{}, false
}

// cached returns the pod of uid unless it is unknown or deleted longer than DeleteGrace ago. Called under mu.
func (w *Watcher) cached(uid string, now time.Time) (Pod, bool) {
	e := w.pods[uid]
	if e == nil {
		return Pod{}, false
	}
	if !e.deleted.IsZero() && now.Sub(e.deleted) >= w.cfg.DeleteGrace {
		delete(w.pods, uid)
		return Pod{}, false
	}
	return e.pod, true
}

// pruneWaits forgets the waits whose no-wait period is over. Called under mu.
func (w *Watcher) pruneWaits(now time.Time) {
	for uid, wt := range w.waits {
		if now.Sub(wt.deadline) >= w.cfg.MissRetry {
			delete(w.waits, uid)
		}
	}
}

// sweep drops deleted pods past their grace period until ctx ends.
func (w *Watcher) sweep(ctx context.Context) {
	ticker := time.NewTicker(max(w.cfg.DeleteGrace/2, 10*time.Millisecond))
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			w.mu.Lock()
			for uid, e := range w.pods {
				if !e.deleted.IsZero() && now.Sub(e.deleted) >= w.cfg.DeleteGrace {
					delete(w.pods, uid)
				}
			}
			w.mu.Unlock()
		}
	}
}

// store caches a pod, or marks it deleted, and wakes the Pod calls waiting for it.
func (w *Watcher) store(p Pod, deleted bool) {
	if p.UID == "" {
		return
	}
	e := &entry{pod: p}
	if deleted {
		e.deleted = time.Now()
	}
	w.mu.Lock()
	if old := w.pods[p.UID]; deleted && old != nil && !old.deleted.IsZero() {
		e.deleted = old.deleted // a repeated deletion does not extend the grace period
	}
	w.pods[p.UID] = e
	if wt := w.waits[p.UID]; wt != nil {
		close(wt.ready)
		delete(w.waits, p.UID)
	}
	w.mu.Unlock()
	if deleted {
		w.log.Debug().Str("namespace", p.Namespace).Str("pod", p.Name).Str("uid", p.UID).Msg("pod deleted; kept for the grace period")
	}
}

// backoff is a capped exponential delay with jitter between retries.
type backoff struct {
	initial, max time.Duration
	next         time.Duration
}

func (b *backoff) reset() { b.next = 0 }

// wait sleeps the next delay (or until ctx ends) and doubles it.
func (b *backoff) wait(ctx context.Context) {
	if b.next == 0 {
		b.next = b.initial
	}
	d := b.next + time.Duration(rand.Int64N(int64(b.next)/4+1)) // up to 25% more, so nodes spread out
	b.next = min(2*b.next, b.max)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
