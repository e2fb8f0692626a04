// Package loadgen sends logs to a listening source over loopback, the load side of the network sources'
// benchmarks: N concurrent senders POST NDJSON bodies to an HTTP endpoint (PostHTTP: waiting for each answer,
// retrying after Retry-After on 429 and 503) or write RFC 5424 frames on one TCP connection each (SendTCP). A
// run stops after a byte budget or a duration and reports what was accepted and the CPU time this process used
// meanwhile: the generator shares the machine's cores with what it measures, and a benchmark has to say how much
// it took.
//
// The payload (NDJSON, Syslog) is generated once, before the run, from a line source: cmd/flickerbench passes
// the plain log's generator, so these events are the lines the file workloads read.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Options says how many senders a run has and when it stops.
type Options struct {
	Senders int // concurrent senders: HTTP clients waiting for their answer, or TCP connections; at least 1
	// Bytes stops the run once the senders have taken this many payload bytes (each sender finishes the chunk it
	// holds, so a run sends up to one chunk more); 0 for no budget.
	Bytes int64
	// Duration stops the run once it has lasted this long (requests in flight finish); 0 for no limit. A run
	// needs Bytes or Duration.
	Duration time.Duration
}

func (o Options) check() error {
	if o.Senders < 1 {
		return fmt.Errorf("senders: %d, want at least 1", o.Senders)
	}
	if o.Bytes <= 0 && o.Duration <= 0 {
		return errors.New("neither a byte budget nor a duration: the run would not stop")
	}
	return nil
}

// Result is what a run sent.
type Result struct {
	Events   int64         // events accepted: in bodies answered 200 (HTTP), or written (TCP)
	Bytes    int64         // payload bytes of those events (request bodies or frames)
	Requests int64         // HTTP requests answered 200, or TCP writes
	Retries  int64         // HTTP answers 429 or 503 whose body was sent again
	Elapsed  time.Duration // from the first send to the last answer (or write)
	// CPU is the user and system time of this whole process during the run (getrusage RUSAGE_SELF): the
	// senders, and whatever else the process did meanwhile.
	CPU time.Duration
}

// counters accumulates a run's Result across senders.
type counters struct {
	events, bytes, requests, retries atomic.Int64
}

func (c *counters) done(events, bytes int64) {
	c.events.Add(events)
	c.bytes.Add(bytes)
	c.requests.Add(1)
}

// run starts o.Senders goroutines that call send with each chunk they take, until the budget or the duration
// is used up, ctx ends or a send fails; the first error cancels the others and is returned.
func run(ctx context.Context, p Payload, o Options, sender func(ctx context.Context, c *counters, take func() ([]byte, int64, bool)) error) (Result, error) {
	if err := o.check(); err != nil {
		return Result{}, err
	}
	if len(p.Chunks) == 0 {
		return Result{}, errors.New("empty payload")
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	start := time.Now()
	take := func() ([]byte, int64, bool) {
		if ctx.Err() != nil || (o.Duration > 0 && time.Since(start) >= o.Duration) {
			return nil, 0, false
		}
		chunk, events, before := p.at(next.Add(1) - 1)
		if o.Bytes > 0 && before >= o.Bytes {
			return nil, 0, false
		}
		return chunk, events, true
	}
	var c counters
	cpu0, err := processCPU()
	if err != nil {
		return Result{}, err
	}
	var wg sync.WaitGroup
	for range o.Senders {
		wg.Go(func() {
			if err := sender(ctx, &c, take); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	res := Result{Events: c.events.Load(), Bytes: c.bytes.Load(), Requests: c.requests.Load(),
		Retries: c.retries.Load(), Elapsed: time.Since(start)}
	cpu1, err := processCPU()
	if err != nil {
		return res, err
	}
	res.CPU = cpu1 - cpu0
	if err := context.Cause(ctx); err != nil {
		return res, err
	}
	return res, nil
}

// processCPU is the user and system time this process has used so far.
func processCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
