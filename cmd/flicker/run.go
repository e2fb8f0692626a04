package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/config"
	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/telemetry"
	"github.com/flickerlog/flicker/processors"
	"github.com/flickerlog/flicker/sources/api"
	"github.com/flickerlog/flicker/sources/file"
	httpsrc "github.com/flickerlog/flicker/sources/http"
	"github.com/flickerlog/flicker/sources/syslog"
	"github.com/flickerlog/flicker/store"
)

// defaultTrackPath is where --track alone keeps the registry.
const defaultTrackPath = "./data/registry.db"

// RunCmd ships logs: the default command.
type RunCmd struct {
	Config          string        `short:"c" name:"config" xor:"config" placeholder:"FILE" help:"Configuration file (YAML): inputs, outputs, batch and queue settings."`
	ConfigInline    string        `name:"config-inline" env:"FLICKER_CONFIG" xor:"config" placeholder:"YAML" help:"${config_inline_help}"`
	Track           bool          `name:"track" help:"Persist read positions so a restart resumes where it stopped. Alone it keeps the registry in ${default_track_path}."`
	RegistryFile    string        `name:"registry-file" placeholder:"PATH" help:"Registry location; implies --track. A plain path is a local bbolt file, fsync'd; s3://bucket/key replicates it to S3 (stateless mode)."`
	StateDir        string        `name:"state-dir" placeholder:"DIR" help:"Ephemeral directory for the live registry in S3 mode (default: the TMPDIR flicker folder, which must be this user's alone). Created 0700; a registry file in it that another user owns is discarded."`
	ShutdownTimeout time.Duration `name:"shutdown-timeout" default:"25s" help:"Budget on SIGTERM to stop reading, deliver what is queued, commit positions, upload the final snapshot, release the lease and exit; a second signal exits at once."`
	Once            bool          `name:"once" help:"Ship what the inputs hold at start, wait until every event is acknowledged and committed, then exit 0."`
	CommitInterval  time.Duration `name:"commit-interval" default:"250ms" help:"How often acknowledged positions are committed to the registry, in one transaction."`
	HTTPAddr        string        `name:"http-addr" placeholder:"HOST:PORT" help:"Serve /metrics (Prometheus), /healthz and /readyz on this address, e.g. :9090. Off when empty."`
	StallTimeout    time.Duration `name:"stall-timeout" default:"5m" help:"With --http-addr, /healthz answers 503 when events are queued and nothing moves for this long plus the largest retry.max of the outputs: nothing published, written, failed, retried or acknowledged (a goroutine stuck, not an output that is down: each failed attempt counts as progress, and a sink holding a batch owns it). 0 turns the check off."`
	MemoryLimit     string        `name:"memory-limit" default:"auto" placeholder:"SIZE" help:"Soft limit for the Go heap: auto (queue.max_bytes plus ${memory_headroom_mib} MiB, unless GOMEMLIMIT is set), off, or a size such as 64MiB."`

	statelessFlags `embed:""`
}

// registryMode is where read positions live for this run.
type registryMode struct {
	path string // local bbolt file; "" with memory-only positions
	s3   string // s3://bucket/key: S3 mode
}

func (c *RunCmd) registryMode() (registryMode, error) {
	switch {
	case isS3(c.RegistryFile):
		return registryMode{s3: c.RegistryFile}, nil
	case c.RegistryFile != "":
		return registryMode{path: c.RegistryFile}, nil
	case c.Track:
		return registryMode{path: defaultTrackPath}, nil
	}
	return registryMode{}, nil
}

