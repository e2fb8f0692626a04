package benchmarks_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/benchmarks"
	"github.com/flickerlog/flicker/sources/container"
)

// plainLines returns the first n lines of the plain log, without their newlines.
func plainLines(t *testing.T, n int64) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plain.log")
	// The plain lines are at most 200 bytes: this size holds at least n of them.
	if _, err := benchmarks.GenerateLog(path, n*200); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(b), "\n")[:n]
}

// readRecords returns the lines of the files in order, and their total size.
func readRecords(t *testing.T, files []string) ([]string, int64) {
	t.Helper()
	var lines []string
	var size int64
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			size += int64(len(sc.Bytes())) + 1
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return lines, size
}

func TestGenerateDockerWrapsThePlainLines(t *testing.T) {
	root := t.TempDir()
	got, err := benchmarks.GenerateDocker(root, 3, 256<<10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Files) != 3 {
		t.Fatalf("%d files, want 3", len(got.Files))
	}
	for _, f := range got.Files {
		id := filepath.Base(filepath.Dir(f))
		if len(id) != 64 || filepath.Base(f) != id+"-json.log" || filepath.Dir(filepath.Dir(f)) != root {
			t.Fatalf("log %s is not <root>/<64-hex id>/<id>-json.log", f)
		}
		var cfg struct{ ID, Name string }
		b, err := os.ReadFile(filepath.Join(root, id, "config.v2.json"))
		if err == nil {
			err = json.Unmarshal(b, &cfg)
		}
		if err != nil || cfg.ID != id || !strings.HasPrefix(cfg.Name, "/bench-") {
			t.Fatalf("config.v2.json of %s: %+v, %v", id, cfg, err)
		}
		if name := container.DockerName(f); name != cfg.Name[1:] {
			t.Fatalf("the input names %s %q, want %q", f, name, cfg.Name[1:])
		}
	}
	records, size := readRecords(t, got.Files)
	if size != got.Bytes || int64(len(records)) != got.Messages {
		t.Fatalf("files hold %d records in %d bytes, generator said %d in %d", len(records), size, got.Messages, got.Bytes)
	}
	if size < 256<<10 || size > 256<<10+3*400 {
		t.Fatalf("size %d, want about 256 KiB", size)
	}
	want := plainLines(t, got.Messages)
	for i, r := range records {
		var rec struct{ Log, Stream, Time string }
		if err := json.Unmarshal([]byte(r), &rec); err != nil {
			t.Fatalf("record %d %q: %v", i, r, err)
		}
		if rec.Log != want[i]+"\n" || rec.Stream != "stdout" || rec.Time == "" {
			t.Fatalf("record %d is %+v, want log %q on stdout", i, rec, want[i]+"\n")
		}
	}
}

func TestGenerateCRIWrapsThePlainLines(t *testing.T) {
	root := t.TempDir()
	got, err := benchmarks.GenerateCRI(root, 2, 128<<10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Files) != 2 {
		t.Fatalf("%d files, want 2", len(got.Files))
	}
	for _, f := range got.Files {
		log, err := container.ParsePodLogPath(f)
		if err != nil || log.Namespace != "bench" || log.Container != "app" || log.RestartCount != 0 {
			t.Fatalf("%s: %+v, %v", f, log, err)
		}
	}
	records, size := readRecords(t, got.Files)
	if size != got.Bytes || int64(len(records)) != got.Messages {
		t.Fatalf("files hold %d records in %d bytes, generator said %d in %d", len(records), size, got.Messages, got.Bytes)
	}
	want := plainLines(t, got.Messages)
	for i, r := range records {
		rec, err := container.ParseCRI([]byte(r))
		if err != nil {
			t.Fatalf("record %d %q: %v", i, r, err)
		}
		if string(rec.Content) != want[i] || rec.Stream != container.StreamStdout || rec.Partial {
			t.Fatalf("record %d is %+v, want %q on stdout, F", i, rec, want[i])
		}
	}
}
