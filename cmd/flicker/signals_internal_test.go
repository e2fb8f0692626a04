package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/internal/syncbuf"
)

// TestSignalsStopThenExitAtOnce sends signals to this test process: SIGHUP is logged and stops nothing; the first
// SIGTERM cancels the context with its cause; then a second SIGTERM, or the budget passing, ends the process at
// once. Not parallel: the signals reach the whole test binary.
func TestSignalsStopThenExitAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		budget time.Duration
		second bool
		logged string
	}{
		{name: "budget spent", budget: 50 * time.Millisecond, logged: "shutdown budget spent before the stop finished"},
		{name: "second signal", budget: time.Hour, second: true, logged: "second signal: exiting now"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncbuf.Buffer
			exited := make(chan int, 2)
			ctx, stop := watchSignals(tc.budget, zerolog.New(&logs), func(code int) { exited <- code })
			defer stop()
			send := func(sig syscall.Signal) {
				if err := syscall.Kill(os.Getpid(), sig); err != nil {
					t.Fatal(err)
				}
			}
			within := func(what string, cond func() bool) {
				t.Helper()
				for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("no %s within 10s; logs:\n%s", what, logs.String())
					}
				}
			}

			send(syscall.SIGHUP)
			within("SIGHUP log line", func() bool { return strings.Contains(logs.String(), "SIGHUP ignored") })
			if ctx.Err() != nil || len(exited) > 0 {
				t.Fatalf("SIGHUP stopped the run (ctx %v, %d exits)", ctx.Err(), len(exited))
			}

			send(syscall.SIGTERM)
			within("stop", func() bool { return ctx.Err() != nil })
			var cause *stopSignal
			if !errors.As(context.Cause(ctx), &cause) || cause.sig != syscall.SIGTERM {
				t.Fatalf("cause %v, want the SIGTERM", context.Cause(ctx))
			}
			if tc.second {
				if len(exited) > 0 {
					t.Fatal("exited on the first signal")
				}
				send(syscall.SIGTERM)
			}
			select {
			case code := <-exited:
				if code != exitRuntime || !strings.Contains(logs.String(), tc.logged) {
					t.Fatalf("exit %d, want %d with %q logged; logs:\n%s", code, exitRuntime, tc.logged, logs.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no exit; logs:\n%s", logs.String())
			}
		})
	}
}
