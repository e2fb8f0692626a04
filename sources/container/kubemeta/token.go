package kubemeta

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"
)

// tokenReread is how long a token read from the file is used before the file is read again: the kubelet
// rotates projected service account tokens well before they expire (at 80% of their life, an hour at least).
const tokenReread = time.Minute

// tokenTransport sets the bearer token from a file, re-read every tokenReread and at once after a 401, so a
// rotated token mends a refused one on the next retry. (client-go's BearerTokenFile re-reads only by time.)
type tokenTransport struct {
	file string
	base http.RoundTripper

	mu     sync.Mutex
	token  string
	readAt time.Time // zero: read the file before the next request
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	token, err := t.current()
	if err != nil {
		return nil, err
	}
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := t.base.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		t.mu.Lock()
		t.readAt = time.Time{}
		t.mu.Unlock()
	}
	return resp, err
}

// current returns the token, reading the file when the cached one is old or was refused. A failed read keeps a
// token read before, if any: the file is replaced atomically, but a read may still race a rotation.
func (t *tokenTransport) current() (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && !t.readAt.IsZero() && time.Since(t.readAt) < tokenReread {
		return t.token, nil
	}
	b, err := os.ReadFile(t.file)
	if err == nil {
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			err = errors.New("the file is empty")
		}
	}
	if err != nil {
		if t.token != "" {
			return t.token, nil
		}
		return "", fmt.Errorf("token_file %s: %w", t.file, err)
	}
	t.token, t.readAt = string(b), time.Now()
	return t.token, nil
}

func (t *tokenTransport) WrappedRoundTripper() http.RoundTripper { return t.base }
