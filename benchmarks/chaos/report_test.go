package chaos

import "testing"

// TestCountersDisagree: no pod may count more bytes lost than were written to the parts deleted while no pod was
// reading; none at all when no part was.
func TestCountersDisagree(t *testing.T) {
	pod := func(id int, truncated, missing, partial float64) podReport {
		return podReport{ID: id, Counters: map[string]float64{"flicker_input_truncated_bytes_lost_total": truncated,
			"flicker_input_missing_bytes_lost_total": missing, "flicker_input_partial_bytes_dropped_total": partial}}
	}
	tests := []struct {
		name    string
		deleted int64
		pods    []podReport
		want    int
	}{
		{"nothing deleted, nothing counted", 0, []podReport{pod(0, 0, 0, 0), pod(1, 0, 0, 0)}, 0},
		{"nothing deleted, a loss counted", 0, []podReport{pod(0, 0, 0, 0), pod(1, 0, 40, 0)}, 1},
		{"a lower bound of what was deleted", 1000, []podReport{pod(0, 0, 0, 0), pod(1, 100, 600, 0)}, 0},
		{"counted again by the next pod", 1000, []podReport{pod(1, 0, 600, 0), pod(2, 0, 600, 0)}, 0},
		{"more than was deleted", 1000, []podReport{pod(1, 500, 400, 101)}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &report{Pods: tt.pods}
			r.AllowedLoss.DeletedWhileDownBytes = tt.deleted
			if got := r.countersDisagree(); len(got) != tt.want {
				t.Errorf("%q, want %d complaints", got, tt.want)
			}
		})
	}
}
