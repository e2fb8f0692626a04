package chaos

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// report is the outcome of a run: printed as a table, written as JSON with -chaos.report.
type report struct {
	Seed        uint64  `json:"seed"`
	Duration    string  `json:"fault_duration"`
	Elapsed     float64 `json:"elapsed_seconds"`
	Files       int     `json:"files"`
	LongLines   int     `json:"long_lines_written"`
	MaxLine     int     `json:"max_line_bytes"`
	Outcome     verdict `json:"outcome"`
	AllowedLoss struct {
		Units int `json:"units"`
		Parts int `json:"parts"` // deleted or rotated while no pod was reading (see doc.go)
		// What flicker's own counters say over every pod (scraped before each pod ended).
		FlickerTruncatedBytesLost  float64 `json:"flicker_truncated_bytes_lost"`
		FlickerMissingBytesLost    float64 `json:"flicker_missing_bytes_lost"`
		FlickerPartialBytesDropped float64 `json:"flicker_partial_bytes_dropped"`
		// DeletedWhileDownBytes were written to the parts deleted while no pod was reading: no pod may count
		// more lost than that (see countersDisagree).
		DeletedWhileDownBytes int64 `json:"deleted_while_down_bytes"`
	} `json:"allowed_loss"`
	FlickerLongLinePieces float64           `json:"flicker_long_line_pieces"`
	Restarts              map[string]int    `json:"restarts"`
	Faults                map[string]int    `json:"faults"`
	FaultLog              []faultRecord     `json:"fault_log"`
	Pods                  []podReport       `json:"pods"`
	Peak                  resourcePeaks     `json:"peak"`
	Downtimes             []window          `json:"downtimes"`
	Rotations             map[string]int    `json:"rotations"`
	RotationLog           []part            `json:"rotation_log"`
	Soak                  *soakRecord       `json:"soak,omitempty"`
	Errors                []string          `json:"errors,omitempty"`
	Notes                 []string          `json:"notes,omitempty"`
	ExitCodes             map[string]int    `json:"exit_codes"`
	Settings              map[string]string `json:"settings"`
}

type resourcePeaks struct {
	RSSMiB     float64 `json:"rss_mib"`
	FDs        int     `json:"fds"`
	Goroutines int     `json:"goroutines"`
}

type podReport struct {
	ID         int                `json:"id"`
	Start      string             `json:"start"`
	End        string             `json:"end"`
	Exit       int                `json:"exit"`
	Started    float64            `json:"started"`
	Ended      float64            `json:"ended"`
	Ready      float64            `json:"ready,omitempty"`
	Restored   float64            `json:"restored_snapshot_created,omitempty"` // seconds since the run began
	First      bool               `json:"first_start,omitempty"`
	Fallback   bool               `json:"fallback_to_history,omitempty"`
	Peak       resourcePeaks      `json:"peak"`
	Goroutines [2]int             `json:"goroutines_first_last"`
	FDs        [2]int             `json:"fds_first_last"`
	Outputs    []string           `json:"outputs"`
	AtKill     *snapshotAtKill    `json:"snapshot_at_kill,omitempty"`
	Counters   map[string]float64 `json:"counters,omitempty"`
}

// counters reported per pod, from its last scrape.
var podCounters = []string{"flicker_input_truncated_bytes_lost_total", "flicker_input_missing_bytes_lost_total",
	"flicker_input_partial_bytes_dropped_total",
	"flicker_input_long_line_pieces_total", "flicker_snapshot_uploads_total", "flicker_snapshot_failures_total",
	"flicker_output_events_retried_total", "flicker_output_write_errors_total"}

// countersDisagree checks flicker's own loss counters against the harness's rotation log. flicker counts what it
// knew a lost file held beyond what it had read (by the registry it restored or its last stat): a lower bound, as
// what was written after that is unknown to it. So no pod may count more than was written to the parts deleted
// while no pod was reading (each pod counts a part at most once; a pod killed before its next snapshot leaves the
// next one to count it again), and when no part was deleted while down, none may count anything. Pods that count
// losses the harness never caused are what it reports.
func (r *report) countersDisagree() []string {
	var out []string
	for _, p := range r.Pods {
		n := p.Counters["flicker_input_truncated_bytes_lost_total"] + p.Counters["flicker_input_missing_bytes_lost_total"] +
			p.Counters["flicker_input_partial_bytes_dropped_total"]
		if n > float64(r.AllowedLoss.DeletedWhileDownBytes) {
			out = append(out, fmt.Sprintf("pod %d counted %.0f bytes lost (truncated, missing, partial), more than the "+
				"%d bytes written to parts deleted while no pod was reading", p.ID, n, r.AllowedLoss.DeletedWhileDownBytes))
		}
	}
	return out
}

// flickerExitFenced is flicker's exit code when it finds another instance took its registry (cmd/flicker).
const flickerExitFenced = 3

