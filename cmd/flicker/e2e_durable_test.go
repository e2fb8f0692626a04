package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLocalRegistryCommitsAreSynced: in local mode the registry file is the durable state, so every commit must
// reach the disk before it counts. A crash test with SIGKILL cannot see this (the page cache survives the
// process), so the binary runs under strace and the syncs of the registry file are counted against its commits
// (the seq in the registry, which grows by one per commit). bbolt syncs twice per commit (data pages, then the
// meta page); a build that opened the local registry without fsync (bbolt's NoSync) makes none.
func TestLocalRegistryCommitsAreSynced(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Fatalf("strace is needed to count the registry's syncs: run make tools (%v)", err)
	}
	t.Parallel()
	dir := t.TempDir()
	logPath := filepath.Join(dir, "app.log")
	outPath := filepath.Join(dir, "out.jsonl")
	reg := filepath.Join(dir, "state", "registry.db") // a folder of its own: no other file's sync covers it
	cfg := writeConfig(t, dir, filepath.Join(dir, "*.log"), outPath, "")

	// The first run creates the registry: creating a bbolt file syncs it whatever the options, but only flicker
	// makes its directory entry durable (a power cut could otherwise leave no registry behind synced commits).
	appendLines(t, logPath, "a", 0, 10)
	createTrace := filepath.Join(dir, "create.strace")
	first := startCmd(t, dir, exec.Command(strace, "-f", "-y", "-qq", "-e", "trace=fsync,fdatasync", "-e",
		"signal=none", "-o", createTrace, binary, "-c", cfg, "--registry-file", reg, "--once"))
	if code := first.wait(60 * time.Second); code != 0 {
		t.Fatalf("first run exited %d; logs:\n%s", code, first.logs())
	}
	raw, err := os.ReadFile(createTrace)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Dir(reg), dir} { // the registry's folder, and the one holding the new folder
		if !regexp.MustCompile(`\bfsync\(\d+<` + regexp.QuoteMeta(d) + `>\)`).Match(raw) {
			t.Fatalf("creating the registry did not fsync directory %s; strace:\n%.4000s", d, raw)
		}
	}
	seqBefore := registrySeq(t, reg)

	trace := filepath.Join(dir, "strace.out") // outside the *.log glob
	p := startCmd(t, dir, exec.Command(strace, "-f", "-y", "-qq", "-e", "trace=fsync,fdatasync", "-e", "signal=none", "-o", trace,
		binary, "-c", cfg, "--registry-file", reg, "--commit-interval", "20ms"))
	const bursts, perBurst = 4, 200
	for b := range bursts {
		appendLines(t, logPath, "b", b*perBurst, (b+1)*perBurst)
		want := 10 + (b+1)*perBurst
		waitFor(t, 60*time.Second, "burst "+strconv.Itoa(b), func() bool { return outputLines(t, outPath) >= want }, p)
		time.Sleep(100 * time.Millisecond) // several commit intervals: this burst's positions are committed
	}
	// SIGTERM goes to flicker itself (strace's child): strace exits with it.
	pid := tracedChild(t, p.cmd.Process.Pid)
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(60 * time.Second); code != 0 {
		t.Fatalf("traced run exited %d; logs:\n%s", code, p.logs())
	}

	commits := registrySeq(t, reg) - seqBefore
	if commits < bursts {
		t.Fatalf("%d commits for %d bursts of lines: the test did not exercise commits", commits, bursts)
	}
	raw, err = os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	// A call another thread interrupts is logged in two parts, "fdatasync(5</path> <unfinished ...>" and
	// "<... fdatasync resumed>) = 0": count the first part.
	syncs := regexp.MustCompile(`\b(fsync|fdatasync)\(\d+<`+regexp.QuoteMeta(reg)+`>`).FindAllIndex(raw, -1)
	if len(syncs) < 2*commits {
		t.Fatalf("%d syncs of the registry for %d commits, want at least 2 per commit; strace:\n%.4000s",
			len(syncs), commits, raw)
	}
	evs := readOutput(t, outPath)
	if len(evs) != 10+bursts*perBurst {
		dups := 0
		for m, n := range countMessages(evs) {
			if n > 1 && dups < 5 {
				t.Logf("%dx %s", n, m)
				dups++
			}
		}
		t.Fatalf("%d events shipped, want %d; logs:\n%s", len(evs), 10+bursts*perBurst, p.logs())
	}
}

// registrySeq is the seq of the local registry at path, from `flicker registry export`.
func registrySeq(t *testing.T, path string) int {
	t.Helper()
	doc, err := exportRegistry(path)
	if err != nil {
		t.Fatal(err)
	}
	return doc.Meta.Seq
}

// tracedChild returns the pid of the process strace (pid) started.
func tracedChild(t *testing.T, pid int) int {
	t.Helper()
	var children string
	waitFor(t, 10*time.Second, "strace's child", func() bool {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid) + "/children")
		children = strings.TrimSpace(string(b))
		return children != ""
	}, nil)
	child, err := strconv.Atoi(strings.Fields(children)[0])
	if err != nil {
		t.Fatal(err)
	}
	return child
}