// Run loads the configuration, wires sources, outputs and registry, and ships until a signal or, with --once,
// until everything is delivered.
func (c *RunCmd) Run(e *env) error {
	log := newLogger(e.stderr, e.cli.LogLevel, e.cli.LogFormat)
	cfg, err := loadConfig(c.Config, c.ConfigInline)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	queueBytes := int64(cfg.Queue.MaxBytes)
	if err := c.applyMemoryLimit(queueBytes+httpsrc.MemoryBeyondQueue(cfg.HTTPSources, queueBytes)+
		syslog.MemoryBeyondQueue(cfg.SyslogSources), log); err != nil {
		return err
	}
	mode, err := c.registryMode()
	if err != nil {
		return err
	}
	if c.ShutdownTimeout <= 0 {
		return usageError("--shutdown-timeout must be positive, got %s", c.ShutdownTimeout)
	}
	if c.CommitInterval <= 0 {
		return usageError("--commit-interval must be positive, got %s", c.CommitInterval)
	}
	if c.StallTimeout < 0 {
		return usageError("--stall-timeout must be positive or 0 (off), got %s", c.StallTimeout)
	}
	stall := time.Duration(0)
	if c.StallTimeout > 0 {
		stall = stallBound(c.StallTimeout, cfg)
	}

	ctx, stop := signalContext(c.ShutdownTimeout, log)
	defer stop()

	var live liveParts
	c.requests = &live.s3Requests
	var srv *telemetry.Server
	if c.HTTPAddr != "" {
		if srv, err = startTelemetry(ctx, c.HTTPAddr, stall, &live, log); err != nil {
			return err
		}
		defer srv.Shutdown(context.Background())
	}

	reg, db, session, err := c.openRegistry(ctx, mode, cfg.HasPositions(), log)
	if err != nil {
		if ctx.Err() != nil {
			log.Info().Err(err).Msg("stopped by a signal before shipping began")
			return nil
		}
		return err
	}
	live.db.Store(db)
	live.session.Store(session)

	shipCtx, cancelShip := context.WithCancelCause(ctx)
	defer cancelShip(nil)
	fenced := make(chan struct{}) // closed when fenced: stop at once, deliver nothing more
	if session != nil {
		session.start(func(err error) {
			close(fenced)
			cancelShip(err)
		})
	}
	runErr := c.ship(shipCtx, cfg, reg, &live, srv, fenced, log)

	switch {
	case session != nil:
		closeCtx, cancel := c.closeContext(ctx)
		defer cancel()
		if err := session.close(closeCtx); err != nil {
			runErr = errors.Join(err, runErr)
		}
	case db != nil:
		if err := db.Close(); err != nil && runErr == nil {
			runErr = fmt.Errorf("close registry: %w", err)
		}
	}
	return runErr
}

// positions is where the sources keep their positions: file offsets and API cursors, and the engine the
// positions (for API streams, the event ids) of outputs ahead of them (nil in memory-only mode).
type positions struct {
	files   file.Registry
	cursors api.Registry
	outputs engine.OutputPositions
	ids     engine.OutputIDs
}

func storePositions(db *store.DB) positions {
	return positions{files: fileRegistry{db: db}, cursors: cursorRegistry{db: db}, outputs: outputPositions{db: db},
		ids: outputIDs{db: db}}
}

// openRegistry opens where positions live: an S3 session (lease, restore), a local file, or nothing (with a
// warning when some input has positions to lose; a pure aggregator, listening sources only, has none).
func (c *RunCmd) openRegistry(ctx context.Context, mode registryMode, hasPositions bool, log zerolog.Logger) (positions, *store.DB, *s3Session, error) {
	switch {
	case mode.s3 != "":
		session, err := c.openS3(ctx, mode.s3, log)
		if err != nil {
			return positions{}, nil, nil, err
		}
		return storePositions(session.db), session.db, session, nil
	case mode.path != "":
		db, err := store.Open(mode.path, store.Options{CommitInterval: c.CommitInterval}, log)
		if err != nil {
			if errors.Is(err, store.ErrLocked) {
				return positions{}, nil, nil, &exitError{code: exitFenced, err: err}
			}
			return positions{}, nil, nil, fmt.Errorf("open registry: %w", err)
		}
		log.Info().Str("registry", db.Path()).Uint64("seq", db.Meta().Seq).Msg("registry opened")
		return storePositions(db), db, nil, nil
	}
	if hasPositions { // a pure aggregator (listening sources only) has none to keep
		log.Warn().Msg("positions are kept in memory only: a restart begins at start_position and initial_lookback " +
			"(use --track to persist them)")
	}
	return positions{files: noRegistry{}, cursors: noCursors{}}, nil, nil, nil
}

