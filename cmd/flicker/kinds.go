package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/config"
	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/s3client"
	"github.com/flickerlog/flicker/sinks/discard"
	"github.com/flickerlog/flicker/sinks/elasticsearch"
	sinkfile "github.com/flickerlog/flicker/sinks/file"
	httpout "github.com/flickerlog/flicker/sinks/http"
	s3out "github.com/flickerlog/flicker/sinks/s3"
	"github.com/flickerlog/flicker/sinks/stdout"
	"github.com/flickerlog/flicker/sources/api"
	"github.com/flickerlog/flicker/sources/container"
	"github.com/flickerlog/flicker/sources/file"
	httpsrc "github.com/flickerlog/flicker/sources/http"
	"github.com/flickerlog/flicker/sources/syslog"
)

// newSinkFunc builds the sink of one configured output.
type newSinkFunc func(out config.Output, log zerolog.Logger) (engine.Sink, error)

// outputKinds is the one table of output types this binary knows: config type -> constructor.
var outputKinds = map[string]newSinkFunc{
	"stdout": func(_ config.Output, log zerolog.Logger) (engine.Sink, error) {
		return stdout.New(os.Stdout, log), nil
	},
	"file": func(out config.Output, log zerolog.Logger) (engine.Sink, error) {
		return sinkfile.New(*out.File, log)
	},
	"discard": func(config.Output, zerolog.Logger) (engine.Sink, error) {
		return discard.New(), nil
	},
	"http": func(out config.Output, log zerolog.Logger) (engine.Sink, error) {
		return poolOf(httpout.NewWorkers(*out.HTTP, log))
	},
	"elasticsearch": func(out config.Output, log zerolog.Logger) (engine.Sink, error) {
		return pool(out.Elasticsearch.Workers, log, func(log zerolog.Logger) (engine.Sink, error) {
			return elasticsearch.New(*out.Elasticsearch, log)
		})
	},
	"s3": func(out config.Output, log zerolog.Logger) (engine.Sink, error) {
		// The same AWS environment and credentials as an S3 registry, with this output's overrides.
		cfg, err := s3client.FromEnv(os.Getenv, out.S3.ClientOverrides())
		if err != nil {
			return nil, fmt.Errorf("S3 settings: %w", err)
		}
		client, err := s3client.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("S3 settings: %w", err)
		}
		return s3out.New(*out.S3, client, log)
	},
}

// inputs are the sources built from the configured inputs.
type inputs struct {
	sources []engine.Source
	files   []*file.Source   // every source on the file source (log_files, docker_containers, kubernetes), for the metrics
	api     *api.Source      // all api_sources in one source; nil without any
	syslogs []*syslog.Source // one per syslog_sources entry
	http    *httpsrc.Source  // all http_sources in one source; nil without any

	kubes []*container.Kubernetes // the kubernetes inputs, for their pod metadata metric
}

// inputKind builds the sources of one top-level input key of the configuration into in.
type inputKind struct {
	key   string
	build func(cfg *config.Config, reg positions, once bool, log zerolog.Logger, in *inputs) error
}

// inputKinds is the one table of input kinds this binary knows, in the order their sources are built.
var inputKinds = []inputKind{
	{"log_files", func(cfg *config.Config, reg positions, once bool, log zerolog.Logger, in *inputs) error {
		for _, c := range cfg.LogFiles {
			src, err := file.New(c, reg.files, file.Options{Once: once, Formats: container.Formats()}, log)
			if err != nil {
				return fmt.Errorf("log_files %s: %w", c.Name, err)
			}
			in.sources, in.files = append(in.sources, src), append(in.files, src)
		}
		return nil
	}},
	{"docker_containers", func(cfg *config.Config, reg positions, once bool, log zerolog.Logger, in *inputs) error {
		for _, c := range cfg.DockerContainers {
			src, err := container.NewDocker(c, reg.files, file.Options{Once: once}, log)
			if err != nil {
				return fmt.Errorf("docker_containers %s: %w", c.Name, err)
			}
			in.sources, in.files = append(in.sources, src), append(in.files, src)
		}
		return nil
	}},
	{"kubernetes", func(cfg *config.Config, reg positions, once bool, log zerolog.Logger, in *inputs) error {
		for _, c := range cfg.Kubernetes {
			// With metadata: api, src.Run owns the pod watcher: it starts it, and stops it with the input.
			src, err := container.NewKubernetes(c, reg.files, file.Options{Once: once}, log)
			if err != nil {
				return fmt.Errorf("kubernetes %s: %w", c.Name, err)
			}
			in.sources, in.files, in.kubes = append(in.sources, src), append(in.files, src.Source), append(in.kubes, src)
		}
		return nil
	}},
	{"api_sources", func(cfg *config.Config, reg positions, once bool, log zerolog.Logger, in *inputs) error {
		if len(cfg.APISources) == 0 {
			return nil
		}
		src, err := api.New(cfg.APISources, reg.cursors, api.Options{Once: once}, log)
		if err != nil {
			return fmt.Errorf("api_sources: %w", err)
		}
		in.sources, in.api = append(in.sources, src), src
		return nil
	}},
	{"syslog_sources", func(cfg *config.Config, _ positions, once bool, log zerolog.Logger, in *inputs) error {
		if once && len(cfg.SyslogSources) > 0 {
			return fmt.Errorf("syslog_sources: --once ships what inputs hold and exits; a listening source has no end: run without --once")
		}
		for _, c := range cfg.SyslogSources {
			src, err := syslog.New(c, log)
			if err != nil {
				return fmt.Errorf("syslog_sources %s: %w", c.Name, err)
			}
			in.sources, in.syslogs = append(in.sources, src), append(in.syslogs, src)
		}
		return nil
	}},
	{"http_sources", func(cfg *config.Config, _ positions, once bool, log zerolog.Logger, in *inputs) error {
		if len(cfg.HTTPSources) == 0 {
			return nil // listening sources keep no positions
		}
		if once {
			return fmt.Errorf("http_sources: --once ships what inputs hold and exits; a listening source has no end: run without --once")
		}
		src, err := httpsrc.New(cfg.HTTPSources, httpsrc.Options{}, log)
		if err != nil {
			return fmt.Errorf("http_sources: %w", err)
		}
		in.sources, in.http = append(in.sources, src), src
		return nil
	}},
}

