package kubemeta_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/sources/container/kubemeta"
	"github.com/flickerlog/flicker/sources/container/kubemeta/apiservertest"
)

func TestPodPresentAtStart(t *testing.T) {
	t.Parallel()
	srv := apiservertest.Start(t, token)
	shop := pod("prod", "shop-5d9f8b7c6-x2k4p", node, map[string]string{"app": "shop", "pod-template-hash": "5d9f8b7c6"}, "ReplicaSet/shop-5d9f8b7c6")
	shop.Annotations = map[string]string{
		"team.example.com/owner":                           "payments",
		"kubectl.kubernetes.io/last-applied-configuration": `{"big":"json"}`,
		"other": "dropped",
	}
	srv.AddPod(shop)
	srv.AddPod(pod("prod", "elsewhere", "node-b", nil, ""))
	h := start(t, srv, kubemeta.Config{Annotations: []string{"team.example.com/owner"}, WaitTimeout: 5 * time.Second}, token)

	got, ok, err := podWithin(h.w, "uid-shop-5d9f8b7c6-x2k4p", 10*time.Second)
	if err != nil || !ok {
		t.Fatalf("Pod of a pod present at start: ok=%v err=%v; logs:\n%s", ok, err, h.logs)
	}
	want := kubemeta.Pod{
		UID: "uid-shop-5d9f8b7c6-x2k4p", Namespace: "prod", Name: "shop-5d9f8b7c6-x2k4p", NodeName: node,
		Labels:      map[string]string{"app": "shop", "pod-template-hash": "5d9f8b7c6"},
		Annotations: map[string]string{"team.example.com/owner": "payments"},
		Owner:       kubemeta.Owner{Kind: "Deployment", Name: "shop"},
		Controller:  kubemeta.Owner{Kind: "ReplicaSet", Name: "shop-5d9f8b7c6"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Pod = %+v\nwant %+v", got, want)
	}

	// A pod of another node is not listed: asking for it is a counted miss.
	eventually(t, "synced", h.w.Synced)
	if _, ok := h.w.Pod(context.Background(), "uid-elsewhere"); ok {
		t.Errorf("Pod of another node's pod: found")
	}
	if s := h.w.Stats(); s.Missing != 1 || s.Pods != 1 {
		t.Errorf("Stats = %+v, want 1 missing, 1 pod", s)
	}

	// The node's field selector is what the server got, on the list and on the watch.
	eventually(t, "a watch request", func() bool { _, watches := srv.Counts(); return watches > 0 })
	reqs := srv.Requests()
	for _, r := range reqs {
		if !strings.Contains(r, "fieldSelector=spec.nodeName%3D"+node) {
			t.Errorf("request %q lacks fieldSelector=spec.nodeName%%3D%s", r, node)
		}
	}
	if !strings.Contains(reqs[0], "/api/v1/pods?") || strings.Contains(reqs[0], "watch=") {
		t.Errorf("first request %q is not the list", reqs[0])
	}
}

func TestPodAddedLaterIsWaitedFor(t *testing.T) {
	t.Parallel()
	srv := apiservertest.Start(t, token)
	h := start(t, srv, kubemeta.Config{WaitTimeout: 8 * time.Second}, token)
	eventually(t, "synced", h.w.Synced)

	type answer struct {
		pod kubemeta.Pod
		ok  bool
	}
	c := make(chan answer, 1)
	go func() {
		p, ok := h.w.Pod(context.Background(), "uid-late")
		c <- answer{p, ok}
	}()
	eventually(t, "Pod waiting for uid-late", func() bool { return h.w.WaitingFor("uid-late") })
	srv.AddPod(pod("prod", "late", node, map[string]string{"app": "late"}, "StatefulSet/db"))
	select {
	case a := <-c:
		if !a.ok || a.pod.Labels["app"] != "late" || a.pod.Owner != (kubemeta.Owner{Kind: "StatefulSet", Name: "db"}) {
			t.Errorf("Pod = %+v, %v; want the late pod owned by StatefulSet db", a.pod, a.ok)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Pod did not return within 10s")
	}
	if s := h.w.Stats(); s.Missing != 0 {
		t.Errorf("Missing = %d, want 0", s.Missing)
	}
}

func TestLabelChangeIsSeen(t *testing.T) {
	t.Parallel()
	srv := apiservertest.Start(t, token)
	p := pod("prod", "web", node, map[string]string{"version": "1"}, "DaemonSet/agent")
	srv.AddPod(p)
	h := start(t, srv, kubemeta.Config{}, token)
	eventually(t, "synced", h.w.Synced)

	srv.Bookmark() // a BOOKMARK on the way changes nothing
	p.Labels = map[string]string{"version": "2", "canary": "true"}
	srv.AddPod(p)
	eventually(t, "labels version=2, canary=true", func() bool {
		got, ok := h.w.Pod(context.Background(), "uid-web")
		return ok && maps.Equal(got.Labels, p.Labels)
	})
}

func TestDeletedPodKeptForGrace(t *testing.T) {
	t.Parallel()
	srv := apiservertest.Start(t, token)
	srv.AddPod(pod("prod", "gone", node, map[string]string{"app": "gone"}, ""))
	const grace = 2 * time.Second
	h := start(t, srv, kubemeta.Config{DeleteGrace: grace, WaitTimeout: 20 * time.Millisecond, MissRetry: time.Millisecond}, token)
	eventually(t, "synced", h.w.Synced)

	srv.DeletePod("prod", "gone")
	eventually(t, "the deletion seen", func() bool { return h.w.Deleted("uid-gone") })
	deletedSeen := time.Now()
	got, ok := h.w.Pod(context.Background(), "uid-gone")
	if time.Since(deletedSeen) < grace && (!ok || got.Labels["app"] != "gone") {
		t.Errorf("within the grace period Pod = %+v, %v; want the deleted pod", got, ok)
	}
	eventually(t, "the deleted pod dropped after its grace period", func() bool {
		_, ok := h.w.Pod(context.Background(), "uid-gone")
		return !ok
	})
	if gone := time.Since(deletedSeen); gone < grace-100*time.Millisecond {
		t.Errorf("dropped %s after the deletion, before the %s grace period", gone, grace)
	}
}

func TestSlowServerNeverHoldsPodLonger(t *testing.T) {
	t.Parallel()
	srv := apiservertest.Start(t, token)
	srv.AddPod(pod("prod", "slow", node, nil, ""))
	srv.SetDelay(time.Hour) // answers only when the client gives up
	const wait = 300 * time.Millisecond
	h := start(t, srv, kubemeta.Config{WaitTimeout: wait}, token)

	began := time.Now()
	if _, ok := h.w.Pod(context.Background(), "uid-slow"); ok {
		t.Fatal("Pod found a pod the server has not answered yet")
	}
	if took := time.Since(began); took < wait || took > wait+2*time.Second {
		t.Errorf("first Pod took %s, want its %s timeout", took, wait)
	}
	// A UID already waited for in vain is answered at once: a pod's events are held back once, not each time.
	began = time.Now()
	if _, ok := h.w.Pod(context.Background(), "uid-slow"); ok {
		t.Fatal("second Pod found it")
	}
	if took := time.Since(began); took >= wait {
		t.Errorf("second Pod took %s, waited again", took)
	}
	// A caller whose context ends stops waiting.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := h.w.Pod(ctx, "uid-other"); ok {
		t.Fatal("Pod with an ended context found a pod")
	}
	if s := h.w.Stats(); s.Missing != 3 {
		t.Errorf("Missing = %d, want 3", s.Missing)
	}
}

func TestGoneRelists(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		break410 func(*apiservertest.Server)
		wantLog  string
	}{
		// An ERROR event with a 410 Status in the open watch.
		{"error event", (*apiservertest.Server).Expire, ""},
		// The history compacted, then the watch ends as at its timeout: watching again from the old
		// resourceVersion answers 410.
		{"410 answer", func(s *apiservertest.Server) { s.Compact(); s.CloseWatches() }, "410 Gone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := apiservertest.Start(t, token)
			srv.AddPod(pod("prod", "a", node, nil, ""))
			h := start(t, srv, kubemeta.Config{}, token)
			eventually(t, "synced and watching", func() bool { _, w := srv.Counts(); return h.w.Synced() && w > 0 })
			// An event through the watch, so that its end is an ordinary one (the reflector relists at once
			// after a watch that ended within a second with nothing received).
			srv.AddPod(pod("prod", "a", node, map[string]string{"seen": "watch"}, ""))
			eventually(t, "the change through the watch", func() bool {
				got, ok := h.w.Pod(context.Background(), "uid-a")
				return ok && got.Labels["seen"] == "watch"
			})

			tc.break410(srv)
			eventually(t, "a second list", func() bool { lists, _ := srv.Counts(); return lists >= 2 })
			for _, want := range []string{"listing this node's pods again", tc.wantLog} {
				if !strings.Contains(h.logs.String(), want) {
					t.Errorf("no log line says %q", want)
				}
			}
			// Watching again after the relist: a new pod arrives.
			srv.AddPod(pod("prod", "b", node, map[string]string{"after": "relist"}, ""))
			eventually(t, "the pod added after the relist", func() bool {
				got, ok := h.w.Pod(context.Background(), "uid-b")
				return ok && got.Labels["after"] == "relist"
			})
			if s := h.w.Stats(); s.WatchErrors != 0 {
				t.Errorf("WatchErrors = %d: a 410 is routine, not a failure", s.WatchErrors)
			}
		})
	}
}

