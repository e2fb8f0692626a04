package apiservertest_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flickerlog/flicker/sources/container/kubemeta/apiservertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const token = "t0ken"

func client(t *testing.T, srv *apiservertest.Server) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(srv.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatal("CAFile holds no certificate")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func get(t *testing.T, ctx context.Context, c *http.Client, srv *apiservertest.Server, q url.Values, tok string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/pods?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func onNode(name, node string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}, Spec: corev1.PodSpec{NodeName: node}}
}

func TestRefusals(t *testing.T) {
	srv := apiservertest.Start(t, token)
	c := client(t, srv)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		q    url.Values
		tok  string
		want int
	}{
		{"no token", url.Values{"fieldSelector": {"spec.nodeName=a"}}, "", http.StatusUnauthorized},
		{"wrong token", url.Values{"fieldSelector": {"spec.nodeName=a"}}, "nope", http.StatusUnauthorized},
		{"no selector", url.Values{}, token, http.StatusBadRequest},
		{"other selector", url.Values{"fieldSelector": {"metadata.name=x"}}, token, http.StatusBadRequest},
		{"streaming list", url.Values{"fieldSelector": {"spec.nodeName=a"}, "watch": {"true"}, "sendInitialEvents": {"true"}}, token, http.StatusUnprocessableEntity},
		{"too old", url.Values{"fieldSelector": {"spec.nodeName=a"}, "watch": {"1"}, "resourceVersion": {"1"}}, token, http.StatusGone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == http.StatusGone {
				srv.Compact()
			}
			resp := get(t, ctx, c, srv, tc.q, tc.tok)
			defer resp.Body.Close()
			var st metav1.Status
			if resp.StatusCode != tc.want || json.NewDecoder(resp.Body).Decode(&st) != nil || st.Kind != "Status" || int(st.Code) != tc.want {
				t.Errorf("answer %d %+v, want %d with a Status", resp.StatusCode, st, tc.want)
			}
		})
	}
}

// TestListThenWatch lists node a, then watches from the list's resourceVersion: a pod of another node is not
// seen until it moves onto node a (ADDED), and is DELETED for this watch when it moves off; bookmarks come.
func TestListThenWatch(t *testing.T) {
	srv := apiservertest.Start(t, token)
	c := client(t, srv)
	srv.AddPod(onNode("here", "a"))
	srv.AddPod(onNode("there", "b"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	resp := get(t, ctx, c, srv, url.Values{"fieldSelector": {"spec.nodeName=a"}}, token)
	var list corev1.PodList
	err := json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil || len(list.Items) != 1 || list.Items[0].Name != "here" || list.ResourceVersion == "" {
		t.Fatalf("list = %+v, %v; want the pod here with a resourceVersion", list, err)
	}

	resp = get(t, ctx, c, srv, url.Values{"fieldSelector": {"spec.nodeName=a"}, "watch": {"true"},
		"resourceVersion": {list.ResourceVersion}, "allowWatchBookmarks": {"true"}}, token)
	defer resp.Body.Close()
	srv.AddPod(onNode("there", "b")) // still elsewhere: not seen
	srv.AddPod(onNode("there", "a"))
	srv.Bookmark()
	srv.AddPod(onNode("there", "b"))
	srv.DeletePod("ns", "here")
	dec := json.NewDecoder(resp.Body)
	for _, want := range []string{"ADDED there", "BOOKMARK ", "DELETED there", "DELETED here"} {
		var ev struct {
			Type   string     `json:"type"`
			Object corev1.Pod `json:"object"`
		}
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("watch, waiting for %s: %v", want, err)
		}
		if got := ev.Type + " " + ev.Object.Name; got != want || ev.Object.ResourceVersion == "" {
			t.Errorf("event %q (resourceVersion %q), want %q", got, ev.Object.ResourceVersion, want)
		}
	}
	if lists, watches := srv.Counts(); lists != 1 || watches != 1 {
		t.Errorf("Counts = %d lists, %d watches", lists, watches)
	}
}
