package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flickerlog/flicker/engine"
)

// ProcessorStats is one processor of one input's chain, as the chain reports it. The processors of one input are
// listed together.
type ProcessorStats struct {
	Input     string
	Processor string // its kind, with its list index when the kind appears twice in the list: "parse_json[3]"
	Errors    uint64 // events it failed to process: shipped unparsed with error.message
}

var (
	eventsFiltered = prometheus.NewDesc("flicker_events_filtered_total",
		"Events a processor dropped (drop, include_lines, exclude_lines): acknowledged in order, sent to no output.",
		[]string{"input"}, nil)
	processorErrors = prometheus.NewDesc("flicker_processor_errors_total",
		"Events a processor failed to process (a line its parser could not parse, a time no layout read): shipped "+
			"as they were with error.message naming the processor.", []string{"input", "processor"}, nil)
)

// collectProcessing emits the filtered events of every input that has processors or had events filtered (0
// before the first, so that a rate has a series to start from), and every processor's errors.
func collectProcessing(ch chan<- prometheus.Metric, s engine.Stats, procs []ProcessorStats) {
	for input, n := range s.FilteredByInput {
		ch <- prometheus.MustNewConstMetric(eventsFiltered, prometheus.CounterValue, float64(n), input)
	}
	for i, p := range procs {
		_, counted := s.FilteredByInput[p.Input]
		if !counted && (i == 0 || procs[i-1].Input != p.Input) {
			ch <- prometheus.MustNewConstMetric(eventsFiltered, prometheus.CounterValue, 0, p.Input)
		}
	}
	for _, p := range procs {
		ch <- prometheus.MustNewConstMetric(processorErrors, prometheus.CounterValue, float64(p.Errors), p.Input,
			p.Processor)
	}
}
