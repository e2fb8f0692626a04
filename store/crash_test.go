package store_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/store"
)

const (
	crashChildEnv = "FLICKER_STORE_CRASH_CHILD"
	crashFiles    = 300 // records per commit: enough to span many pages, so a torn commit would show
)

// crashChild runs in a re-executed test binary: it commits all crashFiles records at offset i with one Flush per
// i, and prints "begin i" before and i once the Flush returned, until it is killed. Only Flush commits, so seq == i after each commit.
func crashChild(path string) int {
	db, err := store.Open(path, store.Options{CommitInterval: time.Hour, LockTimeout: 10 * time.Second},
		zerolog.New(os.Stderr))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	start := int64(db.Meta().Seq)
	pad := strings.Repeat("x", 100)
	for i := start + 1; i < start+1_000_000; i++ {
		for j := range crashFiles {
			db.PutFile(store.FileRecord{
				Input: "crash", Inode: uint64(j), Offset: i, Path: fmt.Sprintf("/log/%d/%s", j, pad),
				Fingerprint: [32]byte{byte(i)}, FingerprintLen: int(i % 1024),
			})
		}
		fmt.Println("begin", i)
		if err := db.Flush(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		fmt.Println(i)
	}
	return 0
}

// TestCrashSafety kills a committing process with SIGKILL, several times over the same file, and checks that the
// registry opens, passes Tx.Check and holds exactly one committed state, no older than the last acknowledged one.
func TestCrashSafety(t *testing.T) {
	path := tempPath(t)
	var acked int64
	for round := range 8 {
		lastAck, duringCommit := runAndKill(t, path, 2+round*3)
		acked = max(acked, lastAck)

		db := openT(t, path, quiet)
		if err := db.Check(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		seq := db.Meta().Seq
		recs, err := db.Files("crash")
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if int64(seq) < acked {
			t.Fatalf("round %d: seq %d is older than the acknowledged commit %d", round, seq, acked)
		}
		if len(recs) != crashFiles {
			t.Fatalf("round %d: %d records, want %d", round, len(recs), crashFiles)
		}
		for _, r := range recs {
			if r.Offset != int64(seq) || r.Fingerprint[0] != byte(seq) {
				t.Fatalf("round %d: torn state: seq %d but inode %d has offset %d", round, seq, r.Inode, r.Offset)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: killed after ack %d (during a commit: %v), reopened at seq %d", round, lastAck, duringCommit,
			seq)
	}
}

// runAndKill starts the child on path, waits for it to acknowledge acks commits, kills it at a random moment of
// the next ones and returns the last commit it acknowledged and whether it was inside a commit when killed.
func runAndKill(t *testing.T, path string, acks int) (lastAck int64, duringCommit bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan int64)
	var inCommit atomic.Bool // the last line read was "begin": the kill landed during a commit
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "begin ") {
				inCommit.Store(true)
				continue
			}
			n, err := strconv.ParseInt(sc.Text(), 10, 64)
			if err == nil {
				inCommit.Store(false)
				lines <- n
			}
		}
	}()
	var last int64
	seen := 0
	timeout := time.After(60 * time.Second)
	killed := false
	for !killed {
		select {
		case n, ok := <-lines:
			if !ok {
				_ = cmd.Wait()
				t.Fatalf("child exited early: %s", stderr.String())
			}
			last, seen = n, seen+1
			if seen >= acks {
				// Land the kill somewhere inside the following commits.
				time.Sleep(time.Duration(rand.IntN(20000)) * time.Microsecond)
				_ = cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			}
		case <-timeout:
			_ = cmd.Process.Kill()
			<-readerDone
			_ = cmd.Wait()
			t.Fatalf("child acknowledged %d commits in 60s: %s", seen, stderr.String())
		}
	}
	for n := range lines { // acknowledgements written before the kill count too
		last = n
	}
	<-readerDone
	_ = cmd.Wait()
	return last, inCommit.Load()
}
