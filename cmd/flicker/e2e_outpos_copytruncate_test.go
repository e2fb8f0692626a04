package main_test

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHealthyOutputNothingAgainAfterCopytruncate (found by the chaos harness, benchmarks/chaos): the log is
// copied and truncated (logrotate's copytruncate) while one output is down, so the stream goes on in the copy, a
// file with another identity. After a SIGTERM and a restart with both outputs up, the healthy output receives
// nothing again: its position, kept while the other output was down, must be found under the copy's identity.
// Before, it was left under the truncated file's, and the healthy output received the whole file again.
func TestHealthyOutputNothingAgainAfterCopytruncate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := healthyKinds[0].setup(t, dir) // the file output
	args, down, failing := outposSetup(t, dir, h)
	p := startStdout(t, dir, h.stdout, h.env, args...)
	waitFor(t, time.Minute, "the healthy output to receive every line while the other fails", func() bool {
		return sumCounts(h.received()) >= outposTotal && down.Requests() > 0
	}, p)
	copyTruncate(t, h.logPath) // app.log.1: not matched by the *.log glob
	waitFor(t, time.Minute, "flicker to follow the copy", func() bool {
		return strings.Contains(p.logs(), "file truncated after it was copied")
	}, p)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(time.Minute); code != 0 {
		t.Fatalf("exit %d after SIGTERM; logs:\n%s", code, p.logs())
	}
	logs := restartOutpos(t, dir, h, args, failing)
	checkReceived(t, "file", h.received(), 1, down, logs)
}

// TestHealthyOutputNothingAgainAfterCopytruncateWhileDown (found by the chaos harness): the same, but the log is
// copied and truncated while flicker is stopped, so the restart finds the copy from the registry and reads it on
// from the committed offset. The healthy output's position, stored under the truncated file's stream, must move
// to the copy's; before, the healthy output received every line again.
func TestHealthyOutputNothingAgainAfterCopytruncateWhileDown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := healthyKinds[0].setup(t, dir) // the file output
	args, down, failing := outposSetup(t, dir, h)
	runOutposFirst(t, dir, h, args, down)
	copyTruncate(t, h.logPath) // app.log.1: not matched by the *.log glob
	logs := restartOutpos(t, dir, h, args, failing)
	if !strings.Contains(logs, "file truncated after it was copied") {
		t.Fatalf("the restart did not follow the copy; logs:\n%s", logs)
	}
	checkReceived(t, "file", h.received(), 1, down, logs)
}
