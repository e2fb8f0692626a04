package main_test

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flickerlog/flicker/internal/miniotest"
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
