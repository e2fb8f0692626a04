package telemetry

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// NetStats are the counters of an input that listens (http_sources): requests and connections rather than
// files.
type NetStats struct {
	Requests        uint64
	Rejected        map[string]uint64 // requests answered with an error, by reason
	TooManyRequests uint64            // 429 answers: the queue was full
}

// netInputMetrics are the metrics of listening inputs, besides events and bytes.
var netInputMetrics = []metric[InputStats]{
	counter("flicker_input_requests_total", "Requests a listening input received.", inputLabels,
		func(s InputStats) float64 { return float64(s.Net.Requests) }),
	counter("flicker_input_too_many_requests_total", "429 answers: the queue was full, the sender backs off.",
		inputLabels, func(s InputStats) float64 { return float64(s.Net.TooManyRequests) }),
	inputConnectionsOpen,
}

var inputRejected = prometheus.NewDesc("flicker_input_rejected_total",
	"Requests a listening input answered with an error, by reason (auth, malformed, too_large, unsupported, "+
		"queue_full, ack_timeout, stopping, client_gone, read_error, paused, output), and connections it refused "+
		"(too_many_connections, tls_handshake).", append(inputLabels, "reason"), nil)

// emitNet sends the metrics of a listening input.
func emitNet(ch chan<- prometheus.Metric, in InputStats) {
	emit(ch, netInputMetrics, in, in.Name, in.Type)
	emitRejected(ch, in)
}

// emitRejected sends flicker_input_rejected_total of each reason in in.Net.Rejected.
func emitRejected(ch chan<- prometheus.Metric, in InputStats) {
	if in.Net == nil {
		return
	}
	reasons := make([]string, 0, len(in.Net.Rejected))
	for r := range in.Net.Rejected {
		reasons = append(reasons, r)
	}
	slices.Sort(reasons)
	for _, r := range reasons {
		ch <- prometheus.MustNewConstMetric(inputRejected, prometheus.CounterValue, float64(in.Net.Rejected[r]),
			in.Name, in.Type, r)
	}
}
