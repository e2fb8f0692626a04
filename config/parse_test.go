package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/config"
	sinkfile "github.com/flickerlog/flicker/sinks/file"
	"github.com/flickerlog/flicker/sources/file"
)

func TestLoadFullExample(t *testing.T) {
	c, err := config.Load(filepath.Join("testdata", "full.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	wantInput := file.Config{
		Name:          "app",
		Paths:         []string{"/var/log/app/*.log"},
		Exclude:       []string{"*.gz"},
		StartPosition: "beginning",
		MaxLineBytes:  1048576,
		Encoding:      "utf-8",
		Timezone:      "UTC",
		Multiline: &file.MultilineConfig{
			Pattern: "^[[:space:]]", Negate: false, Match: "after",
			MaxLines: 500, MaxBytes: 4194304, Timeout: 5 * time.Second,
		},
		Fields:              map[string]string{"env": "prod"},
		ScanInterval:        time.Second,
		CloseInactive:       5 * time.Minute,
		FlushPartialOnClose: false,
		CleanRemovedAfter:   24 * time.Hour,
		JoinTimeout:         5 * time.Second,
		MaxOpenFiles:        1024,
	}
	if len(c.LogFiles) != 1 || !reflect.DeepEqual(c.LogFiles[0], wantInput) {
		t.Errorf("log_files = %+v\nwant [%+v]", c.LogFiles, wantInput)
	}

	defaultRetry := config.Retry{Initial: config.DefaultRetryInitial, Max: config.DefaultRetryMax}
	if got := len(c.Outputs); got != 3 {
		t.Fatalf("%d outputs, want 3", got)
	}
	for i, want := range []struct{ typ, name string }{{"stdout", "stdout"}, {"file", "archive"}, {"discard", "discard"}} {
		o := c.Outputs[i]
		if o.Type != want.typ || o.Name != want.name || o.Retry != defaultRetry || o.DeadLetter != nil {
			t.Errorf("outputs[%d] = %+v, want type %s, name %s, default retry, no dead letter", i, o, want.typ, want.name)
		}
		if (o.File != nil) != (want.typ == "file") {
			t.Errorf("outputs[%d].File = %v, want set only for type file", i, o.File)
		}
	}
	if f := c.Outputs[1].File; f.Path != "/tmp/flicker-out.jsonl" || f.RotateBytes != 0 {
		t.Errorf("outputs[1].File = %+v, want path /tmp/flicker-out.jsonl, rotate_bytes 0", *f)
	}
	wantBatch := config.Batch{MaxEvents: 2048, MaxBytes: 4194304, MaxWait: 200 * time.Millisecond}
	wantQueue := config.Queue{MaxEvents: 65536, MaxBytes: 33554432}
	if c.Batch != wantBatch || c.Queue != wantQueue {
		t.Errorf("batch = %+v, queue = %+v; want %+v, %+v", c.Batch, c.Queue, wantBatch, wantQueue)
	}
	want := "testdata/full.yaml: 1 input (log_files: app), 3 outputs (stdout, file archive, discard)"
	if got := c.Summary(); got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
}

// The defaults of this package's keys are applied when the keys are absent; the sources' and sinks' own
// defaults are theirs to test, but SetDefaults must have been called.
func TestParseDefaults(t *testing.T) {
	c := mustParse(t, `
log_files:
  - name: app
    paths: [/var/log/app.log]
outputs:
  - type: stdout
  - type: discard
    dead_letter: {path: /tmp/dead.jsonl}
`)
	wantBatch := config.Batch{MaxEvents: config.DefaultBatchMaxEvents, MaxBytes: config.DefaultBatchMaxBytes,
		MaxWait: config.DefaultBatchMaxWait}
	wantQueue := config.Queue{MaxEvents: config.DefaultQueueMaxEvents, MaxBytes: config.DefaultQueueMaxBytes}
	if c.Batch != wantBatch || c.Queue != wantQueue {
		t.Errorf("batch = %+v, queue = %+v; want %+v, %+v", c.Batch, c.Queue, wantBatch, wantQueue)
	}
	if c.Batch.MaxBytes != 4194304 || c.Batch.MaxEvents != 2048 || c.Batch.MaxWait != 200*time.Millisecond ||
		c.Queue.MaxEvents != 65536 || c.Queue.MaxBytes != 33554432 {
		t.Errorf("default values changed: batch %+v, queue %+v", c.Batch, c.Queue)
	}
	if r := c.Outputs[0].Retry; r.Initial != 500*time.Millisecond || r.Max != 30*time.Second {
		t.Errorf("default retry = %+v, want 500ms, 30s", r)
	}
	wantDL := config.DeadLetter{Path: "/tmp/dead.jsonl", MaxBytes: 104857600, MaxFiles: 3}
	if dl := c.Outputs[1].DeadLetter; dl == nil || *dl != wantDL {
		t.Errorf("dead_letter = %+v, want %+v", dl, wantDL)
	}
	if got := c.LogFiles[0].ScanInterval; got != file.DefaultScanInterval {
		t.Errorf("log_files[0].scan_interval = %v, want the file source's default %v (SetDefaults not called?)",
			got, file.DefaultScanInterval)
	}
}

func TestParseDeadLettersAnchorsAndMerge(t *testing.T) {
	c, err := config.Load(filepath.Join("testdata", "dead_letters.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := []time.Duration{c.LogFiles[0].ScanInterval, c.LogFiles[1].ScanInterval}; got[0] != 250*time.Millisecond ||
		got[1] != 2*time.Second {
		t.Errorf("scan_interval = %v, want [250ms (merged) 2s (explicit key wins over the merge)]", got)
	}
	outs := c.Outputs
	if r := outs[0].Retry; r != (config.Retry{Initial: 100 * time.Millisecond, Max: 10 * time.Second}) {
		t.Errorf("outputs[0].retry = %+v", r)
	}
	if r := outs[0].Retry.Policy(); r.Initial != 100*time.Millisecond || r.Max != 10*time.Second {
		t.Errorf("outputs[0].retry.Policy() = %+v", r)
	}
	for i, want := range []config.DeadLetter{
		{Output: "rejects"},
		{Path: "/data/dead.jsonl", MaxBytes: config.DefaultDeadLetterMaxBytes, MaxFiles: config.DefaultDeadLetterMaxFiles},
		{Path: "/data/stdout-dead.jsonl", MaxBytes: 1024, MaxFiles: 7, Mode: "0640"},
	} {
		if dl := outs[i].DeadLetter; dl == nil || *dl != want {
			t.Errorf("outputs[%d].dead_letter = %+v, want %+v", i, dl, want)
		}
	}
	if got, want := outs[1].File, (&sinkfile.Config{Path: "/data/rejects.jsonl"}); got == nil || got.Path != want.Path {
		t.Errorf("outputs[1].File = %+v, want path %s", got, want.Path)
	}
	want := "testdata/dead_letters.yaml: 2 inputs (log_files: app, audit), 3 outputs (file primary, file rejects, stdout)"
	if got := c.Summary(); got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.yaml")
	_, err := config.Load(path)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("Load(absent) = %v, want an error wrapping os.ErrNotExist that names %s", err, path)
	}
}

func TestErrorsFormat(t *testing.T) {
	_, err := config.Parse([]byte("log_files:\n  - name: app\n    paths: [x]\n    exlude: [y]\n"), "config.yaml")
	var errs config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse error %T is not config.Errors: %v", err, err)
	}
	want := "config.yaml:4:5: log_files[0]: unknown key \"exlude\" (did you mean \"exclude\"?)\n" +
		"config.yaml: outputs: no outputs: add at least one entry under outputs (type: stdout, file, http, elasticsearch, s3, discard)"
	if err.Error() != want {
		t.Errorf("Error() =\n%s\nwant\n%s", err, want)
	}
	var first *config.Error
	if !errors.As(err, &first) || first.File != "config.yaml" || first.Line != 4 || first.Column != 5 ||
		first.Path != "log_files[0]" {
		t.Errorf("errors.As(*config.Error) = %+v, want the first error, at config.yaml:4:5 log_files[0]", first)
	}
}

func mustParse(t *testing.T, yaml string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return c
}
