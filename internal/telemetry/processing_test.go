package telemetry_test

import (
	"testing"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/telemetry"
)

func TestProcessingMetrics(t *testing.T) {
	s := start(t, telemetry.Options{
		Pipeline: func() engine.Stats {
			return engine.Stats{Filtered: 7, FilteredByInput: map[string]uint64{"tomcat": 5, "app": 2}}
		},
		Processors: func() []telemetry.ProcessorStats {
			return []telemetry.ProcessorStats{{Input: "tomcat", Processor: "dissect", Errors: 3},
				{Input: "app", Processor: "parse_json[2]", Errors: 0},
				{Input: "quiet", Processor: "drop", Errors: 0}, {Input: "quiet", Processor: "rename", Errors: 1}}
		},
	})
	fams := scrape(t, s)
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"flicker_events_filtered_total", []string{"input", "tomcat"}, 5},
		{"flicker_events_filtered_total", []string{"input", "app"}, 2},
		{"flicker_processor_errors_total", []string{"input", "tomcat", "processor", "dissect"}, 3},
		{"flicker_processor_errors_total", []string{"input", "app", "processor", "parse_json[2]"}, 0},
		{"flicker_events_filtered_total", []string{"input", "quiet"}, 0}, // processors, nothing filtered yet
	}
	for _, tt := range tests {
		if got := value(t, fams, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
}
