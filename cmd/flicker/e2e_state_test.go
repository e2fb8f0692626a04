package main_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	bin "encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/internal/mounttest"
	"github.com/flickerlog/flicker/snapshot"
	"github.com/flickerlog/flicker/store"
)

// These tests run the binary in S3 mode against MinIO for what a user gets wrong at startup, and for the state
// dir: a stop during the startup retries, missing or wrong credentials, planted or corrupt local registries, and
// a snapshot that would expand beyond the disk.

// TestS3InterruptDuringStartupProbe: SIGINT while S3 does not answer the startup probe stops flicker at once,
// saying it was interrupted (not "S3 unreachable for" the whole --restore-timeout), with the exit code of a
// clean stop.
func TestS3InterruptDuringStartupProbe(t *testing.T) {
	t.Parallel()
	f := newS3Fixture(t)
	proxy := miniotest.NewProxy(t, f.srv.Endpoint())
	proxy.Pause()
	p := startEnv(t, f.dir, withEnv(f.env, "AWS_ENDPOINT_URL="+proxy.URL()), f.args("pod1", "--restore-timeout", "1m")...)
	// Each request hangs on the stalled network; cut them (the client's own retries too) until flicker logs a
	// retry of the probe, then let the next attempt hang.
	waitFor(t, time.Minute, "a logged retry", func() bool {
		proxy.ResetConnections()
		return strings.Contains(p.logs(), "retrying the conditional-write probe")
	}, p)
	waitFor(t, 30*time.Second, "the next attempt", func() bool { return proxy.Connections() > 0 }, p)
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	code := p.wait(30 * time.Second) // far below the 1m --restore-timeout
	logs := p.logs()
	if code != 0 {
		t.Fatalf("exit %d after SIGINT during the probe, want 0 (a clean stop):\n%s", code, logs)
	}
	if !strings.Contains(logs, "stopped by a signal before shipping began") ||
		!strings.Contains(logs, "the conditional-write probe: interrupted (stopped by interrupt)") {
		t.Fatalf("the stop does not say the probe was interrupted by SIGINT:\n%s", logs)
	}
	if strings.Contains(logs, "unreachable for") {
		t.Fatalf("an interrupted probe is reported as S3 unreachable:\n%s", logs)
	}
}

// TestS3MissingCredentialsFailAtOnce: with no credentials anywhere (empty environment, an empty HOME, instance
// metadata disabled), the start fails at once with exit 1, naming each link of the credential chain, instead
// of retrying for --restore-timeout and calling S3 unreachable.
func TestS3MissingCredentialsFailAtOnce(t *testing.T) {
	t.Parallel()
	f := newS3Fixture(t)
	home := t.TempDir()
	for _, lease := range []string{"auto", "off"} { // the probe, and the restore alone
		t.Run("lease "+lease, func(t *testing.T) {
			cmd := exec.Command(binary, f.args("pod-"+lease, "--once", "--restore-timeout", "5m", "--lease", lease)...)
			cmd.Env = []string{"HOME=" + home, "AWS_ENDPOINT_URL=" + f.srv.URL(), "AWS_REGION=" + miniotest.Region,
				"AWS_S3_FORCE_PATH_STYLE=true", "AWS_EC2_METADATA_DISABLED=true",
				// Should the variable above be ignored, the metadata lookup still stays on 127.0.0.1.
				"AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:1"}
			p := startCmd(t, f.dir, cmd)
			code := p.wait(30 * time.Second) // far below the 5m --restore-timeout
			logs := p.logs()
			if code != 1 {
				t.Fatalf("exit %d without credentials, want 1:\n%s", code, logs)
			}
			for _, want := range []string{"no S3 credentials found", "static keys: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set",
				`profile "default" in ~/.aws/credentials`, "IRSA: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN not set",
				"ECS/EC2 instance metadata: disabled by AWS_EC2_METADATA_DISABLED"} {
				if !strings.Contains(logs, want) {
					t.Errorf("the error does not say %q:\n%s", want, logs)
				}
			}
			if strings.Contains(logs, "unreachable") || strings.Contains(logs, "retrying") {
				t.Fatalf("missing credentials were retried or called unreachable:\n%s", logs)
			}
		})
	}
}