// badExits says which pods ended in a way no fault explains: a stop by SIGTERM that did not exit 0, or an exit
// by itself other than a fenced one (exit 3) after a snapshot was overwritten with garbage.
func (r *report) badExits() []string {
	var out []string
	for _, p := range r.Pods {
		switch p.End {
		case endSIGTERM:
			if p.Exit != 0 {
				out = append(out, fmt.Sprintf("pod %d exited %d after SIGTERM, want 0", p.ID, p.Exit))
			}
		case endExited:
			if p.Exit != flickerExitFenced || !r.corruptedBefore(p.Ended) {
				out = append(out, fmt.Sprintf("pod %d exited by itself with code %d at %.1fs; only a holder "+
					"fenced after its snapshot was corrupted may (exit %d)", p.ID, p.Exit, p.Ended, flickerExitFenced))
			}
		}
	}
	return out
}

// corruptedBefore reports whether the latest snapshot was overwritten with garbage before at (seconds).
func (r *report) corruptedBefore(at float64) bool {
	for _, f := range r.FaultLog {
		if f.Kind == faultCorrupt && f.At <= at {
			return true
		}
	}
	return false
}

func (r *report) table() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	o := r.Outcome
	fmt.Fprintf(w, "seed\t%d\n", r.Seed)
	fmt.Fprintf(w, "faults for\t%s (run %.0fs)\n", r.Duration, r.Elapsed)
	fmt.Fprintf(w, "files\t%d (rotations: %s)\n", r.Files, mapString(r.Rotations))
	fmt.Fprintf(w, "lines written\t%d (%d events: %s; %d long lines of %d-byte pieces)\n", o.Lines, o.Written,
		mapString(o.WrittenBy), r.LongLines, r.MaxLine)
	for _, name := range outputNames {
		if _, ok := o.Deliveries[name]; !ok {
			continue
		}
		fmt.Fprintf(w, "delivered to %s\t%d events (%d deliveries)\n", name, o.Delivered[name], o.Deliveries[name])
		fmt.Fprintf(w, "duplicated at %s\t%d (%.3f%%), all in the window (%d sent again after a lost answer)\n", name,
			o.Duplicates[name], o.DuplicatePct[name], o.AfterLostReply[name])
	}
	fmt.Fprintf(w, "duplicates out of window\t%d\n", o.OutOfWindow)
	fmt.Fprintf(w, "lost\t%d\n", o.Lost)
	fmt.Fprintf(w, "allowed loss (rotations while down)\t%d events (%d bytes) in %d parts (%d bytes written to parts deleted while down)\n",
		r.AllowedLoss.Units, o.AllowedLostBytes, r.AllowedLoss.Parts, r.AllowedLoss.DeletedWhileDownBytes)
	fmt.Fprintf(w, "flicker's loss counters (all pods)\t%.0f truncated bytes lost, %.0f missing bytes lost, %.0f partial bytes dropped\n",
		r.AllowedLoss.FlickerTruncatedBytesLost, r.AllowedLoss.FlickerMissingBytesLost,
		r.AllowedLoss.FlickerPartialBytesDropped)
	fmt.Fprintf(w, "delivered, never written\t%d\n", o.Phantoms)
	fmt.Fprintf(w, "delivered by a fenced standby\t%d\n", o.FencedDeliveries)
	fmt.Fprintf(w, "long-line pieces (flicker's counter)\t%.0f\n", r.FlickerLongLinePieces)
	fmt.Fprintf(w, "pods\t%d; restarts: %s\n", len(r.Pods), mapString(r.Restarts))
	fmt.Fprintf(w, "exit codes\t%s\n", mapString(r.ExitCodes))
	fmt.Fprintf(w, "faults\t%s\n", mapString(r.Faults))
	fmt.Fprintf(w, "peak per process\tRSS %.1f MiB, %d fds, %d goroutines\n", r.Peak.RSSMiB, r.Peak.FDs, r.Peak.Goroutines)
	if sk := r.Soak; sk != nil {
		fmt.Fprintf(w, "soak\t%.0fs of pod %d through %d outages: goroutines %d -> %d, open fds %d -> %d %s\n", sk.Seconds,
			sk.Pod, sk.Faults, sk.GoroutinesStart, sk.GoroutinesEnd, sk.FDsStart, sk.FDsEnd, sk.Skipped)
	}
	w.Flush()
	fmt.Fprintf(&b, "\n%-4s %-26s %-8s %4s %8s %8s %8s %8s %-18s %6s %11s %5s %11s\n", "pod", "start", "end", "exit",
		"from", "to", "restored", "RSS MiB", "outputs", "fds", "fds 1st/last", "gor", "gor 1st/last")
	for _, p := range r.Pods {
		fmt.Fprintf(&b, "%-4d %-26s %-8s %4d %8.1f %8.1f %8.1f %8.1f %-18s %6d %5d/%-5d %5d %5d/%-5d\n", p.ID, p.Start, p.End,
			p.Exit, p.Started, p.Ended, p.Restored, p.Peak.RSSMiB, strings.Join(p.Outputs, ","), p.Peak.FDs, p.FDs[0],
			p.FDs[1], p.Peak.Goroutines, p.Goroutines[0], p.Goroutines[1])
	}
	for kind, samples := range o.Samples {
		fmt.Fprintf(&b, "\n%s (first %d):\n", kind, len(samples))
		for _, s := range samples {
			fmt.Fprintf(&b, "  %s\n", s)
		}
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "error: %s\n", e)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String()
}

func (r *report) write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	return nil
}

func mapString(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// secsSince is t in seconds since start, 0 for the zero time.
func secsSince(t, start time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return t.Sub(start).Seconds()
}
