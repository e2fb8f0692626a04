package kubemeta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
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
	// WatchErrors counts the list and watch failures (each one is retried after a backoff).
	WatchErrors uint64
	// Pods is the number of pods cached, deleted ones in their grace period included.
	Pods int
}

// Watcher keeps the metadata of this node's pods. Build it with New, run it with Run, read it with Pod.
type Watcher struct {
	cfg        Config
	log        zerolog.Logger
	informer   cache.SharedIndexInformer
	httpClient *http.Client
	started    atomic.Bool

	mu    sync.Mutex
	pods  map[string]*entry  // by UID
	waits map[string]*waiter // UIDs asked for before the watch delivered them

	missing     atomic.Uint64
	watchErrors atomic.Uint64
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

// New checks cfg, resolves the in-cluster defaults and builds the client and the informer. It sends no request:
// Run does.
func New(cfg Config, log zerolog.Logger) (*Watcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	w := &Watcher{
		cfg:   cfg,
		log:   log.With().Str("component", "kubemeta").Str("node", cfg.Node).Logger(),
		pods:  make(map[string]*entry),
		waits: make(map[string]*waiter),
	}

	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("kubemeta scheme: %w", err)
	}
	restCfg := &rest.Config{
		Host:            cfg.Host,
		APIPath:         "/api",
		TLSClientConfig: rest.TLSClientConfig{CAFile: cfg.CAFile},
		UserAgent:       "flicker",
		ContentConfig: rest.ContentConfig{
			GroupVersion:         &corev1.SchemeGroupVersion,
			ContentType:          runtime.ContentTypeJSON,
			NegotiatedSerializer: serializer.NewCodecFactory(scheme).WithoutConversion(),
		},
		// A Proxy of our own keeps client-go from sharing the transport through its global cache, so Run can
		// close the connections it opened. It is client-go's default proxy rule.
		Proxy: utilnet.NewProxierWithNoProxyCIDR(http.ProxyFromEnvironment),
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
			return &tokenTransport{file: cfg.TokenFile, base: rt}
		},
	}
	w.httpClient, err = rest.HTTPClientFor(restCfg)
	if err != nil {
		return nil, fmt.Errorf("kubemeta client for %s: %w", cfg.Host, err)
	}
	client, err := rest.RESTClientForConfigAndClient(restCfg, w.httpClient)
	if err != nil {
		return nil, fmt.Errorf("kubemeta client for %s: %w", cfg.Host, err)
	}

	keep := make(map[string]struct{}, len(cfg.Annotations))
	for _, key := range cfg.Annotations {
		keep[key] = struct{}{}
	}
	selector := fields.OneTermEqualSelector("spec.nodeName", cfg.Node)
	lw := &listWatch{
		ListWatch: cache.NewListWatchFromClient(client, "pods", corev1.NamespaceAll, selector),
		client:    client, selector: selector.String(), keep: keep, w: w,
	}
	w.informer = cache.NewSharedIndexInformerWithOptions(lw, &corev1.Pod{}, cache.SharedIndexInformerOptions{})
	if err := w.informer.SetTransform(func(obj any) (any, error) { return transform(obj, keep), nil }); err != nil {
		return nil, fmt.Errorf("kubemeta informer: %w", err)
	}
	if err := w.informer.SetWatchErrorHandlerWithContext(w.watchError); err != nil {
		return nil, fmt.Errorf("kubemeta informer: %w", err)
	}
	if _, err := w.informer.AddEventHandler(handler{w}); err != nil {
		return nil, fmt.Errorf("kubemeta informer: %w", err)
	}
	return w, nil
}

// Run lists and watches this node's pods until ctx ends, retrying failures with backoff, and returns nil then,
// after every goroutine it started has ended and its connections are closed. It is called once, by the owner
// of the Watcher, in a goroutine of its own; a second call returns ErrReused.
func (w *Watcher) Run(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return ErrReused
	}
	ctx = klog.NewContext(ctx, newLogr(w.log))
	var wg sync.WaitGroup
	wg.Go(func() { w.sweep(ctx) })
	w.log.Info().Str("host", w.cfg.Host).Msg("watching this node's pods")
	w.informer.RunWithContext(ctx)
	wg.Wait()
	utilnet.CloseIdleConnectionsFor(w.httpClient.Transport)
	return nil
}

// Synced reports whether the first list has been cached.
func (w *Watcher) Synced() bool { return w.informer.HasSynced() }

// Stats returns the counters.
func (w *Watcher) Stats() Stats {
	w.mu.Lock()
	n := len(w.pods)
	w.mu.Unlock()
	return Stats{Missing: w.missing.Load(), WatchErrors: w.watchErrors.Load(), Pods: n}
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
func (w *Watcher) store(obj any, deleted bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*cachedPod)
	if !ok || pod.UID == "" {
		return
	}
	p := podOf(pod)
	e := &entry{pod: p}
	if deleted {
		e.deleted = time.Now()
	}
	w.mu.Lock()
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

// watchError logs a failed list or watch; the reflector retries it after a backoff.
func (w *Watcher) watchError(_ context.Context, _ *cache.Reflector, err error) {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		w.log.Debug().Err(err).Msg("watch closed by the server; watching again")
		return
	case apierrors.IsResourceExpired(err), apierrors.IsGone(err):
		w.log.Info().Err(err).Msg("watch fell out of the server's history (410 Gone); listing again")
		return
	}
	w.watchErrors.Add(1)
	switch {
	case apierrors.IsUnauthorized(err):
		w.log.Error().Err(err).Str("token_file", w.cfg.TokenFile).Msg("the API server refused the token (401): check the service account token; retrying with backoff")
	case apierrors.IsForbidden(err):
		w.log.Error().Err(err).Msg("the API server forbade listing pods (403): grant the service account get, list and watch on pods; retrying with backoff")
	default:
		w.log.Warn().Err(err).Msg("listing or watching pods failed; retrying with backoff")
	}
}

// handler receives the informer's notifications, on the informer's goroutine.
type handler struct{ w *Watcher }

func (h handler) OnAdd(obj any, _ bool) { h.w.store(obj, false) }
func (h handler) OnUpdate(_, obj any)   { h.w.store(obj, false) }
func (h handler) OnDelete(obj any)      { h.w.store(obj, true) }
