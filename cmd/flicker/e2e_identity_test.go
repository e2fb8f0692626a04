package main_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flickerlog/flicker/internal/mounttest"
	bolt "go.etcd.io/bbolt"
)

// mountExt4 mounts a fresh small ext4 filesystem (a loop device over an image file) at dir. ext4 hands a freed
// inode number to the next file created in the same directory.
func mountExt4(t *testing.T, dir string) {
	t.Helper()
	img := dir + ".img"
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 8<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", img).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mkfs.ext4: %v: %s", err, out)
		}
		t.Skipf("mkfs.ext4: %v: %s", err, out)
	}
	mounttest.Mount(t, "-o", "loop", img, dir)
}

func inodeOf(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// runOnce runs flicker --once with the config and registry and fails unless it exits 0.
func runOnce(t *testing.T, dir, cfg, reg string) {
	t.Helper()
	p := start(t, dir, "-c", cfg, "--registry-file", reg, "--once")
	if code := p.wait(60 * time.Second); code != 0 {
		t.Fatalf("flicker --once exited %d; logs:\n%s", code, p.logs())
	}
}

// TestSameInodeOnTwoFilesystems: two tmpfs mounts (two emptyDirs of one app) each hold an app.log with the same
// inode number and the same lines. Both files ship, with different event ids, and each keeps its own position.
func TestSameInodeOnTwoFilesystems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var paths []string
	for _, m := range []string{"m1", "m2"} {
		mnt := filepath.Join(dir, m)
		mounttest.Mount(t, "-t", "tmpfs", "none", mnt)
		app := filepath.Join(mnt, "app.log")
		appendLines(t, app, "same", 0, 500)
		paths = append(paths, app)
	}
	if a, b := inodeOf(t, paths[0]), inodeOf(t, paths[1]); a != b {
		t.Skipf("the two tmpfs files got inodes %d and %d: no collision to test on this kernel", a, b)
	}
	out := filepath.Join(dir, "out.jsonl")
	cfg := writeConfig(t, dir, filepath.Join(dir, "m*", "app.log"), out, "")
	reg := filepath.Join(dir, "registry.db")
	runOnce(t, dir, cfg, reg)

	evs := readOutput(t, out)
	perPath, ids := map[string]int{}, map[string]bool{}
	for _, ev := range evs {
		perPath[ev.Log.File.Path]++
		ids[ev.ID] = true
	}
	if len(evs) != 1000 || perPath[paths[0]] != 500 || perPath[paths[1]] != 500 {
		t.Fatalf("shipped %d events, per file %v; want 500 from each of %v", len(evs), perPath, paths)
	}
	if len(ids) != 1000 {
		t.Fatalf("%d distinct ids for 1000 events: the two files share ids", len(ids))
	}

	// Each file resumes at its own position.
	appendLines(t, paths[1], "more", 0, 10)
	if err := os.Remove(out); err != nil {
		t.Fatal(err)
	}
	runOnce(t, dir, cfg, reg)
	evs = readOutput(t, out)
	if len(evs) != 10 || evs[0].Log.File.Path != paths[1] || evs[0].Message != line("more", 0) {
		t.Fatalf("second run shipped %d events (first %+v), want the 10 appended to %s", len(evs), evs, paths[1])
	}
}

// TestInodeReusedWhileStopped: while flicker is stopped, its file is deleted and a new one created on the same
// inode number with the same first KiB (and more lines). The new file has another birth time: all of its lines
// ship, none is skipped as already read.
func TestInodeReusedWhileStopped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mnt := filepath.Join(dir, "fs")
	mountExt4(t, mnt)
	app := filepath.Join(mnt, "app.log")
	appendLines(t, app, "first", 0, 50) // 5.7 KB: the fingerprint covers whole lines of the first file only
	out := filepath.Join(dir, "out.jsonl")
	cfg := writeConfig(t, dir, filepath.Join(mnt, "*.log"), out, "")
	reg := filepath.Join(dir, "registry.db")
	runOnce(t, dir, cfg, reg)
	if n := len(readOutput(t, out)); n != 50 {
		t.Fatalf("first run shipped %d lines, want 50", n)
	}
	inode := inodeOf(t, app)
	if err := os.Remove(app); err != nil {
		t.Fatal(err)
	}
	appendLines(t, app, "first", 0, 50)
	appendLines(t, app, "second", 0, 100)
	if got := inodeOf(t, app); got != inode {
		t.Skipf("ext4 gave the new file inode %d, not the freed %d: no reuse to test", got, inode)
	}
	runOnce(t, dir, cfg, reg)

	counts := countMessages(readOutput(t, out))
	for _, l := range lines("first", 0, 50) {
		if counts[l] != 2 {
			t.Fatalf("%.20s arrived %d times, want twice (once from each file)", l, counts[l])
		}
	}
	delete(counts, "")
	assertExactlyOnce(t, counts, lines("second", 0, 100))
	if n := len(readOutput(t, out)); n != 200 {
		t.Fatalf("shipped %d lines in all, want 50 + 150", n)
	}
}

