package main_test

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flickerlog/flicker/internal/powercut"
)

// TestPowerCutLocalMode: in local mode the registry file and the file output are the durable state, so a power
// cut, which takes the unsynced writes with it and not only the process, must lose no line and re-send only what
// the durable registry had not committed. Both files live on a powercut mount (the input does not); flicker is
// killed with -9 while lines flow, the power is cut, and a second flicker runs on what the disk kept. A build that
// commits the registry without fsync never makes a position durable; an output that acknowledges before its fsync
// loses the lines the durable registry has committed past.
func TestPowerCutLocalMode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() // the input and the config: they survive the cut
	disk := t.TempDir()
	fsys := powercut.Mount(t, disk)
	app := filepath.Join(dir, "app.log")
	out := filepath.Join(disk, "out.jsonl")
	reg := filepath.Join(disk, "registry.db")
	cfg := writeConfig(t, dir, filepath.Join(dir, "*.log"), out, "")
	lineLen := int64(len(line("cut", 0)) + 1)

	// The writer appends about 5,000 lines a second until the cut is over, so that the kill lands while lines flow.
	const maxLines = 200_000
	var written atomic.Int64
	stopc := make(chan struct{})
	writerDone := make(chan error, 1)
	go func() {
		for i := 0; i < maxLines; i += 100 {
			select {
			case <-stopc:
				writerDone <- nil
				return
			default:
			}
			if err := writeLines(app, "cut", i, i+100); err != nil {
				writerDone <- err
				return
			}
			written.Store(int64(i + 100))
			time.Sleep(20 * time.Millisecond)
		}
		writerDone <- nil
	}()
	var stopOnce sync.Once
	var writerErr error
	stopWriter := func() error {
		stopOnce.Do(func() {
			close(stopc)
			writerErr = <-writerDone
		})
		return writerErr
	}
	t.Cleanup(func() { _ = stopWriter() })

	p := start(t, dir, "-c", cfg, "--registry-file", reg, "--commit-interval", "20ms")
	// Commits reach the disk: the registry a cut now would leave has moved on. Exporting it starts a process, so
	// wait for lines first. Until the first commit is durable there may be no registry yet, or bbolt's empty file.
	waitFor(t, 30*time.Second, "the first lines", func() bool { return outputLines(t, out) >= 500 }, p)
	durable, copyPath := exportedRegistry{}, filepath.Join(t.TempDir(), "registry.db")
	var exportErr error
	t.Cleanup(func() {
		if t.Failed() && exportErr != nil {
			t.Logf("the durable registry's last export: %v", exportErr)
		}
	})
	waitFor(t, 30*time.Second, "commits in the durable registry", func() bool {
		b, ok := fsys.Durable("registry.db")
		if !ok {
			exportErr = errors.New("no durable registry file")
			return false
		}
		if exportErr = os.WriteFile(copyPath, b, 0o600); exportErr != nil {
			t.Fatal(exportErr)
		}
		durable, exportErr = exportRegistry(copyPath)
		return exportErr == nil && durable.Meta.Seq >= 5
	}, p)
	// More lines after that, so the cut falls among commits and output writes in flight.
	from := outputLines(t, out)
	waitFor(t, 30*time.Second, "lines flowing", func() bool { return outputLines(t, out) >= from+1000 }, p)
	if written.Load() >= maxLines {
		t.Fatal("the writer has finished: the kill would not land mid-stream")
	}
	p.kill()
	shippedAtKill := outputLines(t, out)
	fsys.Crash()

	// What the disk kept: a registry that opens (export fails on a corrupt one), and the output's synced lines.
	after, err := exportRegistry(reg)
	if err != nil {
		t.Fatalf("the registry after the cut: %v", err)
	}
	if after.Meta.Seq < durable.Meta.Seq {
		t.Fatalf("the registry went back to seq %d after the cut; seq %d was durable before it", after.Meta.Seq,
			durable.Meta.Seq)
	}
	committed := after.offset(app)
	if committed <= 0 || committed%lineLen != 0 {
		t.Fatalf("the durable registry's offset %d is not at a line end past the first line", committed)
	}
	kept := outputLines(t, out)
	if b, err := os.ReadFile(out); err == nil && len(b) > 0 && b[len(b)-1] != '\n' {
		kept++ // a line cut mid-write, which the file output ends with a newline when it reopens the file
	}
	if err := stopWriter(); err != nil {
		t.Fatal(err)
	}
	total := int(written.Load())
	if int64(total) <= committed/lineLen {
		t.Fatalf("%d lines written, %d committed: the kill did not land mid-stream", total, committed/lineLen)
	}

	// Flicker on the plain directory re-sends from the committed offset: once it has shipped that many more lines it
	// has caught up, and what is missing then is lost.
	p = start(t, dir, "-c", cfg, "--registry-file", reg, "--commit-interval", "20ms")
	resend := total - int(committed/lineLen)
	waitFor(t, 60*time.Second, "the re-sent lines", func() bool { return outputLines(t, out) >= kept+resend }, p)
	p.stop()

	final := countMessages(readOutput(t, out))
	for n := range total {
		msg := line("cut", n)
		switch c := final[msg]; {
		case c == 0:
			t.Fatalf("line %d was lost (the durable registry committed %d lines; %d of %d shipped lines kept)",
				n, committed/lineLen, kept, shippedAtKill)
		case c > 1 && int64(n) < committed/lineLen:
			t.Fatalf("line %d arrived %d times, but the durable registry had committed it (offset %d)", n, c,
				committed)
		}
	}
	dups := 0
	for _, c := range final {
		dups += c - 1
	}
	t.Logf("%d lines; at the kill %d shipped, durable seq %d before it; the cut kept %d output lines and %d "+
		"committed lines; %d duplicates", total, shippedAtKill, durable.Meta.Seq, kept, committed/lineLen, dups)
}
