package miniotest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// HTTPProxy is an HTTP proxy in front of a real MinIO server for the faults that need to read requests: it can
// make the server look like a store that ignores conditional writes, as GCS's S3 interoperability endpoint does
// (StripConditions), and hold chosen requests while others pass (Hold). It counts the requests it receives
// (Requests), as a store bills them. SigV4 signs the conditional headers and, for
// streaming uploads, every chunk of the body, so the proxy decodes an aws-chunked body and signs each request again
// with the server's root credentials, whatever credentials the client signed it with: what a client's own
// credentials may do is not checked through it. S3 requests only (not STS).
type HTTPProxy struct {
	target         string // the server's "127.0.0.1:port"
	access, secret string

	ln        net.Listener
	server    *http.Server
	transport *http.Transport
	stripped  atomic.Int64
	held      atomic.Int64

	mu       sync.Mutex
	strip    []string
	hold     func(*http.Request) bool
	drop     func(r *http.Request, body []byte) bool
	dropped  atomic.Int64
	released chan struct{}  // closed by Release
	requests map[string]int // by "METHOD /path" (Requests)
	closed   bool
	serving  sync.WaitGroup // Serve and every handler that began before close
}

// NewHTTPProxy listens on a free 127.0.0.1 port and forwards every request to srv unchanged but for its
// signature. It is closed when the test ends.
func NewHTTPProxy(t testing.TB, srv *Server) *HTTPProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("miniotest: http proxy listen: %v", err)
	}
	access, secret := srv.RootCredentials()
	p := &HTTPProxy{target: srv.Endpoint(), access: access, secret: secret, ln: ln, released: make(chan struct{}),
		requests:  map[string]int{},
		transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second}}
	p.server = &http.Server{Handler: http.HandlerFunc(p.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	p.serving.Add(1)
	go func() {
		defer p.serving.Done()
		_ = p.server.Serve(ln) // ends with ErrServerClosed at cleanup
	}()
	t.Cleanup(p.close)
	return p
}

// NewConditionStripper is an HTTPProxy that strips the conditional headers named in strip (StripConditions).
func NewConditionStripper(t testing.TB, srv *Server, strip ...string) *HTTPProxy {
	t.Helper()
	p := NewHTTPProxy(t, srv)
	p.StripConditions(strip...)
	return p
}

// StripConditions drops the conditional headers named in strip from PUT and POST requests from now on (reads keep
// theirs, as GCS honours them); with none named, both If-Match and If-None-Match.
func (p *HTTPProxy) StripConditions(strip ...string) {
	if len(strip) == 0 {
		strip = []string{"If-Match", "If-None-Match"}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.strip = strip
}

// Hold makes the requests for which match is true wait, unanswered and unforwarded, until Release (or until their
// client gives up); the others pass. Requests already held stay held.
func (p *HTTPProxy) Hold(match func(*http.Request) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hold = match
}

// DropReplies makes the requests for which match is true (it sees the body as the client sent it) reach the
// server, and their replies never reach the client: the connection is closed instead, as when a network path
// fails after the server acted. nil stops dropping.
func (p *HTTPProxy) DropReplies(match func(r *http.Request, body []byte) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drop = match
}

// Dropped is the number of replies dropped so far.
func (p *HTTPProxy) Dropped() int { return int(p.dropped.Load()) }

// Release forwards the held requests and holds no more.
func (p *HTTPProxy) Release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hold = nil
	close(p.released)
	p.released = make(chan struct{})
}

// Held is the number of requests held now.
func (p *HTTPProxy) Held() int { return int(p.held.Load()) }

// Endpoint is the proxy's "127.0.0.1:port".
func (p *HTTPProxy) Endpoint() string { return p.ln.Addr().String() }

// URL is "http://" + Endpoint, the form AWS_ENDPOINT_URL takes.
func (p *HTTPProxy) URL() string { return "http://" + p.Endpoint() }

// Requests returns how many requests the proxy received so far, by method and URL path ("PUT /bucket/key"), held
// and dropped ones included: what a store would bill. The counts are a copy.
func (p *HTTPProxy) Requests() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.requests))
	for k, n := range p.requests {
		out[k] = n
	}
	return out
}

// Stripped is the number of requests forwarded without a conditional header they came with.
func (p *HTTPProxy) Stripped() int { return int(p.stripped.Load()) }

func (p *HTTPProxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.Release()
	_ = p.server.Close() // closes the connections, which cancels the handlers' requests
	p.serving.Wait()
	p.transport.CloseIdleConnections()
}

