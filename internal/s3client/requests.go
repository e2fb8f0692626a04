package s3client

import (
	"cmp"
	"net/http"
	"slices"
	"sync"

	"github.com/minio/minio-go/v7"
)

// Requests counts the HTTP requests of the clients built with it (Config.Requests): every attempt, retries
// included, since the store bills each one. Counts are by operation (the HTTP method: PUT, GET, HEAD, ...) and by
// the kind of key the classifier names. Safe for concurrent use.
type Requests struct {
	kind func(path string) string

	mu     sync.Mutex
	counts map[RequestKind]uint64
}

// RequestKind is what a request is counted under.
type RequestKind struct {
	Op      string // the HTTP method
	KeyKind string // what the classifier said
}

// RequestCount is one count of Requests.Counts.
type RequestCount struct {
	RequestKind
	N uint64
}

// NewRequests returns a counter that names the kind of each request's key with kind, which gets the request's
// URL path as sent: "/bucket/key" in path style, "/key" in virtual-host style.
func NewRequests(kind func(path string) string) *Requests {
	return &Requests{kind: kind, counts: map[RequestKind]uint64{}}
}

// Counts returns every count, ordered by key kind, then operation.
func (r *Requests) Counts() []RequestCount {
	r.mu.Lock()
	out := make([]RequestCount, 0, len(r.counts))
	for k, n := range r.counts {
		out = append(out, RequestCount{RequestKind: k, N: n})
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b RequestCount) int {
		return cmp.Or(cmp.Compare(a.KeyKind, b.KeyKind), cmp.Compare(a.Op, b.Op))
	})
	return out
}

// Count returns the count of one kind.
func (r *Requests) Count(op, keyKind string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[RequestKind{Op: op, KeyKind: keyKind}]
}

func (r *Requests) add(req *http.Request) {
	k := RequestKind{Op: req.Method, KeyKind: r.kind(req.URL.Path)}
	r.mu.Lock()
	r.counts[k]++
	r.mu.Unlock()
}

// transport counts each request before it is sent (one that then fails on the network was still billed, or
// may have been).
func (r *Requests) transport(secure bool) (http.RoundTripper, error) {
	next, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, err
	}
	return countingTransport{next: next, requests: r}, nil
}

type countingTransport struct {
	next     http.RoundTripper
	requests *Requests
}

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.requests.add(req)
	return t.next.RoundTrip(req)
}
