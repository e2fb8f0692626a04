package oktatest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/sources/api/internal/emulator"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const token = "00abcdefghijklmnopqrstuvwxyz-0123456789"

// newClock is a settable time source for the emulator.
func newClock() *emulator.Clock {
	return emulator.NewClock(time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC))
}

// reply is one answer of the emulator.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// client makes requests with its own transport, closed at the end of the test.
type client struct {
	t     *testing.T
	http  *http.Client
	token string
}

func newClient(t *testing.T) *client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{t: t, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}, token: token}
}

func (c *client) get(url string) reply {
	c.t.Helper()
	r, err := c.try(url)
	if err != nil {
		c.t.Fatalf("GET %s: %v", url, err)
	}
	return r
}

func (c *client) try(url string) (reply, error) {
	req, err := http.NewRequestWithContext(c.t.Context(), http.MethodGet, url, nil)
	if err != nil {
		return reply{}, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "SSWS "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// links parses the Link header fields, separate or comma-joined, into rel -> URL.
func (r reply) links(t *testing.T) map[string]string {
	t.Helper()
	out := make(map[string]string)
	for _, field := range r.header.Values("Link") {
		for part := range strings.SplitSeq(field, ",") {
			part = strings.TrimSpace(part)
			target, params, ok := strings.Cut(part, ";")
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				t.Fatalf("malformed link %q", part)
			}
			rel := strings.TrimSpace(params)
			rel = strings.TrimPrefix(rel, "rel=")
			rel = strings.Trim(rel, `"`)
			if _, dup := out[rel]; dup {
				t.Fatalf("two links with rel=%q in %q", rel, r.header.Values("Link"))
			}
			out[rel] = strings.Trim(target, "<>")
		}
	}
	return out
}

// item is the part of a LogEvent the tests look at.
type item struct {
	UUID      string `json:"uuid"`
	Published string `json:"published"`
	EventType string `json:"eventType"`
}

func (r reply) items(t *testing.T) []item {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var items []item
	if err := json.Unmarshal(r.body, &items); err != nil {
		t.Fatalf("body is not a JSON array of events: %v: %.200s", err, r.body)
	}
	return items
}

// errorCode checks an error answer and returns its errorCode.
func (r reply) errorCode(t *testing.T, status int) string {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	var e struct {
		ErrorCode, ErrorSummary, ErrorID string
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, r.body)
	}
	if e.ErrorSummary == "" || e.ErrorID == "" {
		t.Fatalf("error body lacks errorSummary or errorId: %s", r.body)
	}
	return e.ErrorCode
}

func uuidsOf(items []item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.UUID
	}
	return out
}
