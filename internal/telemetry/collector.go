package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flickerlog/flicker/engine"
)

// Sources returns the current counters of every input. It is called on each scrape, possibly from several
// goroutines at once.
type Sources func() []InputStats

// InputStats are one input's counters, as its source reports them. The file-source fields are zero for inputs
// of other types.
type InputStats struct {
	Name, Type string

	Events, Bytes       uint64
	LongLinePieces      uint64
	InvalidEncoding     uint64
	Truncations         uint64
	TruncatedBytesLost  uint64
	MissingBytesLost    uint64
	PartialBytesDropped uint64
	Malformed           uint64 // container log lines shipped raw with error.message

	FilesOpen, FilesTracked int64

	// Kubernetes inputs with metadata: api.
	MetadataAPI     bool
	MetadataMissing uint64 // lookups of a pod's API metadata that found nothing

	// API sources.
	Requests, Pages, EmptyPages, Duplicates uint64
	RateLimitWaits, RateLimitSlowdowns      uint64
	ServerErrors, NetworkErrors, AuthErrors uint64
	ClientErrors, MalformedBodies           uint64

	// Syslog sources (Malformed counts their frames that did not parse).
	Truncated                                         uint64
	DroppedTooLarge, DroppedQueueFull, DroppedPartial uint64
	DroppedShutdown                                   uint64

	// Listening inputs (syslog_sources, http_sources): connections open now.
	ConnectionsOpen int64
	// HTTP sources (http_sources); nil for the others.
	Net *NetStats
}

// metric is one metric read from a stats value T at scrape time.
type metric[T any] struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(T) float64
}

func counter[T any](name, help string, labels []string, v func(T) float64) metric[T] {
	return metric[T]{prometheus.NewDesc(name, help, labels, nil), prometheus.CounterValue, v}
}

func gauge[T any](name, help string, labels []string, v func(T) float64) metric[T] {
	return metric[T]{prometheus.NewDesc(name, help, labels, nil), prometheus.GaugeValue, v}
}

var (
	inputLabels  = []string{"input", "type"}
	outputLabels = []string{"output"}
)

var inputMetrics = []metric[InputStats]{
	counter("flicker_input_events_total", "Events published by the input.", inputLabels,
		func(s InputStats) float64 { return float64(s.Events) }),
	counter("flicker_input_bytes_total", "Raw bytes consumed by the events the input published.", inputLabels,
		func(s InputStats) float64 { return float64(s.Bytes) }),
}

// fileInputMetrics are the metrics of inputs other than API sources (files).
var fileInputMetrics = []metric[InputStats]{
	counter("flicker_input_long_line_pieces_total", "Events cut at max_line_bytes.", inputLabels,
		func(s InputStats) float64 { return float64(s.LongLinePieces) }),
	inputInvalidEncoding,
	counter("flicker_input_truncations_total", "Truncations and content replacements seen on known files.",
		inputLabels, func(s InputStats) float64 { return float64(s.Truncations) }),
	counter("flicker_input_truncated_bytes_lost_total",
		"Bytes known to exist but not yet read when a truncation was seen.", inputLabels,
		func(s InputStats) float64 { return float64(s.TruncatedBytesLost) }),
	counter("flicker_input_missing_bytes_lost_total",
		"Bytes known to exist but not yet read in files of the registry searched for and not found (deleted or "+
			"moved away, typically while flicker was down).", inputLabels,
		func(s InputStats) float64 { return float64(s.MissingBytesLost) }),
	counter("flicker_input_partial_bytes_dropped_total",
		"Bytes of unterminated last lines dropped when a file was released.", inputLabels,
		func(s InputStats) float64 { return float64(s.PartialBytesDropped) }),
	inputMalformed,
	gauge("flicker_input_files_open", "Files the input holds open now.", inputLabels,
		func(s InputStats) float64 { return float64(s.FilesOpen) }),
	gauge("flicker_input_files_tracked", "Files the input knows now, open or not.", inputLabels,
		func(s InputStats) float64 { return float64(s.FilesTracked) }),
}

