package main

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/telemetry"
	"github.com/flickerlog/flicker/sources/file"
	"github.com/flickerlog/flicker/store"
)

// startTelemetry serves /metrics, /healthz and /readyz on addr. It is ready while the pipeline runs and turns
// unready as soon as ctx ends (stopping); it keeps serving metrics during the drain until the caller shuts it down.
func startTelemetry(ctx context.Context, addr string, pipe *engine.Pipeline, sources []*file.Source, db *store.DB,
	snapshots func() telemetry.SnapshotStats, log zerolog.Logger) (*telemetry.Server, error) {
	opts := telemetry.Options{
		Addr:     addr,
		Pipeline: pipe.Stats,
		Inputs: func() []telemetry.InputStats {
			out := make([]telemetry.InputStats, 0, len(sources))
			for _, src := range sources {
				st, in := src.Stats(), src.Input()
				out = append(out, telemetry.InputStats{Name: in.Name, Type: in.Type, Events: st.Events, Bytes: st.Bytes,
					LongLinePieces: st.LongLinePieces, InvalidEncoding: st.InvalidEncoding, Truncations: st.Truncations,
					TruncatedBytesLost: st.TruncatedBytesLost, PartialBytesDropped: st.PartialBytesDropped,
					FilesOpen: st.FilesOpen, FilesTracked: st.FilesTracked})
			}
			return out
		},
		Snapshot: snapshots,
		Logger:   log.With().Str("component", "telemetry").Logger(),
	}
	if db != nil {
		opts.Registry = func() (uint64, time.Time, bool) {
			m := db.Meta()
			return m.Seq, m.Updated, true
		}
	}
	srv, err := telemetry.New(opts)
	if err != nil {
		return nil, usageError("--http-addr: %v", err)
	}
	if err := srv.Start(context.Background()); err != nil {
		return nil, err
	}
	srv.SetReady(true)
	context.AfterFunc(ctx, func() { srv.SetReady(false) })
	log.Info().Str("addr", srv.Addr()).Msg("serving /metrics, /healthz and /readyz")
	return srv, nil
}
