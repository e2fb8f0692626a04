package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the flicker binary built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "flicker-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "flicker")
	build := exec.Command("go", "build", "-race", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build flicker:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running flicker.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr *lockedWriter
	done   chan error
}

// start runs the binary with args in dir; its stderr (the logs) is kept for failure messages.
func start(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	return startEnv(t, dir, nil, args...)
}

// startEnv is start with env added to the test's environment.
func startEnv(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	return startStdout(t, dir, os.Stdout, env, args...)
}

// startStdout is startEnv with the child's stdout (the stdout output) going to stdout.
func startStdout(t *testing.T, dir string, stdout io.Writer, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdout = stdout
	return startCmd(t, dir, cmd)
}

// startCmd starts cmd (the binary, or a wrapper that runs it) in dir.
func startCmd(t *testing.T, dir string, cmd *exec.Cmd) *proc {
	t.Helper()
	cmd.Dir = dir
	p := &proc{t: t, cmd: cmd, stderr: &lockedWriter{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if cmd.Stdout == nil {
		cmd.Stdout = os.Stdout
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start flicker: %v", err)
	}
	go func() { p.done <- cmd.Wait() }()
	// Registered first, so it runs last: after the cleanup below has ended the process.
	t.Cleanup(func() { checkLogKeys(t, p.stderr.String()) })
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("flicker did not exit within %s; logs:\n%s", timeout, p.logs())
	}
	return p.cmd.ProcessState.ExitCode()
}

// stop sends SIGTERM and expects a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(60 * time.Second); code != 0 {
		p.t.Fatalf("flicker exited %d after SIGTERM; logs:\n%s", code, p.logs())
	}
}

// kill sends SIGKILL: a crash.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	p.wait(30 * time.Second)
}

func (p *proc) logs() string {
	s := p.stderr.String()
	if len(s) > 8000 {
		s = "...\n" + s[len(s)-8000:]
	}
	return s
}

// lockedWriter lets the test read what the child writes while it runs.
type lockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// shipped is one event read back from the file output.
type shipped struct {
	Timestamp string `json:"@timestamp"`
	Message   string `json:"message"`
	ID        string `json:"id"`
	Log       struct {
		File struct {
			Path string `json:"path"`
		} `json:"file"`
		Offset int64 `json:"offset"`
	} `json:"log"`
}

// readOutput parses every complete line of the file output at path.
func readOutput(t *testing.T, path string) []shipped { return readEvents[shipped](t, path) }

// readEvents decodes every complete line of the file output at path into a T. Two kinds of line are skipped, both
// left by a crash: the unterminated last line (cut mid-write), and a line that is the beginning of an event and
// nothing else (cut mid-write, then ended by the newline the file output writes when it reopens a file whose last
// line is incomplete). Any other line that is not an event fails the test: interleaved or garbled writes are bugs.
func readEvents[T any](t *testing.T, path string) []T {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	for n := 1; ; n++ {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return out // b is empty, or the unterminated last line
		}
		var ev T
		err := json.Unmarshal(b[:i], &ev)
		var syntax *json.SyntaxError
		switch {
		case err == nil:
			out = append(out, ev)
		case errors.As(err, &syntax) && syntax.Offset == int64(i) && bytes.HasPrefix(b, []byte(`{"`)):
			// The beginning of an event, cut.
		default:
			t.Fatalf("%s line %d is not an event (%v): %.200q", path, n, err, b[:i])
		}
		b = b[i+1:]
	}
}

// outputLines counts the complete lines of the file output at path without decoding them: cheap enough to poll
// while hundreds of thousands of lines arrive (readOutput decodes each one, which under -race competes with the
// binary for the CPU).
func outputLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte{'\n'})
}