// TestSymlinkTargetRotatedWhileStopped: the glob matches a symlink (kubelet's /var/log/containers) whose target
// lives in another directory, and the input sets follow_symlinks. flicker ships, is stopped; lines are appended, the target is renamed (rotation) and
// a new target created behind the link. After a restart every line of the old target ships exactly once, then the
// new target's.
func TestSymlinkTargetRotatedWhileStopped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	containers, pods := filepath.Join(dir, "containers"), filepath.Join(dir, "pods", "app")
	for _, d := range []string{containers, pods} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	target, link := filepath.Join(pods, "0.log"), filepath.Join(containers, "app.log")
	appendLines(t, target, "before", 0, 300)
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.jsonl")
	cfg := writeConfig(t, dir, filepath.Join(containers, "*.log"), out, "    follow_symlinks: true")
	reg := filepath.Join(dir, "registry.db")
	arrived := func(n int) func() bool { return func() bool { return outputLines(t, out) >= n } }

	p := start(t, dir, "-c", cfg, "--registry-file", reg)
	waitFor(t, 30*time.Second, "300 lines", arrived(300), p)
	p.stop()

	appendLines(t, target, "while-stopped", 0, 200)
	if err := os.Rename(target, target+".20261207-0630"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, target, "new", 0, 100)
	p = start(t, dir, "-c", cfg, "--registry-file", reg)
	waitFor(t, 30*time.Second, "600 lines", arrived(600), p)
	p.stop()

	evs := readOutput(t, out)
	want := append(append(lines("before", 0, 300), lines("while-stopped", 0, 200)...), lines("new", 0, 100)...)
	assertExactlyOnce(t, countMessages(evs), want)
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d", len(evs), len(want))
	}
	for _, ev := range evs {
		if strings.HasPrefix(ev.Message, "new ") && ev.Log.File.Path != link {
			t.Fatalf("new target's event has log.file.path %s, want the link %s", ev.Log.File.Path, link)
		}
	}
}

// writeV1Registry writes a format 1 registry (the prototype's: one bucket "registry", key input + 0x00 + path,
// JSON value) with one entry.
func writeV1Registry(t *testing.T, path, input, file string, offset int64, inode uint64) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("registry"))
		if err != nil {
			return err
		}
		v := fmt.Sprintf(`{"path":%q,"offset":%d,"inode":%d}`, file, offset, inode)
		return b.Put([]byte(input+"\x00"+file), []byte(v))
	})
	if err := errors.Join(err, bdb.Close()); err != nil {
		t.Fatal(err)
	}
}