func TestWrongTokenRetriesUntilRotated(t *testing.T) {
	t.Parallel()
	srv := apiservertest.Start(t, token)
	srv.AddPod(pod("prod", "p", node, nil, ""))
	tokenFile := t.TempDir() + "/token"
	const wrong = "wrong-token-9876543210"
	if err := os.WriteFile(tokenFile, []byte(wrong), 0o600); err != nil {
		t.Fatal(err)
	}
	h := start(t, srv, kubemeta.Config{TokenFile: tokenFile, WaitTimeout: time.Millisecond}, "")

	eventually(t, "the 401 logged", func() bool { return strings.Contains(h.logs.String(), "refused the token (401)") })
	line := lineWith(h.logs.String(), "refused the token (401)")
	for _, want := range []string{`"level":"error"`, `"token_file":"` + tokenFile + `"`, `"component":"kubemeta"`} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %s: %s", want, line)
		}
	}
	if h.w.Synced() || h.w.Stats().WatchErrors == 0 {
		t.Errorf("Synced %v, Stats %+v after a 401", h.w.Synced(), h.w.Stats())
	}

	// The kubelet rotates the token: Run, still retrying, picks it up.
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, "synced with the rotated token", h.w.Synced)
	if _, ok := h.w.Pod(context.Background(), "uid-p"); !ok {
		t.Error("pod not found after the token was fixed")
	}
	if strings.Contains(h.logs.String(), wrong) || strings.Contains(h.logs.String(), token) {
		t.Error("a token appears in the logs")
	}
}