// countMessages maps each message to how often it arrived.
func countMessages(evs []shipped) map[string]int {
	counts := make(map[string]int, len(evs))
	for _, ev := range evs {
		counts[ev.Message]++
	}
	return counts
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool, p *proc) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			logs := ""
			if p != nil {
				logs = p.logs()
			}
			t.Fatalf("timed out after %s waiting for %s; %s; logs:\n%s", timeout, what, diagnose(), logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// diagnose, when set by a test, describes what has arrived so far for a timeout's message.
var diagnose = func() string { return "" }

// prefixCounts counts arrived messages by their first word, the prefix appendLines writes.
func prefixCounts(evs []shipped) map[string]int {
	c := map[string]int{}
	for _, ev := range evs {
		prefix, _, _ := strings.Cut(ev.Message, " ")
		c[prefix]++
	}
	return c
}

// writeConfig writes a config shipping logDir/*.log to outPath with short intervals.
func writeConfig(t *testing.T, dir, logGlob, outPath string, extra string) string {
	t.Helper()
	cfg := fmt.Sprintf(`log_files:
  - name: app
    paths: [%q]
    scan_interval: 50ms
    close_inactive: 2s
%s
outputs:
  - type: file
    name: out
    path: %q
batch:
  max_wait: 20ms
`, logGlob, extra, outPath)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// appendLines appends lines "<prefix> <n>" for n in [from, to) to path.
func appendLines(t *testing.T, path, prefix string, from, to int) {
	t.Helper()
	if err := writeLines(path, prefix, from, to); err != nil {
		t.Fatal(err)
	}
}

// writeLines is appendLines for goroutines other than the test's.
func writeLines(path, prefix string, from, to int) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<16)
	for i := from; i < to; i++ {
		fmt.Fprintf(w, "%s %08d %s\n", prefix, i, strings.Repeat("x", 100))
	}
	return w.Flush()
}

// line is what appendLines writes for n, without the newline.
func line(prefix string, n int) string {
	return fmt.Sprintf("%s %08d %s", prefix, n, strings.Repeat("x", 100))
}

// exportedRegistry is what `flicker registry export` says of a registry: its seq and each file's committed offset.
type exportedRegistry struct {
	Meta struct {
		Seq int `json:"seq"`
	} `json:"meta"`
	Files []struct {
		Path   string `json:"path"`
		Offset int64  `json:"offset"`
	} `json:"files"`
}

// exportRegistry runs `flicker registry export` on the local registry at path.
func exportRegistry(path string) (exportedRegistry, error) {
	var doc exportedRegistry
	out, err := exec.Command(binary, "registry", "export", "--registry-file", path).Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return doc, fmt.Errorf("registry export: %w: %s", err, exit.Stderr)
		}
		return doc, fmt.Errorf("registry export: %w", err)
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return doc, fmt.Errorf("registry export is not JSON: %w: %s", err, out)
	}
	return doc, nil
}

// offset is the committed offset of the file at path, 0 without a record.
func (r exportedRegistry) offset(path string) int64 {
	for _, f := range r.Files {
		if f.Path == path {
			return f.Offset
		}
	}
	return 0
}

// checkLogKeys fails the test for every JSON log line in logs that holds a key twice in one object: JSON
// consumers reject such a line or keep only one of the values (zerolog's With() appends a key, never replaces
// it). A JSON log line is one zerolog wrote: it begins with its level. Other lines (console format, the race
// detector's reports, a command's output mixed in) are skipped, and so is a last line without its newline,
// cut by a kill.
func checkLogKeys(t *testing.T, logs string) {
	t.Helper()
	lines := strings.SplitAfter(logs, "\n")
	for n, l := range lines {
		if !strings.HasPrefix(l, `{"level":`) || !strings.HasSuffix(l, "\n") {
			continue
		}
		dups, err := duplicateKeys([]byte(l))
		if err != nil {
			t.Errorf("log line %d is not a JSON object (%v): %s", n+1, err, l)
			continue
		}
		for _, k := range dups {
			t.Errorf("log line %d has the key %q twice: %s", n+1, k, l)
		}
	}
}

// duplicateKeys walks the tokens of the one JSON value in b and returns every key found twice in the same
// object, at any depth, as a dotted path ("a.b" for key b twice in the object under a).
func duplicateKeys(b []byte) ([]string, error) {
	// object is an open object or array: its keys so far (nil for an array), and whether a key comes next.
	type object struct {
		path    string
		keys    map[string]bool
		wantKey bool
		lastKey string
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var stack []*object
	var dups []string
	values := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return dups, err
		}
		var top *object
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top == nil {
			if values++; values > 1 {
				return dups, errors.New("more than one JSON value")
			}
		}
		if top != nil && top.keys != nil && top.wantKey {
			if tok == json.Delim('}') {
				stack = stack[:len(stack)-1]
				continue
			}
			k := tok.(string) // the decoder returns an error for a key that is not a string
			if top.keys[k] {
				dups = append(dups, top.path+k)
			}
			top.keys[k], top.wantKey, top.lastKey = true, false, k
			continue
		}
		path := ""
		if top != nil && top.keys != nil {
			path = top.path + top.lastKey + "."
			top.wantKey = true
		} else if top != nil {
			path = top.path
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &object{path: path, keys: map[string]bool{}, wantKey: true})
		case json.Delim('['):
			stack = append(stack, &object{path: path})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
	if values == 0 || len(stack) > 0 {
		return dups, io.ErrUnexpectedEOF
	}
	return dups, nil
}
