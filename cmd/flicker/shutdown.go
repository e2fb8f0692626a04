package main

import (
	"context"
	"errors"
	"time"
)

// The one shutdown budget (DESIGN.md section 1), --shutdown-timeout counted from the first SIGINT or SIGTERM, is
// spent in this order:
//
//   - drain: the pipeline delivers what is queued until closeBudget before the end (engine DrainTimeout), then
//     cancels the writes still running and closes the outputs;
//   - close: positions are committed and, in S3 mode, the final snapshot is uploaded, with whatever the drain
//     left (all of it when the outputs kept up) but the release reserve;
//   - the lease is released with the release reserve;
//   - the exit margin closes the registry and returns.
//
// Each step is bounded by its deadline. If the process still runs when the budget is spent (a step that ignores
// its deadline), the signal watchdog exits at once (signals.go): the pod never outlives its grace period.

// closeContext bounds what follows the pipeline: until the budget's end less the exit margin when a signal
// stopped the run, or closeBudget from now when the run ended for another reason (--once, a failed source,
// fenced).
func (c *RunCmd) closeContext(runCtx context.Context) (context.Context, context.CancelFunc) {
	var stop *stopSignal
	if errors.As(context.Cause(runCtx), &stop) {
		end := stop.at.Add(c.ShutdownTimeout - exitMargin(c.ShutdownTimeout))
		return context.WithDeadline(context.Background(), end)
	}
	return context.WithTimeout(context.Background(), c.closeBudget())
}

// exitMargin is the end of the budget kept for closing the registry and exiting, after the lease release: a
// fixed amount of work, so not a share of the budget (150 ms of a 3 s budget proved too little on a loaded
// machine, and the watchdog then exited before the exit error was logged).
func exitMargin(budget time.Duration) time.Duration {
	return min(budget/4, 500*time.Millisecond)
}

// releaseReserve is the part of the time left before deadline that the final snapshot leaves to the lease
// release, so the next instance can start at once instead of waiting a TTL.
func releaseReserve(deadline time.Time) time.Duration {
	return min(time.Until(deadline)/4, time.Second)
}
