package telemetry_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/telemetry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start starts a server on a free local port and shuts it down at the end of the test.
func start(t *testing.T, opts telemetry.Options) *telemetry.Server {
	t.Helper()
	opts.Addr = "127.0.0.1:0"
	opts.Logger = zerolog.Nop()
	s, err := telemetry.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s
}

// get requests path without keep-alive, so no client connection outlives the test.
func get(s *telemetry.Server, path string) (int, string, error) {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + s.Addr() + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func scrape(t *testing.T, s *telemetry.Server) map[string]*dto.MetricFamily {
	t.Helper()
	code, body, err := get(s, "/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v\n%s", code, err, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return fams
}

// value returns the value of the sample of family name whose labels are exactly labels (name=value pairs).
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(want) {
			continue
		}
		for _, l := range m.GetLabel() {
			if want[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue()
		}
		t.Fatalf("%s has type %v", name, f.GetType())
	}
	t.Fatalf("no sample %s%v", name, labels)
	return 0
}

func TestMetricsReadTheFuncsOnEachScrape(t *testing.T) {
	var outEvents atomic.Uint64
	outEvents.Store(42)
	updated := time.Now().Add(-time.Hour)
	s := start(t, telemetry.Options{
		Pipeline: func() engine.Stats {
			return engine.Stats{EventsIn: 50, BytesIn: 5000, Invalid: 3, Acknowledged: 40, QueueEvents: 7,
				QueueBytes: 700, Outputs: []engine.OutputStats{
					{Name: "out", Events: outEvents.Load(), Bytes: 4200, Batches: 5, WriteErrors: 2, Retried: 9,
						Rejected: 4, DeadLettered: 3, Dropped: 1, Skipped: 6, Held: 2},
					{Name: "out.dead_letter", DeadLetterOf: "out", DeadLetterIn: 3},
				}}
		},
		Inputs: func() []telemetry.InputStats {
			return []telemetry.InputStats{{Name: "app", Type: "file", Events: 11, Bytes: 1100,
				LongLinePieces: 12, InvalidEncoding: 13, Truncations: 14, TruncatedBytesLost: 15, MissingBytesLost: 20,
				PartialBytesDropped: 16, Malformed: 19, FilesOpen: 17, FilesTracked: 18}}
		},
		Registry: func() (uint64, time.Time, bool) { return 99, updated, true },
	})

	fams := scrape(t, s)
	in := []string{"input", "app", "type", "file"}
	out := []string{"output", "out"}
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"flicker_input_events_total", in, 11},
		{"flicker_input_bytes_total", in, 1100},
		{"flicker_input_long_line_pieces_total", in, 12},
		{"flicker_input_invalid_encoding_total", in, 13},
		{"flicker_input_truncations_total", in, 14},
		{"flicker_input_truncated_bytes_lost_total", in, 15},
		{"flicker_input_partial_bytes_dropped_total", in, 16},
		{"flicker_input_missing_bytes_lost_total", in, 20},
		{"flicker_input_malformed_total", in, 19},
		{"flicker_input_files_open", in, 17},
		{"flicker_input_files_tracked", in, 18},
		{"flicker_pipeline_events_total", nil, 50},
		{"flicker_pipeline_bytes_total", nil, 5000},
		{"flicker_pipeline_events_invalid_total", nil, 3},
		{"flicker_pipeline_events_acknowledged_total", nil, 40},
		{"flicker_queue_events", nil, 7},
		{"flicker_queue_bytes", nil, 700},
		{"flicker_output_events_total", out, 42},
		{"flicker_output_bytes_total", out, 4200},
		{"flicker_output_batches_total", out, 5},
		{"flicker_output_write_errors_total", out, 2},
		{"flicker_output_events_retried_total", out, 9},
		{"flicker_output_events_rejected_total", out, 4},
		{"flicker_output_events_dead_lettered_total", out, 3},
		{"flicker_output_events_dropped_total", out, 1},
		{"flicker_output_events_skipped_total", out, 6},
		{"flicker_output_batches_held", out, 2},
		{"flicker_output_dead_letters_accepted_total", []string{"output", "out.dead_letter"}, 3},
		{"flicker_registry_seq", nil, 99},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := value(t, fams, tt.name, tt.labels...); got != tt.want {
				t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
			}
		})
	}
	// The age is computed at scrape time: at least the hour fed in, and not absurdly more.
	if age := value(t, fams, "flicker_registry_last_commit_age_seconds"); age < 3600 || age > 2*3600 {
		t.Errorf("registry age = %v, want about 3600", age)
	}
	for name, f := range fams {
		if strings.HasPrefix(name, "flicker_") && f.GetHelp() == "" {
			t.Errorf("%s has no help text", name)
		}
	}
	for _, name := range []string{"go_goroutines", "process_open_fds"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("standard metric %s missing", name)
		}
	}

	outEvents.Store(43)
	if got := value(t, scrape(t, s), "flicker_output_events_total", out...); got != 43 {
		t.Errorf("after change: flicker_output_events_total = %v, want 43", got)
	}
}