// ship builds and runs the pipeline, publishing its parts to live for the metrics; srv, when not nil, turns ready
// once shipping begins.
func (c *RunCmd) ship(ctx context.Context, cfg *config.Config, reg positions, live *liveParts,
	srv *telemetry.Server, fenced <-chan struct{}, log zerolog.Logger) error {
	outputs, err := buildOutputs(cfg, log)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	ins, err := buildInputs(cfg, reg, c.Once, log)
	if err != nil {
		closeOutputs(outputs)
		return &exitError{code: exitUsage, err: err}
	}
	if ins.http != nil {
		if err := ins.http.SetStopTimeout(c.ShutdownTimeout - c.closeBudget()); err != nil {
			closeOutputs(outputs)
			return &exitError{code: exitUsage, err: err}
		}
	}
	sources, fileSources, apiSource := ins.sources, ins.files, ins.api
	chains, err := buildChains(cfg)
	if err != nil {
		closeOutputs(outputs)
		return &exitError{code: exitUsage, err: err}
	}
	sources = processors.WrapSources(sources, chains) // each input through its processors, before the queue
	pipe, err := engine.New(engine.Options{
		Queue:        engine.QueueLimits{MaxEvents: cfg.Queue.MaxEvents, MaxBytes: int64(cfg.Queue.MaxBytes)},
		Batch:        engine.BatchLimits{MaxEvents: cfg.Batch.MaxEvents, MaxBytes: int64(cfg.Batch.MaxBytes), MaxWait: cfg.Batch.MaxWait},
		Outputs:      outputs,
		DrainTimeout: c.ShutdownTimeout - c.closeBudget(),
		CloseTimeout: c.closeBudget() / 4,
		Logger:       log, // engine.New adds its component

		OutputPositions: reg.outputs,
		OutputIDs:       reg.ids,
		// Saving ids faster than the registry commits would only add work.
		OutputIDsInterval: c.CommitInterval,
	})
	if err != nil {
		closeOutputs(outputs)
		return &exitError{code: exitUsage, err: err}
	}
	if session := live.session.Load(); session != nil {
		sources = session.gateSources(sources) // paused while the lease is unconfirmed
	}
	live.pipe.Store(pipe)
	live.chains.Store(&chains)
	live.sources.Store(&fileSources)
	live.kubes.Store(&ins.kubes)
	live.syslogs.Store(&ins.syslogs)
	if apiSource != nil {
		live.apis.Store(apiSource)
	}
	if ins.http != nil {
		live.https.Store(ins.http)
	}
	stopWatch := context.AfterFunc(ctx, func() {
		select {
		case <-fenced:
			pipe.Abort()
		default:
		}
	})
	defer stopWatch()
	if srv != nil {
		srv.SetReady(true)
		if ctx.Err() != nil { // stopping already: the AfterFunc that turns it unready may have run before
			srv.SetReady(false)
		}
	}
	start := time.Now()
	log.Info().Int("inputs", len(sources)).Int("outputs", len(outputs)).Bool("once", c.Once).Msg("shipping")
	err = pipe.Run(ctx, sources)
	st := pipe.Stats()
	log.Info().Uint64("events", st.EventsIn).Uint64("bytes", st.BytesIn).Dur("elapsed", time.Since(start)).Msg("stopped")
	return err
}

// closeBudget is the part of the shutdown budget kept for committing positions and closing outputs, plus in S3
// mode the final snapshot and the lease release; the pipeline may spend the rest delivering.
func (c *RunCmd) closeBudget() time.Duration {
	if isS3(c.RegistryFile) {
		return min(c.ShutdownTimeout/3, 10*time.Second)
	}
	return min(c.ShutdownTimeout/5, 3*time.Second)
}

// absPath is path made absolute for logs and errors, or path itself when that fails.
func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}