// TestS3WrongCredentialsNameTheAnswer: a wrong secret or an unknown access key fails the start at once with
// exit 1 and says what S3 answered, through the probe and through the restore alone (--lease=off).
func TestS3WrongCredentialsNameTheAnswer(t *testing.T) {
	t.Parallel()
	f := newS3Fixture(t)
	access, _ := f.srv.RootCredentials()
	tests := []struct {
		name, access, secret, want string
	}{
		{"wrong secret", access, "wrong-secret", "S3 answered 403 SignatureDoesNotMatch"},
		{"unknown access key", "AKIAUNKNOWN", "wrong-secret", "S3 answered 403 InvalidAccessKeyId"},
	}
	for _, tt := range tests {
		for _, lease := range []string{"auto", "off"} {
			t.Run(tt.name+" lease "+lease, func(t *testing.T) {
				env := withEnv(f.env, "AWS_ACCESS_KEY_ID="+tt.access, "AWS_SECRET_ACCESS_KEY="+tt.secret)
				p := startEnv(t, f.dir, env, f.args("pod", "--once", "--restore-timeout", "5m", "--lease", lease)...)
				code := p.wait(time.Minute)
				logs := p.logs()
				if code != 1 || !strings.Contains(logs, tt.want) {
					t.Fatalf("exit %d, want 1 and %q:\n%s", code, tt.want, logs)
				}
				if strings.Contains(logs, "unreachable") || strings.Contains(logs, "retrying") {
					t.Fatalf("a permanent answer was retried or called unreachable:\n%s", logs)
				}
			})
		}
	}
}

// otherUID owns what the tests plant as another local user (they run as root here and in CI).
const otherUID = 12345

// argsWithoutStateDir is f.args for an instance that uses the default state dir under its TMPDIR.
func (f *s3Fixture) argsWithoutStateDir(extra ...string) []string {
	args := f.args("unused", extra...)
	for i := range args {
		if args[i] == "--state-dir" {
			return append(args[:i:i], args[i+2:]...)
		}
	}
	f.t.Fatalf("no --state-dir in %q", args)
	return nil
}

// TestS3DefaultStateDir: the default state dir ($TMPDIR/flicker) is created 0700; one planted by another user
// is refused with exit 2 and an error naming the dir, its owner and mode, and --state-dir, before any lease is
// taken.
func TestS3DefaultStateDir(t *testing.T) {
	t.Parallel()
	f := newS3Fixture(t)
	appendLines(t, f.logPath, "a", 0, 10)

	tmp := t.TempDir()
	code, logs := f.runEnvOnce(append(f.env, "TMPDIR="+tmp), f.argsWithoutStateDir()...)
	if code != 0 {
		t.Fatalf("exit %d with a fresh default state dir:\n%s", code, logs)
	}
	info, err := os.Stat(filepath.Join(tmp, "flicker"))
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("default state dir: %v; want mode 0700", statMode(info, err))
	}
	f.exactlyOnce("a", 10)
	if err := f.client.RemoveObject(f.ctx(), s3Bucket, f.keys.Lease(), minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}

	planted := t.TempDir()
	dir := filepath.Join(planted, "flicker")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, otherUID, otherUID); err != nil {
		t.Fatalf("chown to uid %d (the tests run as root): %v", otherUID, err)
	}
	code, logs = f.runEnvOnce(append(f.env, "TMPDIR="+planted), f.argsWithoutStateDir()...)
	if code != 2 {
		t.Fatalf("exit %d with a default state dir owned by uid %d, want 2:\n%s", code, otherUID, logs)
	}
	for _, want := range []string{"default state dir", dir, "owned by another user (uid 12345", "mode drwxr-xr-x", "--state-dir"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the error does not say %q:\n%s", want, logs)
		}
	}
	if _, err := f.client.StatObject(f.ctx(), s3Bucket, f.keys.Lease(), minio.StatObjectOptions{}); err == nil {
		t.Fatal("the refused start took the lease")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("the refused start wrote into the planted dir: %v", entries)
	}
}

// runEnvOnce runs the binary with env added and args, waits for it and returns its exit code and logs.
func (f *s3Fixture) runEnvOnce(env []string, args ...string) (int, string) {
	f.t.Helper()
	p := startEnv(f.t, f.dir, env, append(args, "--once")...)
	code := p.wait(2 * time.Minute)
	return code, p.logs()
}

// stateFileOf is the one registry file an instance left in its state dir.
func stateFileOf(t *testing.T, dir string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.db"))
	if err != nil || len(files) != 1 {
		t.Fatalf("registry files in %s: %q, %v; want one", dir, files, err)
	}
	return files[0]
}