func TestMetricsWithoutSources(t *testing.T) {
	tests := []struct {
		name string
		opts telemetry.Options
	}{
		{"nil funcs", telemetry.Options{}},
		{"registry not ok", telemetry.Options{Registry: func() (uint64, time.Time, bool) {
			return 5, time.Now(), false
		}}},
		{"snapshot not ok", telemetry.Options{Snapshot: func() (telemetry.SnapshotStats, bool) {
			return telemetry.SnapshotStats{Uploads: 3}, false
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name := range scrape(t, start(t, tt.opts)) {
				if strings.HasPrefix(name, "flicker_") {
					t.Errorf("unexpected metric %s", name)
				}
			}
		})
	}
}

func TestHealthAndReadiness(t *testing.T) {
	s := start(t, telemetry.Options{})
	check := func(path string, wantCode int, wantBody string) {
		t.Helper()
		code, body, err := get(s, path)
		if err != nil || code != wantCode || strings.TrimSpace(body) != wantBody {
			t.Errorf("GET %s = %d %q %v, want %d %q", path, code, body, err, wantCode, wantBody)
		}
	}
	check("/healthz", http.StatusOK, "ok")
	check("/readyz", http.StatusServiceUnavailable, "not ready")
	s.SetReady(true)
	check("/readyz", http.StatusOK, "ready")
	check("/healthz", http.StatusOK, "ok")
	s.SetReady(false)
	check("/readyz", http.StatusServiceUnavailable, "not ready")
}

func TestNewValidatesAddr(t *testing.T) {
	tests := []struct {
		addr    string
		wantErr bool
	}{
		{":9090", false},
		{"127.0.0.1:0", false},
		{"[::1]:9090", false},
		{"", true},
		{"9090", true},
		{"localhost", true},
		{"::1:9090", true},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			s, err := telemetry.New(telemetry.Options{Addr: tt.addr})
			if (err != nil) != tt.wantErr {
				t.Fatalf("New(%q) error = %v, want error %v", tt.addr, err, tt.wantErr)
			}
			if err == nil && s.Addr() != tt.addr {
				t.Errorf("Addr before Start = %q, want %q", s.Addr(), tt.addr)
			}
		})
	}
}

func TestStartOnTakenPortFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := telemetry.New(telemetry.Options{Addr: ln.Addr().String(), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), "address already in use") ||
		!strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("Start on taken port: %v, want an 'address already in use' error naming the address", err)
	}
	if err := s.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown after failed Start: %v", err)
	}
}

