package oktatest

import "time"

// rateWindow is a fixed-window request budget, the way Okta reports it: a limit per window, the remaining
// requests and the window's end in epoch seconds.
type rateWindow struct {
	size    time.Duration // a whole number of seconds, so that the window ends exactly at Reset
	limit   int
	end     time.Time
	count   int  // requests that arrived in this window, refused ones included
	refused bool // a 429 was answered in this window
	max     int  // the largest count of any window
}

// rateDecision is what one request learns from the window.
type rateDecision struct {
	allowed    bool
	overBudget bool // refused, and a 429 had already been answered in this window
	remaining  int
	reset      int64
}

func (w *rateWindow) take(now time.Time) rateDecision {
	if !now.Before(w.end) {
		w.end = now.Truncate(w.size).Add(w.size)
		w.count, w.refused = 0, false
	}
	w.count++
	w.max = max(w.max, w.count)
	d := rateDecision{reset: w.end.Unix()}
	if w.count > w.limit {
		d.overBudget = w.refused
		w.refused = true
		return d
	}
	d.allowed, d.remaining = true, w.limit-w.count
	return d
}
