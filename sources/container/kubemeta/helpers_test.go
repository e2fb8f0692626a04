package kubemeta_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/flickerlog/flicker/internal/syncbuf"
	"github.com/flickerlog/flicker/sources/container/kubemeta"
	"github.com/flickerlog/flicker/sources/container/kubemeta/apiservertest"
)

// TestMain fails the package when a test leaves a goroutine behind: Run must stop everything it started.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	node  = "node-a"
	token = "right-token-0123456789"
)

// pod builds a pod on a node; owner is "Kind/name" or "".
func pod(namespace, name, nodeName string, labels map[string]string, owner string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace, Name: name, UID: types.UID("uid-" + name), Labels: labels,
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet", Operation: metav1.ManagedFieldsOperationUpdate}},
		},
		Spec:   corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{Name: "app", Image: "shop:1"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	if owner != "" {
		kind, ownerName, _ := cut(owner)
		yes := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: ownerName, UID: "owner-uid", Controller: &yes}}
	}
	return p
}

func cut(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// harness is a fake API server and a running watcher of it.
type harness struct {
	srv  *apiservertest.Server
	w    *kubemeta.Watcher
	logs *syncbuf.Buffer
}

// start starts a watcher of srv with cfg (Node, Host, CAFile and TokenFile filled in when empty, the token
// file holding tokenInFile); the test's cleanup stops it and fails the test unless Run returns nil promptly.
func start(t *testing.T, srv *apiservertest.Server, cfg kubemeta.Config, tokenInFile string) *harness {
	t.Helper()
	if cfg.Node == "" {
		cfg.Node = node
	}
	cfg.Host, cfg.CAFile = srv.URL, srv.CAFile
	if cfg.TokenFile == "" {
		cfg.TokenFile = filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(cfg.TokenFile, []byte(tokenInFile+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	logs := &syncbuf.Buffer{}
	w, err := kubemeta.New(cfg, zerolog.New(logs).Level(zerolog.DebugLevel))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		if t.Failed() || testing.Verbose() {
			t.Logf("watcher logs:\n%s", logs)
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return within 10s of its context's end")
		}
	})
	return &harness{srv: srv, w: w, logs: logs}
}

// eventually polls cond every 10ms until it holds, failing the test after 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var errTimeout = errors.New("timed out")

// podWithin calls Pod in a goroutine and returns its answer, or errTimeout after d.
func podWithin(w *kubemeta.Watcher, uid string, d time.Duration) (kubemeta.Pod, bool, error) {
	type answer struct {
		pod kubemeta.Pod
		ok  bool
	}
	c := make(chan answer, 1)
	go func() {
		p, ok := w.Pod(context.Background(), uid)
		c <- answer{p, ok}
	}()
	select {
	case a := <-c:
		return a.pod, a.ok, nil
	case <-time.After(d):
		return kubemeta.Pod{}, false, errTimeout
	}
}
