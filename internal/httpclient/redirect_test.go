package httpclient_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/internal/httpclient"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server answers POST /ok with 200 (counting the body bytes it received) and any other path with the redirect
// the test sets, counting requests.
type server struct {
	srv       *httptest.Server
	requests  atomic.Int64
	delivered atomic.Int64 // body bytes of POSTs answered 200
	redirect  func(r *http.Request) (status int, location string)
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := &server{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/ok" && r.Method == http.MethodPost {
			s.delivered.Add(int64(len(body)))
			return
		}
		if r.URL.Path == "/ok" {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		status, loc := s.redirect(r)
		w.Header().Set("Location", loc)
		w.WriteHeader(status)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func post(t *testing.T, url string) *http.Response {
	t.Helper()
	client := &http.Client{CheckRedirect: httpclient.CheckRedirect}
	t.Cleanup(client.CloseIdleConnections)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader([]byte("events")))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

func TestCheckRedirect(t *testing.T) {
	other := newServer(t)
	tests := []struct {
		name     string
		redirect func(s *server, r *http.Request) (int, string)
		status   int    // of the final response
		explain  string // in NotFollowed, when not followed
	}{
		{"307 same host", func(*server, *http.Request) (int, string) { return 307, "/ok" }, 200, ""},
		{"308 same host, absolute", func(s *server, _ *http.Request) (int, string) { return 308, s.srv.URL + "/ok" },
			200, ""},
		{"301", func(*server, *http.Request) (int, string) { return 301, "/ok" }, 301, "POST would become a GET"},
		{"302", func(*server, *http.Request) (int, string) { return 302, "/ok" }, 302, "POST would become a GET"},
		{"303", func(*server, *http.Request) (int, string) { return 303, "/ok" }, 303, "POST would become a GET"},
		{"307 other port", func(*server, *http.Request) (int, string) { return 307, other.srv.URL + "/ok?key=k3y" },
			307, "another host"},
		{"308 other host name", func(s *server, _ *http.Request) (int, string) {
			return 308, strings.Replace(s.srv.URL, "127.0.0.1", "localhost", 1) + "/ok"
		}, 308, "another host"},
		{"307 loop", func(_ *server, r *http.Request) (int, string) { return 307, r.URL.Path + "x" }, 307,
			"already 5 redirects"},
		{"300", func(*server, *http.Request) (int, string) { return 300, "/ok" }, 300, "not a redirect that is followed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			s.redirect = func(r *http.Request) (int, string) { return tt.redirect(s, r) }
			before := other.requests.Load()
			resp := post(t, s.srv.URL+"/start")
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status == 200 && s.delivered.Load() != int64(len("events")) {
				t.Errorf("%d body bytes delivered, want the POST with its body", s.delivered.Load())
			}
			if tt.status != 200 {
				why := httpclient.NotFollowed(resp)
				if !strings.Contains(why, tt.explain) || strings.Contains(why, "k3y") {
					t.Errorf("NotFollowed = %q, want it to say %q without the query", why, tt.explain)
				}
			}
			if got := other.requests.Load() - before; got != 0 {
				t.Errorf("the other server got %d requests", got)
			}
			if tt.name == "307 loop" && s.requests.Load() != httpclient.MaxRedirects+1 {
				t.Errorf("%d requests in the loop, want %d", s.requests.Load(), httpclient.MaxRedirects+1)
			}
		})
	}
}