// inputInvalidEncoding is shared by file and syslog inputs.
var inputInvalidEncoding = counter("flicker_input_invalid_encoding_total",
	"Invalid code units (UTF-16 in files, bytes of UTF-8 in syslog messages) replaced with U+FFFD.", inputLabels,
	func(s InputStats) float64 { return float64(s.InvalidEncoding) })

// inputMalformed is shared by file and syslog inputs.
var inputMalformed = counter("flicker_input_malformed_total",
	"Container log lines or syslog frames that could not be decoded, shipped as they are with error.message.",
	inputLabels, func(s InputStats) float64 { return float64(s.Malformed) })

// syslogInputMetrics are the metrics of syslog sources (type "syslog").
var syslogInputMetrics = []metric[InputStats]{
	inputMalformed,
	inputConnectionsOpen,
	counter("flicker_input_truncated_total", "Messages cut at max_message_bytes (the rest of the frame discarded).",
		inputLabels, func(s InputStats) float64 { return float64(s.Truncated) }),
	inputDropped("too_large", func(s InputStats) uint64 { return s.DroppedTooLarge }),
	inputDropped("queue_full", func(s InputStats) uint64 { return s.DroppedQueueFull }),
	inputDropped("partial", func(s InputStats) uint64 { return s.DroppedPartial }),
	inputDropped("shutdown", func(s InputStats) uint64 { return s.DroppedShutdown }),
}

// inputConnectionsOpen is shared by the listening inputs (syslog and http sources).
var inputConnectionsOpen = gauge("flicker_input_connections_open", "Connections a listening input holds open now.",
	inputLabels, func(s InputStats) float64 { return float64(s.ConnectionsOpen) })

// inputDropped is flicker_input_dropped_total for one reason.
func inputDropped(reason string, v func(InputStats) uint64) metric[InputStats] {
	return metric[InputStats]{
		prometheus.NewDesc("flicker_input_dropped_total", "Messages received and not shipped, by reason: "+
			"too_large (a UDP datagram over max_message_bytes), queue_full (UDP datagrams while the queue stayed "+
			"full), partial (an unfinished frame when its connection closed or its framing broke), shutdown (read and "+
			"not queued before the pipeline stopped taking events at a stop).", inputLabels,
			prometheus.Labels{"reason": reason}),
		prometheus.CounterValue, func(s InputStats) float64 { return float64(v(s)) },
	}
}

// kubeMetadataMissing is the metric of kubernetes inputs with metadata: api.
var kubeMetadataMissing = counter("flicker_kubernetes_metadata_missing_total",
	"Lookups of a pod's metadata in the API server's watch that found nothing (the pod unknown, the API server not "+
		"listed yet or unreachable): the events went out with what the log's path says. A log of an unknown pod "+
		"counts at its first line and again at every scan while it is open.", []string{"input"},
	func(s InputStats) float64 { return float64(s.MetadataMissing) })

// apiInputMetrics are the metrics of API sources (type "api").
var apiInputMetrics = []metric[InputStats]{
	counter("flicker_input_api_requests_total", "Requests an API source sent.", inputLabels,
		func(s InputStats) float64 { return float64(s.Requests) }),
	counter("flicker_input_api_pages_total", "Pages an API source parsed (2xx answers), empty ones included.",
		inputLabels, func(s InputStats) float64 { return float64(s.Pages) }),
	counter("flicker_input_api_empty_pages_total", "Pages without items.", inputLabels,
		func(s InputStats) float64 { return float64(s.EmptyPages) }),
	counter("flicker_input_api_duplicates_total", "Items skipped because they were delivered already.",
		inputLabels, func(s InputStats) float64 { return float64(s.Duplicates) }),
	counter("flicker_input_api_rate_limit_waits_total", "429 answers waited out until the rate limit reset.",
		inputLabels, func(s InputStats) float64 { return float64(s.RateLimitWaits) }),
	counter("flicker_input_api_rate_limit_slowdowns_total",
		"Requests delayed to spread the remaining rate-limit budget until its reset.", inputLabels,
		func(s InputStats) float64 { return float64(s.RateLimitSlowdowns) }),
	apiErrors("server", func(s InputStats) uint64 { return s.ServerErrors }),
	apiErrors("network", func(s InputStats) uint64 { return s.NetworkErrors }),
	apiErrors("auth", func(s InputStats) uint64 { return s.AuthErrors }),
	apiErrors("client", func(s InputStats) uint64 { return s.ClientErrors }),
	apiErrors("malformed", func(s InputStats) uint64 { return s.MalformedBodies }),
}