func lineWith(logs, s string) string {
	for line := range strings.Lines(logs) {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}

func TestRunTwice(t *testing.T) {
	t.Parallel()
	srv := apiservertest.Start(t, token)
	h := start(t, srv, kubemeta.Config{}, token)
	eventually(t, "synced", h.w.Synced)
	if err := h.w.Run(context.Background()); !errors.Is(err, kubemeta.ErrReused) {
		t.Errorf("second Run = %v, want ErrReused", err)
	}
}

func TestNewConfigErrors(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	for _, tc := range []struct {
		name string
		cfg  kubemeta.Config
		want []string
	}{
		{"no node", kubemeta.Config{Host: "https://127.0.0.1:1"}, []string{"node: is empty", "NODE_NAME"}},
		{"bad host", kubemeta.Config{Node: node, Host: "127.0.0.1:6443"}, []string{"host:", "https://host:port"}},
		{"negative wait", kubemeta.Config{Node: node, WaitTimeout: -time.Second}, []string{"wait_timeout: is negative"}},
		{"not in a pod", kubemeta.Config{Node: node}, []string{"host: is empty", "KUBERNETES_SERVICE_HOST"}},
		{"no token", kubemeta.Config{Node: node, Host: "https://127.0.0.1:1", TokenFile: "/nonexistent/token"}, []string{"token_file:", "/nonexistent/token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := kubemeta.New(tc.cfg, zerolog.Nop())
			if err == nil {
				t.Fatal("New accepted it")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

// TestRelistDropsPodsDeletedUnseen: while the server is unreachable a pod is deleted and the history compacted;
// the watch resumed from the old resourceVersion gets 410, and the relist (a consistent one, paged) marks the
// pod that is no longer listed deleted, and only that one.
func TestRelistDropsPodsDeletedUnseen(t *testing.T) {
	t.Parallel()
	srv := apiservertest.Start(t, token)
	const pods = 1200 // more than two pages of the relist
	for i := range pods {
		srv.AddPod(pod("prod", fmt.Sprintf("p%04d", i), node, nil, ""))
	}
	h := start(t, srv, kubemeta.Config{RetryBackoff: 10 * time.Millisecond}, token)
	eventually(t, "synced and watching", func() bool { _, w := srv.Counts(); return h.w.Synced() && w > 0 })

	srv.Pause()
	srv.CloseWatches()
	eventually(t, "the next watch request waiting", func() bool { _, w := srv.Counts(); return w > 1 })
	srv.DeletePod("prod", "p0007")
	srv.Compact()
	srv.Resume()

	eventually(t, "p0007 marked deleted by the relist", func() bool { return h.w.Deleted("uid-p0007") })
	if s := h.w.Stats(); s.Lists != 2 || s.Pods != pods {
		t.Errorf("Stats = %+v, want 2 lists and %d pods (one of them deleted, in its grace period)", s, pods)
	}
	for _, uid := range []string{"uid-p0000", "uid-p0600", "uid-p1199"} {
		if h.w.Deleted(uid) {
			t.Errorf("%s marked deleted", uid)
		}
	}
	continued := 0
	for _, r := range srv.Requests() {
		if strings.Contains(r, "continue=") {
			continued++
		}
	}
	if continued != 2 {
		t.Errorf("%d list requests with a continue token, want 2 (3 pages of 500)", continued)
	}
}

func TestServerErrorsAreRetried(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code    int
		level   string
		message string
	}{
		{http.StatusServiceUnavailable, "warn", "listing or watching pods failed"},
		{http.StatusForbidden, "error", "grant the service account get, list and watch on pods"},
	} {
		t.Run(strconv.Itoa(tc.code), func(t *testing.T) {
			t.Parallel()
			srv := apiservertest.Start(t, token)
			srv.AddPod(pod("prod", "p", node, nil, ""))
			srv.FailNext(3, tc.code)
			h := start(t, srv, kubemeta.Config{RetryBackoff: 10 * time.Millisecond}, token)
			eventually(t, "synced after the failures", h.w.Synced)
			if s := h.w.Stats(); s.WatchErrors != 3 {
				t.Errorf("WatchErrors = %d, want 3", s.WatchErrors)
			}
			line := lineWith(h.logs.String(), tc.message)
			if !strings.Contains(line, `"level":"`+tc.level+`"`) || !strings.Contains(line, strconv.Itoa(tc.code)) {
				t.Errorf("no %s line naming the %d and saying %q: %q", tc.level, tc.code, tc.message, line)
			}
		})
	}
}

// TestRunLeavesNoGoroutine checks, with the server still up, that nothing Run started outlives it: no
// connection kept idle, no sweeper. Not parallel: it compares the goroutines before and after.
func TestRunLeavesNoGoroutine(t *testing.T) {
	srv := apiservertest.Start(t, token)
	srv.AddPod(pod("prod", "p", node, nil, ""))
	tokenFile := t.TempDir() + "/token"
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	before := goleak.IgnoreCurrent()
	w, err := kubemeta.New(kubemeta.Config{Node: node, Host: srv.URL, CAFile: srv.CAFile, TokenFile: tokenFile}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	eventually(t, "synced and watching", func() bool { _, watches := srv.Counts(); return w.Synced() && watches > 0 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of its context's end")
	}
	goleak.VerifyNone(t, before)
}
