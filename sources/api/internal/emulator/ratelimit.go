package emulator

import "time"

// rateWindow is a fixed-window request budget: a limit per window aligned to whole seconds.
type rateWindow struct {
	size    time.Duration // a whole number of seconds, so that the window ends exactly at its Reset
	limit   int           // 0: unlimited
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
	end        time.Time
}

func (w *rateWindow) take(now time.Time) rateDecision {
	if !now.Before(w.end) {
		w.end = now.Truncate(w.size).Add(w.size)
		w.count, w.refused = 0, false
	}
	w.count++
	w.max = max(w.max, w.count)
	d := rateDecision{end: w.end}
	if w.limit > 0 && w.count > w.limit {
		d.overBudget = w.refused
		w.refused = true
		return d
	}
	d.allowed = true
	if w.limit > 0 {
		d.remaining = w.limit - w.count
	}
	return d
}