// apiErrors is flicker_input_api_errors_total for one kind of failure.
func apiErrors(kind string, v func(InputStats) uint64) metric[InputStats] {
	return metric[InputStats]{
		prometheus.NewDesc("flicker_input_api_errors_total", "Failed API requests by kind: server (5xx, 408), "+
			"network (connection, timeout, cut body), auth (401, 403, refused OAuth2 credentials), client (other "+
			"4xx, unfollowed redirects), malformed (a 2xx body that is not what the source expects).", inputLabels,
			prometheus.Labels{"kind": kind}),
		prometheus.CounterValue, func(s InputStats) float64 { return float64(v(s)) },
	}
}

var pipelineMetrics = []metric[engine.Stats]{
	counter("flicker_pipeline_events_total", "Events published to the pipeline and queued.", nil,
		func(s engine.Stats) float64 { return float64(s.EventsIn) }),
	counter("flicker_pipeline_bytes_total", "Message bytes of the events queued.", nil,
		func(s engine.Stats) float64 { return float64(s.BytesIn) }),
	counter("flicker_pipeline_events_invalid_total", "Events published without a stream, dropped.", nil,
		func(s engine.Stats) float64 { return float64(s.Invalid) }),
	counter("flicker_pipeline_events_acknowledged_total", "Events done for every output.", nil,
		func(s engine.Stats) float64 { return float64(s.Acknowledged) }),
	gauge("flicker_queue_events", "Events held now, from publish until done for every output.", nil,
		func(s engine.Stats) float64 { return float64(s.QueueEvents) }),
	gauge("flicker_queue_bytes", "Message bytes of the events held now.", nil,
		func(s engine.Stats) float64 { return float64(s.QueueBytes) }),
}

var outputMetrics = []metric[engine.OutputStats]{
	counter("flicker_output_events_total", "Events accepted by the output, not counting dead letters.",
		outputLabels, func(s engine.OutputStats) float64 { return float64(s.Events) }),
	counter("flicker_output_bytes_total", "Message bytes of the events accepted by the output.", outputLabels,
		func(s engine.OutputStats) float64 { return float64(s.Bytes) }),
	counter("flicker_output_batches_total", "Batches written to the output.", outputLabels,
		func(s engine.OutputStats) float64 { return float64(s.Batches) }),
	counter("flicker_output_write_errors_total", "Batch writes that returned an error.", outputLabels,
		func(s engine.OutputStats) float64 { return float64(s.WriteErrors) }),
	counter("flicker_output_events_retried_total", "Events the output asked to retry or left unmarked.",
		outputLabels, func(s engine.OutputStats) float64 { return float64(s.Retried) }),
	counter("flicker_output_events_rejected_total", "Events the output rejected.", outputLabels,
		func(s engine.OutputStats) float64 { return float64(s.Rejected) }),
	counter("flicker_output_events_dead_lettered_total", "Rejected events the output's dead letter accepted.",
		outputLabels, func(s engine.OutputStats) float64 { return float64(s.DeadLettered) }),
	counter("flicker_output_events_dropped_total", "Rejected events with no dead letter to take them.",
		outputLabels, func(s engine.OutputStats) float64 { return float64(s.Dropped) }),
	counter("flicker_output_dead_letters_accepted_total", "Dead letters of other outputs this output accepted.",
		outputLabels, func(s engine.OutputStats) float64 { return float64(s.DeadLetterIn) }),
	counter("flicker_output_events_skipped_total",
		"Events not sent to the output because it accepted them before a restart (per-output positions).",
		outputLabels, func(s engine.OutputStats) float64 { return float64(s.Skipped) }),
	gauge("flicker_output_batches_held", "Batches written and held by the output, not released yet.",
		outputLabels, func(s engine.OutputStats) float64 { return float64(s.Held) }),
}