// TestS3DamagedLocalRegistryRestored: a registry left in the state dir that is corrupt, or cut short (the node
// crashed; S3 mode writes it without fsync), is discarded with a warning naming it, and the latest snapshot
// restored: nothing is shipped twice. Opening the truncated one used to kill flicker with SIGBUS at every start.
func TestS3DamagedLocalRegistryRestored(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		damage func(path string) error
		why    string // in the warning
	}{
		{"corrupt", func(path string) error {
			return os.WriteFile(path, bytes.Repeat([]byte("garbage "), 1024), 0o600)
		}, "it is corrupt"},
		{"truncated", func(path string) error {
			return os.Truncate(path, 2*4096) // the two meta pages only: every other page is gone
		}, "registry file is damaged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newS3Fixture(t)
			appendLines(t, f.logPath, "a", 0, 100)
			if code, logs := f.runOnce("pod1"); code != 0 {
				t.Fatalf("first run: exit %d:\n%s", code, logs)
			}
			path := stateFileOf(t, filepath.Join(f.dir, "state-pod1"))
			if err := tc.damage(path); err != nil {
				t.Fatal(err)
			}
			appendLines(t, f.logPath, "b", 0, 10)
			code, logs := f.runOnce("pod1")
			if code != 0 {
				t.Fatalf("exit %d with a %s local registry:\n%s", code, tc.name, logs)
			}
			warn := lineWith(logs, "discarded the local registry")
			if !strings.Contains(warn, `"level":"warn"`) || !strings.Contains(warn, `"path":"`+path+`"`) ||
				!strings.Contains(warn, tc.why) {
				t.Fatalf("no warning naming %s as %s:\n%s", path, tc.name, logs)
			}
			if !strings.Contains(logs, `"from":"latest"`) {
				t.Fatalf("did not restore the latest snapshot:\n%s", logs)
			}
			f.exactlyOnce("a", 100)
			f.exactlyOnce("b", 10)
		})
	}
}

// TestS3PlantedRegistryInExplicitStateDir: in a --state-dir any user may write (an emptyDir is root-owned
// 0777), a registry another user planted with a higher (epoch, seq) and offset 0 is not used: it is discarded
// with a warning and the latest snapshot restored, so nothing is shipped again.
func TestS3PlantedRegistryInExplicitStateDir(t *testing.T) {
	t.Parallel()
	f := newS3Fixture(t)
	appendLines(t, f.logPath, "a", 0, 100)
	if code, logs := f.runOnce("pod1"); code != 0 {
		t.Fatalf("first run: exit %d:\n%s", code, logs)
	}
	stateDir := filepath.Join(f.dir, "state-pod1")
	if err := os.Chmod(stateDir, 0o777); err != nil {
		t.Fatal(err)
	}
	path := stateFileOf(t, stateDir)
	plantRewound(t, path)
	if err := os.Chown(path, otherUID, otherUID); err != nil {
		t.Fatalf("chown to uid %d (the tests run as root): %v", otherUID, err)
	}
	code, logs := f.runOnce("pod1")
	if code != 0 {
		t.Fatalf("exit %d with a planted registry:\n%s", code, logs)
	}
	f.exactlyOnce("a", 100) // the planted offset 0 would ship every line again
	warn := lineWith(logs, "discarded the local registry")
	if !strings.Contains(warn, `"level":"warn"`) || !strings.Contains(warn, `"path":"`+path+`"`) ||
		!strings.Contains(warn, "owned by uid 12345") {
		t.Fatalf("no warning naming %s as another user's:\n%s", path, logs)
	}
	if !strings.Contains(logs, `"from":"latest"`) {
		t.Fatalf("did not restore the latest snapshot:\n%s", logs)
	}
}