func TestShutdownStopsServing(t *testing.T) {
	s, err := telemetry.New(telemetry.Options{Addr: "127.0.0.1:0", Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err == nil {
		t.Error("second Start succeeded")
	}
	if code, _, err := get(s, "/healthz"); err != nil || code != http.StatusOK {
		t.Fatalf("GET /healthz before Shutdown: %d %v", code, err)
	}
	s.SetReady(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, _, err := get(s, "/healthz"); err == nil {
		t.Error("GET /healthz after Shutdown succeeded")
	}
	goleak.VerifyNone(t) // Shutdown waited for the serving goroutines
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if err := s.Start(t.Context()); err == nil {
		t.Error("Start after Shutdown succeeded")
	}
}

func TestStartContextEndStopsServing(t *testing.T) {
	s, err := telemetry.New(telemetry.Options{Addr: "127.0.0.1:0", Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	s.SetReady(true)
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, _, err := get(s, "/healthz"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still serving 10s after the Start context ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := s.Shutdown(sctx); err != nil {
		t.Errorf("Shutdown after the context ended: %v", err)
	}
}

func TestSnapshotMetricsReadOnEachScrape(t *testing.T) {
	st := telemetry.SnapshotStats{LastUpload: time.Now().Add(-90 * time.Second), Seq: 41, Size: 2048,
		Duration: 250 * time.Millisecond, Uploads: 7, Failures: 3, ConsecutiveFailures: 2, LeaseHeld: true,
		LeaseUnconfirmed: true}
	var mu sync.Mutex
	s := start(t, telemetry.Options{Snapshot: func() (telemetry.SnapshotStats, bool) {
		mu.Lock()
		defer mu.Unlock()
		return st, true
	}})
	fams := scrape(t, s)
	if age := value(t, fams, "flicker_snapshot_last_success_age_seconds"); age < 90 || age > 3600 {
		t.Errorf("snapshot age %v, want about 90s", age)
	}
	for name, want := range map[string]float64{"flicker_snapshot_seq": 41, "flicker_snapshot_size_bytes": 2048,
		"flicker_snapshot_duration_seconds": 0.25, "flicker_snapshot_uploads_total": 7,
		"flicker_snapshot_failures_total": 3, "flicker_snapshot_consecutive_failures": 2, "flicker_lease_held": 1,
		"flicker_lease_unconfirmed": 1, "flicker_fenced": 0} {
		if got := value(t, fams, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	mu.Lock()
	st.Fenced, st.LeaseHeld, st.Uploads = true, false, 8
	mu.Unlock()
	fams = scrape(t, s)
	if value(t, fams, "flicker_fenced") != 1 || value(t, fams, "flicker_lease_held") != 0 ||
		value(t, fams, "flicker_snapshot_uploads_total") != 8 {
		t.Error("the second scrape did not read the new state")
	}
}

// flicker_kubernetes_metadata_missing_total is served for the kubernetes inputs with metadata: api only.
func TestKubernetesMetadataMissing(t *testing.T) {
	s := start(t, telemetry.Options{
		Inputs: func() []telemetry.InputStats {
			return []telemetry.InputStats{{Name: "pods", Type: "kubernetes", MetadataAPI: true, MetadataMissing: 7},
				{Name: "paths", Type: "kubernetes"}}
		},
	})
	fams := scrape(t, s)
	if got := value(t, fams, "flicker_kubernetes_metadata_missing_total", "input", "pods"); got != 7 {
		t.Errorf("flicker_kubernetes_metadata_missing_total{input=pods} = %v, want 7", got)
	}
	if n := len(fams["flicker_kubernetes_metadata_missing_total"].GetMetric()); n != 1 {
		t.Errorf("%d series of flicker_kubernetes_metadata_missing_total, want only the metadata: api input's", n)
	}
}

func TestS3RequestsReadOnEachScrape(t *testing.T) {
	var mu sync.Mutex
	counts := []telemetry.S3RequestCount{{Op: "PUT", KeyKind: "snapshot", N: 12}, {Op: "GET", KeyKind: "lease", N: 3}}
	s := start(t, telemetry.Options{S3Requests: func() []telemetry.S3RequestCount {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(counts)
	}})
	fams := scrape(t, s)
	if v := value(t, fams, "flicker_s3_requests_total", "op", "PUT", "key_kind", "snapshot"); v != 12 {
		t.Errorf("PUT snapshot = %v, want 12", v)
	}
	if v := value(t, fams, "flicker_s3_requests_total", "op", "GET", "key_kind", "lease"); v != 3 {
		t.Errorf("GET lease = %v, want 3", v)
	}
	mu.Lock()
	counts[0].N = 13
	mu.Unlock()
	if v := value(t, scrape(t, s), "flicker_s3_requests_total", "op", "PUT", "key_kind", "snapshot"); v != 13 {
		t.Errorf("the second scrape did not read the new count: %v", v)
	}
}