// buildInputs builds the sources of every configured input through inputKinds.
func buildInputs(cfg *config.Config, reg positions, once bool, log zerolog.Logger) (inputs, error) {
	var in inputs
	for _, k := range inputKinds {
		if err := k.build(cfg, reg, once, log, &in); err != nil {
			return inputs{}, err
		}
	}
	return in, nil
}

// pool builds workers sinks with newSink and spreads the output's batches over them, so that that many requests
// are in flight.
func pool(workers int, log zerolog.Logger, newSink func(zerolog.Logger) (engine.Sink, error)) (engine.Sink, error) {
	members := make([]engine.Sink, 0, max(workers, 1))
	for i := range max(workers, 1) {
		mlog := log
		if workers > 1 {
			mlog = log.With().Int("worker", i).Logger()
		}
		s, err := newSink(mlog)
		if err != nil {
			for _, m := range members {
				_ = m.Close(context.Background())
			}
			return nil, err
		}
		members = append(members, s)
	}
	return poolOf(members, nil)
}

// poolOf spreads an output's batches over sinks built together (engine.SinkPool); it passes err through.
func poolOf[S engine.Sink](sinks []S, err error) (engine.Sink, error) {
	if err != nil {
		return nil, err
	}
	members := make([]engine.Sink, len(sinks))
	for i, s := range sinks {
		members[i] = s
	}
	return engine.NewSinkPool(members), nil
}

// queueBounded is a sink that holds events until a larger unit is written (the S3 output) and so must know the
// queue's limits.
type queueBounded interface {
	SetQueueLimits(maxEvents int, maxBytes int64)
}

// buildOutputs turns the configured outputs into the engine's, with their dead letters.
// On an error the sinks built so far are closed (an S3 output runs a goroutine).
func buildOutputs(cfg *config.Config, log zerolog.Logger) (_ []engine.Output, err error) {
	outs := make([]engine.Output, 0, len(cfg.Outputs))
	defer func() {
		if err != nil {
			closeOutputs(outs)
		}
	}()
	for _, oc := range cfg.Outputs {
		olog := log.With().Str("output", oc.Name).Logger()
		newSink, ok := outputKinds[oc.Type]
		if !ok {
			return nil, fmt.Errorf("output %s: unknown type %q", oc.Name, oc.Type)
		}
		sink, err := newSink(oc, olog)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", oc.Name, err)
		}
		if q, ok := sink.(queueBounded); ok {
			q.SetQueueLimits(cfg.Queue.MaxEvents, int64(cfg.Queue.MaxBytes))
		}
		out := engine.Output{
			Name:  oc.Name,
			Sink:  sink,
			Retry: engine.RetryPolicy{Initial: oc.Retry.Initial, Max: oc.Retry.Max},
		}
		if dl := oc.DeadLetter; dl != nil {
			if dl.Output != "" {
				out.DeadLetterOutput = dl.Output
			} else {
				dlSink, err := sinkfile.New(sinkfile.Config{Path: dl.Path, RotateBytes: dl.MaxBytes, RotateFiles: dl.MaxFiles, Mode: dl.Mode},
					olog.With().Bool("dead_letter", true).Logger()) // the sink adds its component
				if err != nil {
					_ = sink.Close(context.Background())
					return nil, fmt.Errorf("output %s: dead_letter: %w", oc.Name, err)
				}
				out.DeadLetter = dlSink
			}
		}
		outs = append(outs, out)
	}
	return outs, nil
}

// closeOutputs closes the sinks of outputs that will never run.
func closeOutputs(outs []engine.Output) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, o := range outs {
		_ = o.Sink.Close(ctx)
		if o.DeadLetter != nil {
			_ = o.DeadLetter.Close(ctx)
		}
	}
}