func (p *HTTPProxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		http.Error(w, "miniotest http proxy: closed", http.StatusServiceUnavailable)
		return
	}
	p.serving.Add(1)
	p.requests[r.Method+" "+r.URL.Path]++
	hold, released, strip, drop := p.hold, p.released, p.strip, p.drop
	p.mu.Unlock()
	defer p.serving.Done()
	// Read the body first: only then does the server notice a client that goes away while its request is held.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "miniotest http proxy: read the request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if hold != nil && hold(r) {
		p.held.Add(1)
		select {
		case <-released:
		case <-r.Context().Done():
		}
		p.held.Add(-1)
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if r.Context().Err() != nil || closed {
			return // the client gave up, or the test ended: forward nothing
		}
	}
	out, err := p.rewrite(r, body, strip)
	if err != nil {
		http.Error(w, "miniotest http proxy: "+err.Error(), http.StatusBadRequest)
		return
	}
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		http.Error(w, "miniotest http proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if drop != nil && drop(r, body) {
		_, _ = io.Copy(io.Discard, resp.Body) // the server's answer is complete, and lost
		p.dropped.Add(1)
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
		return
	}
	for k, vv := range resp.Header {
		if k == "Connection" || k == "Keep-Alive" {
			continue
		}
		w.Header()[k] = vv
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body) // a client that went away is not the proxy's concern
}

// unsignedHeaders are not forwarded: the signature is made anew, hop-by-hop headers are the connection's, and the
// body is forwarded decoded.
var unsignedHeaders = []string{"Authorization", "X-Amz-Date", "X-Amz-Content-Sha256", "X-Amz-Security-Token",
	"X-Amz-Decoded-Content-Length", "X-Amz-Trailer", "Content-Length", "Connection", "Keep-Alive", "Expect",
	"Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// rewrite builds the request to the server from r and its body: the conditions in strip dropped from writes, an
// aws-chunked body decoded (its trailing checksums become headers), signed again with the body's sha256.
func (p *HTTPProxy) rewrite(r *http.Request, body []byte, strip []string) (*http.Request, error) {
	var err error
	header := r.Header.Clone()
	if strings.HasPrefix(header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		var trailer http.Header
		if body, trailer, err = decodeAWSChunked(body); err != nil {
			return nil, err
		}
		if want := header.Get("X-Amz-Decoded-Content-Length"); want != "" && want != strconv.Itoa(len(body)) {
			return nil, fmt.Errorf("aws-chunked body of %d bytes, x-amz-decoded-content-length %s", len(body), want)
		}
		for k, vv := range trailer {
			header[k] = vv
		}
		header.Del("Content-Encoding")
		if enc := withoutToken(r.Header.Values("Content-Encoding"), "aws-chunked"); enc != "" {
			header.Set("Content-Encoding", enc)
		}
	}
	for _, k := range unsignedHeaders {
		header.Del(k)
	}
	if r.Method == http.MethodPut || r.Method == http.MethodPost {
		dropped := false
		for _, k := range strip {
			if header.Get(k) != "" {
				header.Del(k)
				dropped = true
			}
		}
		if dropped {
			p.stripped.Add(1)
		}
	}
	sum := sha256.Sum256(body)
	header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))

	out, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build the forwarded request: %w", err)
	}
	out.Header = header
	out.ContentLength = int64(len(body))
	if len(body) == 0 {
		out.Body = http.NoBody
	}
	return signer.SignV4(*out, p.access, p.secret, "", Region), nil
}

// decodeAWSChunked decodes a SigV4 streaming body: chunks of "hex-size[;chunk-signature=...]\r\n" + data + "\r\n",
// ended by a chunk of size 0 and trailer lines ("name:value", the trailer signature among them) up to an empty
// line. Chunk signatures are not checked: the test's own client made them.
func decodeAWSChunked(b []byte) (body []byte, trailer http.Header, err error) {
	rd := bufio.NewReader(bytes.NewReader(b))
	for {
		head, err := rd.ReadString('\n')
		if err != nil {
			return nil, nil, fmt.Errorf("aws-chunked body: chunk header: %w", err)
		}
		sizeHex, _, _ := strings.Cut(strings.TrimRight(head, "\r\n"), ";")
		size, err := strconv.ParseInt(sizeHex, 16, 32)
		if err != nil || size < 0 {
			return nil, nil, fmt.Errorf("aws-chunked body: chunk size %q", sizeHex)
		}
		if size == 0 {
			break
		}
		chunk := make([]byte, size+2)
		if _, err := io.ReadFull(rd, chunk); err != nil {
			return nil, nil, fmt.Errorf("aws-chunked body: chunk of %d bytes: %w", size, err)
		}
		if !bytes.HasSuffix(chunk, []byte("\r\n")) {
			return nil, nil, errors.New("aws-chunked body: a chunk does not end with CRLF")
		}
		body = append(body, chunk[:size]...)
	}
	trailer = http.Header{}
	for {
		ln, err := rd.ReadString('\n')
		ln = strings.TrimRight(ln, "\r\n")
		if ln == "" {
			return body, trailer, nil // the empty line that ends the body (or the end of a body without one)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("aws-chunked body: trailer: %w", err)
		}
		name, value, ok := strings.Cut(ln, ":")
		if !ok {
			return nil, nil, fmt.Errorf("aws-chunked body: trailer line %q", ln)
		}
		if !strings.EqualFold(name, "x-amz-trailer-signature") {
			trailer.Set(name, strings.TrimSpace(value))
		}
		if err != nil {
			return body, trailer, nil
		}
	}
}

// withoutToken joins the comma-separated tokens of values, leaving out token.
func withoutToken(values []string, token string) string {
	var kept []string
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" && !strings.EqualFold(t, token) {
				kept = append(kept, t)
			}
		}
	}
	return strings.Join(kept, ",")
}
