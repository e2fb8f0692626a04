// Package miniotest runs a real MinIO server for tests: on 127.0.0.1, on a free port, with a fresh data
// folder and random root credentials, stopped when the test ends. It also hands out clients, buckets and
// credentials restricted to a key prefix, and can stop and restart the server to simulate an outage. Proxy
// adds the faults a healthy server cannot produce: stalls, connection resets and lost replies.
// HTTPProxy acts on requests: it can make the server look like a store that ignores conditional writes (GCS's
// S3 endpoint), and hold chosen requests while others pass.
//
// The server binary is installed by `make tools` (a pinned version, see Version); FLICKER_MINIO names another
// binary. A missing binary fails the test with the command to run, never skips it.
package miniotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Version is the MinIO server version `make tools` installs (MINIO_VERSION in the Makefile); keep them equal.
const Version = "v0.0.0-20260212201848-7aac2a2c5b7c"

// EnvBinary names an environment variable that overrides where the MinIO binary is.
const EnvBinary = "FLICKER_MINIO"

// Region is the region the server answers for and the clients sign with.
const Region = "us-east-1"

// StartTimeout bounds the wait for a started server to report a healthy cluster.
const StartTimeout = 30 * time.Second

// Server is a running (or stopped, between Stop and Restart) MinIO server owned by one test.
type Server struct {
	t              testing.TB
	bin            string
	dataDir        string
	certsDir       string
	logPath        string
	addr           string
	consoleAddr    string
	access, secret string

	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited and been waited for
}

// Binary returns the path of the MinIO server binary: $FLICKER_MINIO if set, else the one `make tools`
// installs. The error says how to install it.
func Binary() (string, error) {
	path := os.Getenv(EnvBinary)
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the MinIO server binary: %w; run `make tools` or set %s", err, EnvBinary)
		}
		path = filepath.Join(home, ".cache", "flicker-tools", "minio-"+Version)
	}
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("MinIO server binary %s: %w; run `make tools` to install it (or set %s to a minio binary)", path, err, EnvBinary)
	}
	if info.IsDir() || info.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("MinIO server binary %s is not an executable file; run `make tools` to install it (or set %s to a minio binary)", path, EnvBinary)
	}
	return path, nil
}

// Start runs a fresh MinIO server and stops it when the test ends. It fails the test (never skips) when
// the binary is missing or the server does not become healthy within StartTimeout.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatalf("miniotest: %v", err)
	}
	s := &Server{
		t:        t,
		bin:      bin,
		dataDir:  t.TempDir(),
		certsDir: t.TempDir(),
		access:   "root" + randomHex(t, 6),
		secret:   randomHex(t, 20),
	}
	s.logPath = filepath.Join(t.TempDir(), "minio.log")
	t.Cleanup(s.kill)

	// A free port can be taken between choosing it and MinIO binding it; try a few.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s.addr, s.consoleAddr = freeAddr(t), freeAddr(t)
		if lastErr = s.launch(); lastErr == nil {
			return s
		}
		s.kill()
	}
	t.Fatalf("miniotest: %v", lastErr)
	return nil
}

// Endpoint is "127.0.0.1:port", the form minio.New takes.
func (s *Server) Endpoint() string { return s.addr }

// URL is "http://127.0.0.1:port", the form AWS_ENDPOINT_URL takes.
func (s *Server) URL() string { return "http://" + s.addr }

// RootCredentials are the server's admin keys.
func (s *Server) RootCredentials() (access, secret string) { return s.access, s.secret }

// Client returns a client with the root credentials.
func (s *Server) Client(t testing.TB) *minio.Client {
	t.Helper()
	c, err := minio.New(s.addr, &minio.Options{
		Creds:  credentials.NewStaticV4(s.access, s.secret, ""),
		Region: Region,
	})
	if err != nil {
		t.Fatalf("miniotest: client: %v", err)
	}
	return c
}

// MakeBucket creates a bucket with the root credentials.
func (s *Server) MakeBucket(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	if err := s.Client(t).MakeBucket(ctx, name, minio.MakeBucketOptions{Region: Region}); err != nil {
		t.Fatalf("miniotest: make bucket %s: %v", name, err)
	}
}

