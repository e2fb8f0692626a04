package kubemeta

// WaitingFor reports whether a Pod call is waiting for uid now, so a test can change the server only once the
// call waits.
func (w *Watcher) WaitingFor(uid string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	wt := w.waits[uid]
	if wt == nil {
		return false
	}
	select {
	case <-wt.ready:
		return false
	default:
		return true
	}
}

// Deleted reports whether the cache holds uid as deleted (in its grace period).
func (w *Watcher) Deleted(uid string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.pods[uid]
	return e != nil && !e.deleted.IsZero()
}