// exportedFiles runs registry export and returns its files.
func exportedFiles(t *testing.T, reg string) []map[string]any {
	t.Helper()
	b, err := exec.Command(binary, "registry", "export", "--registry-file", reg).Output()
	if err != nil {
		t.Fatalf("registry export: %v", err)
	}
	var doc struct {
		Files []map[string]any `json:"files"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("export: %v\n%s", err, b)
	}
	return doc.Files
}

// TestFormat1RegistryResumes: a registry of format 1 (no fingerprints) is migrated on start; the file resumes at
// the stored offset (with start_position beginning or end), and the record gets its fingerprint and device.
func TestFormat1RegistryResumes(t *testing.T) {
	t.Parallel()
	for _, startPos := range []string{"beginning", "end"} {
		t.Run(startPos, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			app := filepath.Join(dir, "app.log")
			appendLines(t, app, "l", 0, 100)
			offset := int64(40 * (len(line("l", 0)) + 1))
			reg := filepath.Join(dir, "registry.db")
			writeV1Registry(t, reg, "app", app, offset, inodeOf(t, app))
			out := filepath.Join(dir, "out.jsonl")
			cfg := writeConfig(t, dir, filepath.Join(dir, "*.log"), out, "    start_position: "+startPos)
			runOnce(t, dir, cfg, reg)

			evs := readOutput(t, out)
			assertExactlyOnce(t, countMessages(evs), lines("l", 40, 100))
			if len(evs) != 60 {
				t.Fatalf("shipped %d lines, want the 60 after the stored offset", len(evs))
			}
			files := exportedFiles(t, reg)
			if len(files) != 1 || files[0]["fingerprint_len"] != 1024.0 || files[0]["device"] == 0.0 {
				t.Fatalf("record after the run: %v, want the fingerprint and device filled in", files)
			}
		})
	}
}

// TestImportFingerprints: registry import refuses a fingerprint no file can have, naming the record, and accepts
// an unknown one (fingerprint_len 0), which a run then matches by inode and offset.
func TestImportFingerprints(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	app := filepath.Join(dir, "app.log")
	appendLines(t, app, "l", 0, 100)
	offset := int64(30 * (len(line("l", 0)) + 1))
	inode := inodeOf(t, app)
	doc := func(fpLen int, fp string) string {
		return fmt.Sprintf(`{"format":"flicker-registry","version":1,"files":[{"input":"app","inode":%d,`+
			`"path":%q,"offset":%d,"size":%d,"fingerprint":%q,"fingerprint_len":%d}]}`, inode, app, offset, offset, fp,
			fpLen)
	}
	reg := filepath.Join(dir, "registry.db")
	importDoc := func(name, content string) ([]byte, int) {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(binary, "registry", "import", "--registry-file", reg, path)
		b, _ := cmd.CombinedOutput()
		return b, cmd.ProcessState.ExitCode()
	}

	for _, bad := range []struct{ name, doc, want string }{
		{"too long", doc(2000, strings.Repeat("ab", 32)), "fingerprint_len 2000 is above 1024"},
		{"length without hash", doc(500, ""), "fingerprint_len 500 without a fingerprint"},
	} {
		b, code := importDoc(bad.name+".json", bad.doc)
		if code != 2 || !strings.Contains(string(b), bad.want) || !strings.Contains(string(b), `input "app"`) ||
			!strings.Contains(string(b), app) {
			t.Fatalf("import of %s: exit %d, want 2 and an error naming the record and saying %q:\n%s", bad.name,
				code, bad.want, b)
		}
	}

	if b, code := importDoc("unknown.json", doc(0, "")); code != 0 {
		t.Fatalf("import with an unknown fingerprint: exit %d:\n%s", code, b)
	}
	out := filepath.Join(dir, "out.jsonl")
	cfg := writeConfig(t, dir, filepath.Join(dir, "*.log"), out, "")
	runOnce(t, dir, cfg, reg)
	evs := readOutput(t, out)
	assertExactlyOnce(t, countMessages(evs), lines("l", 30, 100))
	if len(evs) != 70 {
		t.Fatalf("shipped %d lines, want the 70 after the imported offset", len(evs))
	}
}

// TestNoBirthTimeLoggedOnce: on a filesystem without birth times (ramfs) flicker says so once per input at
// startup, not once per file, and still ships every file.
func TestNoBirthTimeLoggedOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mnt := filepath.Join(dir, "ram")
	mounttest.Mount(t, "-t", "ramfs", "none", mnt)
	for _, name := range []string{"a.log", "b.log", "c.log"} {
		appendLines(t, filepath.Join(mnt, name), name, 0, 10)
	}
	out := filepath.Join(dir, "out.jsonl")
	cfg := writeConfig(t, dir, filepath.Join(mnt, "*.log"), out, "")
	p := start(t, dir, "-c", cfg, "--registry-file", filepath.Join(dir, "registry.db"), "--once")
	if code := p.wait(60 * time.Second); code != 0 {
		t.Fatalf("flicker --once exited %d; logs:\n%s", code, p.logs())
	}
	if n := strings.Count(p.logs(), "does not report birth times"); n != 1 {
		t.Fatalf("the missing birth times were logged %d times, want once; logs:\n%s", n, p.logs())
	}
	if n := len(readOutput(t, out)); n != 30 {
		t.Fatalf("shipped %d lines, want 30", n)
	}
}