// RestrictedCredentials returns temporary credentials (STS AssumeRole with a session policy) that may only
// s3:GetObject and s3:PutObject keys starting with prefix in bucket: the least privilege flicker needs. They
// last an hour.
func (s *Server) RestrictedCredentials(t testing.TB, bucket, prefix string) (access, secret, token string) {
	t.Helper()
	return s.PolicyCredentials(t, fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",`+
		`"Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::%s/%s*"]}]}`, bucket, prefix))
}

// PolicyCredentials returns temporary credentials (STS AssumeRole) limited by the session policy, a JSON IAM
// policy document. They last an hour.
func (s *Server) PolicyCredentials(t testing.TB, policy string) (access, secret, token string) {
	t.Helper()
	creds, err := credentials.NewSTSAssumeRole(s.URL(), credentials.STSAssumeRoleOptions{
		AccessKey:       s.access,
		SecretKey:       s.secret,
		Policy:          policy,
		Location:        Region,
		DurationSeconds: int(time.Hour / time.Second),
	})
	if err != nil {
		t.Fatalf("miniotest: assume role: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	v, err := creds.GetWithContext(&credentials.CredContext{Client: &http.Client{Timeout: StartTimeout}, Context: ctx})
	if err != nil {
		t.Fatalf("miniotest: assume role with policy %s: %v", policy, err)
	}
	return v.AccessKeyID, v.SecretAccessKey, v.SessionToken
}

// Stop kills the server (as a crash would) and waits for it to exit. Requests fail until Restart.
func (s *Server) Stop() { s.kill() }

// Restart starts the server again on the same port, data and credentials (stopping it first if it runs),
// and waits until it is healthy. Objects written before Stop are still there. A failure fails the test
// given to Start, so call it from that test's goroutine.
func (s *Server) Restart() {
	s.t.Helper()
	s.kill()
	if err := s.launch(); err != nil {
		s.t.Fatalf("miniotest: restart: %v", err)
	}
}

// launch starts the process and waits for a healthy cluster. On error the process may still run; kill it.
func (s *Server) launch() error {
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer logFile.Close() // the child holds its own descriptor

	cmd := exec.Command(s.bin, "server", s.dataDir,
		"--address", s.addr, "--console-address", s.consoleAddr, "--certs-dir", s.certsDir, "--quiet")
	cmd.Env = append(withoutMinioEnv(os.Environ()),
		"MINIO_ROOT_USER="+s.access,
		"MINIO_ROOT_PASSWORD="+s.secret,
		"MINIO_CI_CD=1",
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_REGION="+Region,
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	s.cmd, s.done = cmd, done
	go func() {
		_ = cmd.Wait() // a killed server exits non-zero; that is the normal end
		close(done)
	}()
	if err := s.waitHealthy(); err != nil {
		return fmt.Errorf("%w\n--- minio log (%s) ---\n%s", err, s.logPath, tail(s.logPath, 4000))
	}
	return nil
}

func (s *Server) waitHealthy() error {
	client := &http.Client{Timeout: time.Second}
	url := s.URL() + "/minio/health/cluster" // /live and /ready answer 200 before the object layer is up
	deadline := time.Now().Add(StartTimeout)
	for {
		select {
		case <-s.done:
			return fmt.Errorf("minio on %s exited during startup", s.addr)
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("minio on %s not healthy after %s (last: %v)", s.addr, StartTimeout, statusOrErr(resp, err))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the process this Server started (by its pid) and waits for it. Safe to call when stopped.
func (s *Server) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd, s.done = nil, nil
}

func statusOrErr(resp *http.Response, err error) any {
	if err != nil {
		return err
	}
	return resp.Status
}

func withoutMinioEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "MINIO_") {
			out = append(out, kv)
		}
	}
	return out
}

// freeAddr returns a 127.0.0.1 address whose port was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("miniotest: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("miniotest: random: %v", err)
	}
	return hex.EncodeToString(b)
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "(no log)"
		}
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