// plantRewound makes the registry at path claim a much later state in which every file was read from offset 0.
func plantRewound(t *testing.T, path string) {
	t.Helper()
	db, err := store.Open(path, store.Options{NoSync: true}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	files, err := db.AllFiles()
	if err != nil || len(files) == 0 {
		t.Fatalf("registry files: %v %v", files, err)
	}
	for _, r := range files {
		r.Offset = 0
		db.PutFile(r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := db.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.SetEpoch(db.Meta().Epoch + 100); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// lineWith is the first line of logs containing s, or "".
func lineWith(logs, s string) string {
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// statMode describes a Stat result for a failure message.
func statMode(info os.FileInfo, err error) string {
	if err != nil {
		return err.Error()
	}
	return "mode " + info.Mode().String()
}

// TestS3SnapshotBombRefused: a valid-looking snapshot whose registry expands to 64 MiB (zeros: a few KiB stored)
// is refused by the startup restore and by `flicker restore --to` on a 4 MiB state dir, naming the key and both
// sizes, without filling the disk or leaving a partial file, and without falling back to an older state.
func TestS3SnapshotBombRefused(t *testing.T) {
	t.Parallel()
	const expanded = 64 << 20
	f := newS3Fixture(t)
	obj, h := snapshotBomb(t, expanded)
	if _, err := f.client.PutObject(f.ctx(), s3Bucket, f.keys.Latest, bytes.NewReader(obj), int64(len(obj)),
		minio.PutObjectOptions{UserMetadata: h.Metadata(), DisableMultipart: true}); err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(f.dir, "state-pod1")
	mounttest.Mount(t, "-t", "tmpfs", "-o", "size=4m", "none", stateDir)
	says := []string{"s3://" + s3Bucket + "/" + f.keys.Latest, fmt.Sprintf("the registry in the snapshot is %d bytes", expanded),
		"bytes free", stateDir}
	check := func(what string, code int, logs string) {
		t.Helper()
		if code != 1 {
			t.Fatalf("%s: exit %d, want 1:\n%s", what, code, logs)
		}
		for _, s := range says {
			if !strings.Contains(logs, s) {
				t.Errorf("%s: the error does not say %q:\n%s", what, s, logs)
			}
		}
		if strings.Contains(logs, "FALLBACK") || strings.Contains(logs, "retrying") {
			t.Fatalf("%s: a snapshot too large for the disk was retried or fell back:\n%s", what, logs)
		}
		if entries, _ := os.ReadDir(stateDir); len(entries) != 0 {
			t.Fatalf("%s: the refused restore left %v", what, entries)
		}
		var st syscall.Statfs_t
		if err := syscall.Statfs(stateDir, &st); err != nil || (st.Blocks-st.Bfree)*uint64(st.Bsize) > 2<<20 {
			t.Fatalf("%s: the 4 MiB state dir filled up: %d blocks of %d used, %v", what, st.Blocks-st.Bfree, st.Blocks, err)
		}
	}
	code, logs := f.runOnce("pod1")
	check("startup restore", code, logs)
	code, out := f.flicker("restore", "--registry-file", f.registry, "--to", filepath.Join(stateDir, "restored.db"))
	check("flicker restore --to", code, out)
}

// snapshotBomb is a snapshot object in the documented layout whose header and payload agree (sizes, sums, CRC)
// but whose payload is size zero bytes, compressed to a few KiB.
func snapshotBomb(t *testing.T, size int) ([]byte, snapshot.Header) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "registry.db"), store.Options{NoSync: true}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	var real bytes.Buffer
	_, err = snapshot.Write(&real, db, snapshot.HeaderInfo{WriterID: "w", Hostname: "h"}, t.TempDir())
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	b := real.Bytes()
	n := bin.BigEndian.Uint32(b[12:16])
	var header map[string]any
	dec := json.NewDecoder(bytes.NewReader(b[16 : 16+n]))
	dec.UseNumber()
	if err := dec.Decode(&header); err != nil {
		t.Fatal(err)
	}
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, size)
	payload := enc.EncodeAll(raw, nil)
	rawSum, paySum := sha256.Sum256(raw), sha256.Sum256(payload)
	header["raw_size"], header["raw_sha256"] = size, hex.EncodeToString(rawSum[:])
	header["payload_size"], header["payload_sha256"] = len(payload), hex.EncodeToString(paySum[:])
	js, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	obj := append([]byte(nil), b[:12]...) // magic and format version
	obj = bin.BigEndian.AppendUint32(obj, uint32(len(js)))
	obj = append(obj, js...)
	obj = bin.BigEndian.AppendUint32(obj, crc32.Checksum(js, crc32.MakeTable(crc32.Castagnoli)))
	obj = append(obj, payload...)
	h, err := snapshot.ReadHeader(bytes.NewReader(obj))
	if err != nil {
		t.Fatalf("the crafted object is not a valid snapshot header: %v", err)
	}
	return obj, h
}
