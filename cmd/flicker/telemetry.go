package main

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/s3client"
	"github.com/flickerlog/flicker/internal/telemetry"
	"github.com/flickerlog/flicker/processors"
	"github.com/flickerlog/flicker/sources/api"
	"github.com/flickerlog/flicker/sources/container"
	"github.com/flickerlog/flicker/sources/file"
	httpsrc "github.com/flickerlog/flicker/sources/http"
	"github.com/flickerlog/flicker/sources/syslog"
	"github.com/flickerlog/flicker/store"
)

// liveParts are what the metrics read, filled in as the run starts them: the listener is up before the lease and
// the restore (a standby waiting for the lease answers /healthz), and each part reports once it exists.
type liveParts struct {
	db      atomic.Pointer[store.DB]
	session atomic.Pointer[s3Session]
	pipe    atomic.Pointer[engine.Pipeline]
	sources atomic.Pointer[[]*file.Source]
	kubes   atomic.Pointer[[]*container.Kubernetes]
	apis    atomic.Pointer[api.Source]
	syslogs atomic.Pointer[[]*syslog.Source]
	https   atomic.Pointer[httpsrc.Source]
	chains  atomic.Pointer[map[string]*processors.Chain] // by input name
	// s3Requests counts the S3 registry's requests from its first (a standby's included).
	s3Requests atomic.Pointer[s3client.Requests]
}

// startTelemetry serves /metrics, /healthz and /readyz on addr. /readyz answers 503 until the caller calls
// SetReady(true) (shipping), and again as soon as ctx ends (stopping); metrics are served during the drain until
// the caller shuts the server down. /healthz answers 503 once the pipeline is wedged for stall (0: never).
func startTelemetry(ctx context.Context, addr string, stall time.Duration, live *liveParts, log zerolog.Logger) (*telemetry.Server, error) {
	srv, err := telemetry.New(telemetry.Options{
		Addr: addr,
		Pipeline: func() engine.Stats {
			if p := live.pipe.Load(); p != nil {
				return p.Stats()
			}
			return engine.Stats{}
		},
		Inputs: func() []telemetry.InputStats {
			var out []telemetry.InputStats
			if apis := live.apis.Load(); apis != nil {
				out = apiInputStats(apis)
			}
			if syslogs := live.syslogs.Load(); syslogs != nil {
				out = append(out, syslogInputStats(*syslogs)...)
			}
			if https := live.https.Load(); https != nil {
				out = append(out, httpInputStats(https)...)
			}
			sources := live.sources.Load()
			if sources == nil {
				return out
			}
			for _, src := range *sources {
				st, in := src.Stats(), src.Input()
				out = append(out, telemetry.InputStats{Name: in.Name, Type: in.Type, Events: st.Events, Bytes: st.Bytes,
					LongLinePieces: st.LongLinePieces, InvalidEncoding: st.InvalidEncoding, Truncations: st.Truncations,
					TruncatedBytesLost: st.TruncatedBytesLost, MissingBytesLost: st.MissingBytesLost,
					PartialBytesDropped: st.PartialBytesDropped, Malformed: st.Malformed,
					FilesOpen: st.FilesOpen, FilesTracked: st.FilesTracked})
			}
			if kubes := live.kubes.Load(); kubes != nil {
				kubeMetadataStats(out, *kubes)
			}
			return out
		},
		Registry: func() (uint64, time.Time, bool) {
			db := live.db.Load()
			if db == nil {
				return 0, time.Time{}, false
			}
			m := db.Meta()
			return m.Seq, m.Updated, true
		},
		Snapshot: func() (telemetry.SnapshotStats, bool) {
			if s := live.session.Load(); s != nil {
				return s.stats(), true
			}
			return telemetry.SnapshotStats{}, false
		},
		Processors: func() []telemetry.ProcessorStats {
			if chains := live.chains.Load(); chains != nil {
				return processorStats(*chains)
			}
			return nil
		},
		S3Requests: func() []telemetry.S3RequestCount {
			var out []telemetry.S3RequestCount
			if r := live.s3Requests.Load(); r != nil {
				for _, c := range r.Counts() {
					out = append(out, telemetry.S3RequestCount{Op: c.Op, KeyKind: c.KeyKind, N: c.N})
				}
			}
			return out
		},
		Stall:  stall,
		Logger: log, // telemetry.New adds its component
	})
	if err != nil {
		return nil, usageError("--http-addr: %v", err)
	}
	if err := srv.Start(context.Background()); err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, func() { srv.SetReady(false) })
	log.Info().Str("addr", srv.Addr()).Msg("serving /metrics, /healthz and /readyz")
	return srv, nil
}

// kubeMetadataStats adds the pod metadata counter of the kubernetes inputs with metadata: api to their stats.
func kubeMetadataStats(out []telemetry.InputStats, kubes []*container.Kubernetes) {
	for _, k := range kubes {
		missing, ok := k.MetadataMissing()
		if !ok {
			continue
		}
		for i := range out {
			if out[i].Name == k.Input().Name {
				out[i].MetadataAPI, out[i].MetadataMissing = true, missing
			}
		}
	}
}

// apiInputStats are the metrics of every API source.
func apiInputStats(src *api.Source) []telemetry.InputStats {
	var out []telemetry.InputStats
	for _, in := range src.Inputs() {
		st, _ := src.InputStats(in.Name)
		out = append(out, telemetry.InputStats{Name: in.Name, Type: in.Type, Events: st.Events,
			Requests: st.Requests, Pages: st.Pages, EmptyPages: st.EmptyPages, Duplicates: st.Duplicates,
			RateLimitWaits: st.RateLimitWaits, RateLimitSlowdowns: st.RateLimitSlowdowns,
			ServerErrors: st.ServerErrors, NetworkErrors: st.NetworkErrors, AuthErrors: st.AuthErrors,
			ClientErrors: st.ClientErrors, MalformedBodies: st.MalformedBodies})
	}
	return out
}

// syslogInputStats are the metrics of the syslog sources.
func syslogInputStats(srcs []*syslog.Source) []telemetry.InputStats {
	out := make([]telemetry.InputStats, 0, len(srcs))
	for _, src := range srcs {
		st, in := src.Stats(), src.Input()
		out = append(out, telemetry.InputStats{Name: in.Name, Type: in.Type, Events: st.Events, Bytes: st.Bytes,
			Malformed: st.Malformed, ConnectionsOpen: st.Connections, Truncated: st.Truncated,
			DroppedTooLarge: st.DroppedTooLarge, DroppedQueueFull: st.DroppedQueue, DroppedPartial: st.DroppedPartial,
			DroppedShutdown: st.DroppedShutdown, InvalidEncoding: st.InvalidEncoding,
			Net: &telemetry.NetStats{Rejected: map[string]uint64{
				"too_many_connections": st.RejectedTooMany, "tls_handshake": st.RejectedTLS}}})
	}
	return out
}

// httpInputStats are the metrics of every http_sources entry.
func httpInputStats(src *httpsrc.Source) []telemetry.InputStats {
	var out []telemetry.InputStats
	for _, in := range src.Inputs() {
		st, _ := src.Stats(in.Name)
		out = append(out, telemetry.InputStats{Name: in.Name, Type: in.Type, Events: st.Events, Bytes: st.Bytes,
			Net: &telemetry.NetStats{Requests: st.Requests, Rejected: st.Rejected,
				TooManyRequests: st.TooManyRequests}, ConnectionsOpen: st.OpenConnections})
	}
	return out
}
