package benchmarks

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestScrapeSumsEachMetricOverItsLabels(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`# HELP flicker_input_files_open Files the input holds open now.
# TYPE flicker_input_files_open gauge
flicker_input_files_open{input="a"} 300
flicker_input_files_open{input="b"} 200
flicker_pipeline_events_acknowledged_total 1.8501e+04
`))
	}))
	defer srv.Close()
	got, err := scrape(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	if got["flicker_input_files_open"] != 500 || got["flicker_pipeline_events_acknowledged_total"] != 18501 {
		t.Fatalf("scrape: %v; want files_open 500 (both inputs) and 18501 acknowledged", got)
	}
}

func TestOpenUnderCountsOnlyTheFilesUnderRoot(t *testing.T) {
	t.Parallel()
	root, other := t.TempDir(), t.TempDir()
	for i, dir := range []string{root, root, filepath.Join(root, "sub"), other} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(dir, string(rune('a'+i))+".log"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
	}
	// A sibling whose name starts with root's is not under it.
	f, err := os.Create(root + "-sibling.log")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if n := openUnder(os.Getpid(), root); n != 3 {
		t.Fatalf("openUnder counted %d descriptors under %s, want 3", n, root)
	}
}