var (
	registrySeq = prometheus.NewDesc("flicker_registry_seq",
		"Sequence number of the registry's last commit.", nil, nil)
	registryAge = prometheus.NewDesc("flicker_registry_last_commit_age_seconds",
		"Seconds since the registry's last commit, at scrape time.", nil, nil)
)

// collector reads the counters through the Options funcs on each scrape, so the pipeline does no extra work
// per event.
type collector struct {
	pipeline func() engine.Stats
	inputs   Sources
	registry func() (uint64, time.Time, bool)
	snapshot func() (SnapshotStats, bool)
	procs    func() []ProcessorStats
	// s3Requests is Options.S3Requests.
	s3Requests func() []S3RequestCount
}

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- inputRejected
	// syslogInputMetrics[0] is inputMalformed, described with fileInputMetrics already.
	for _, ms := range [][]metric[InputStats]{inputMetrics, fileInputMetrics, apiInputMetrics, syslogInputMetrics[1:], netInputMetrics} {
		for _, m := range ms {
			ch <- m.desc
		}
	}
	for _, m := range pipelineMetrics {
		ch <- m.desc
	}
	for _, m := range outputMetrics {
		ch <- m.desc
	}
	ch <- kubeMetadataMissing.desc
	ch <- registrySeq
	ch <- registryAge
	ch <- eventsFiltered
	ch <- processorErrors
	describeAll(ch, snapshotMetrics)
	ch <- s3Requests
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	if c.inputs != nil {
		for _, in := range c.inputs() {
			emit(ch, inputMetrics, in, in.Name, in.Type)
			switch in.Type {
			case "api":
				emit(ch, apiInputMetrics, in, in.Name, in.Type)
			case "syslog":
				emit(ch, syslogInputMetrics, in, in.Name, in.Type)
				emit(ch, []metric[InputStats]{inputInvalidEncoding}, in, in.Name, in.Type)
				emitRejected(ch, in)
			case "http":
				emitNet(ch, in)
			default:
				emit(ch, fileInputMetrics, in, in.Name, in.Type)
			}
			if in.MetadataAPI {
				emit(ch, []metric[InputStats]{kubeMetadataMissing}, in, in.Name)
			}
		}
	}
	var s engine.Stats
	if c.pipeline != nil {
		s = c.pipeline()
		emit(ch, pipelineMetrics, s)
		for _, o := range s.Outputs {
			emit(ch, outputMetrics, o, o.Name)
		}
	}
	var procs []ProcessorStats
	if c.procs != nil {
		procs = c.procs()
	}
	collectProcessing(ch, s, procs)
	if c.registry != nil {
		if seq, updated, ok := c.registry(); ok {
			ch <- prometheus.MustNewConstMetric(registrySeq, prometheus.GaugeValue, float64(seq))
			if !updated.IsZero() {
				ch <- prometheus.MustNewConstMetric(registryAge, prometheus.GaugeValue,
					time.Since(updated).Seconds())
			}
		}
	}
	if c.snapshot != nil {
		if st, ok := c.snapshot(); ok {
			emit(ch, snapshotMetrics, st)
		}
	}
	if c.s3Requests != nil {
		for _, r := range c.s3Requests() {
			ch <- prometheus.MustNewConstMetric(s3Requests, prometheus.CounterValue, float64(r.N), r.Op, r.KeyKind)
		}
	}
}

// emit sends every metric of ms for s. MustNewConstMetric panics only on a label count mismatch, which the
// tables above rule out.
func emit[T any](ch chan<- prometheus.Metric, ms []metric[T], s T, labels ...string) {
	for _, m := range ms {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(s), labels...)
	}
}
