package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// What each signal does to a running flicker (README "Signals"):
//
//   - SIGTERM, SIGINT: stop within --shutdown-timeout (shutdown.go); a second one, or the budget running out,
//     exits at once.
//   - SIGHUP: logged and otherwise ignored. Go's default would exit 129 with no drain, no commit, no final
//     snapshot and the lease still held; reloading the configuration is not supported yet.
//   - SIGPIPE: ignored, so that a write to a stdout whose reader is gone fails with EPIPE and the stdout output
//     reports it, instead of the runtime ending the process (exit 141) with nothing drained or committed.
//   - SIGQUIT: Go's default, kept for debugging a stuck process: a goroutine dump on stderr and exit 2 at once,
//     like a crash (the registry is consistent; what was not committed is re-sent).
//   - SIGUSR1, SIGUSR2: Go's default: caught and ignored.

// stopSignal is the cause of the run context's cancellation: the first SIGINT or SIGTERM, and when it came. The
// shutdown budget counts from then.
type stopSignal struct {
	sig os.Signal
	at  time.Time
}

func (s *stopSignal) Error() string { return "stopped by " + s.sig.String() }

// signalContext returns a context cancelled, with a *stopSignal cause, on the first SIGINT or SIGTERM. From then
// on a second one, or budget passing without the process having exited, exits at once: the registry is
// consistent at any moment, so the only cost is re-sending what was not committed. SIGHUP is logged while the
// process runs. SIGPIPE stays ignored for the rest of the process: even the last error line must not turn into
// a signal death.
func signalContext(budget time.Duration, log zerolog.Logger) (context.Context, func()) {
	return watchSignals(budget, log, os.Exit)
}

// watchSignals is signalContext with the function that ends the process.
func watchSignals(budget time.Duration, log zerolog.Logger, exit func(code int)) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	signal.Ignore(syscall.SIGPIPE)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		var watchdog *time.Timer
		var expired <-chan time.Time // nil until the first stop signal
		defer func() {
			if watchdog != nil {
				watchdog.Stop()
			}
		}()
		for {
			select {
			case <-hup:
				log.Warn().Str("signal", "hangup").Msg("SIGHUP ignored: reloading the configuration is not supported " +
					"yet; still running with the one loaded at start (restart flicker to apply changes)")
			case s := <-sigs:
				if watchdog == nil {
					at := time.Now()
					watchdog = time.NewTimer(budget)
					expired = watchdog.C
					cancel(&stopSignal{sig: s, at: at})
					log.Info().Str("signal", s.String()).Dur("shutdown_timeout", budget).
						Msg("stopping: draining and committing (a second signal exits at once)")
					continue
				}
				log.Warn().Str("signal", s.String()).Msg("second signal: exiting now; unacknowledged events will be re-sent")
				exit(exitRuntime)
			case <-expired:
				log.Error().Dur("shutdown_timeout", budget).
					Msg("shutdown budget spent before the stop finished: exiting now; unacknowledged events will be re-sent")
				exit(exitRuntime)
			case <-done:
				return
			}
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		signal.Stop(hup)
		close(done)
		<-stopped
		cancel(nil)
	}
}
