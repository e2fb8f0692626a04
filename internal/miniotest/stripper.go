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

// ConditionStripper is an HTTP proxy in front of a real MinIO server that makes it look like a store that ignores
// conditional writes, as GCS's S3 interoperability endpoint does: it drops If-Match and If-None-Match from PUT and
// POST requests (reads keep theirs) and forwards them re-signed. SigV4 signs those headers and, for streaming
// uploads, every chunk of the body, so the proxy decodes an aws-chunked body and signs each request again with
// the server's root credentials, whatever credentials the client signed it with: what a client's own
// credentials may do is not checked through it. S3 requests only (not STS).
type ConditionStripper struct {
	target         string // the server's "127.0.0.1:port"
	access, secret string
	strip          []string

	ln        net.Listener
	server    *http.Server
	transport *http.Transport
	stripped  atomic.Int64

	mu      sync.Mutex
	closed  bool
	serving sync.WaitGroup // Serve and every handler that began before close
}

// NewConditionStripper listens on a free 127.0.0.1 port and forwards to srv, dropping the conditional headers
// named in strip from writes; with none named, both If-Match and If-None-Match. It is closed when the test ends.
func NewConditionStripper(t testing.TB, srv *Server, strip ...string) *ConditionStripper {
	t.Helper()
	if len(strip) == 0 {
		strip = []string{"If-Match", "If-None-Match"}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("miniotest: condition stripper listen: %v", err)
	}
	access, secret := srv.RootCredentials()
	p := &ConditionStripper{target: srv.Endpoint(), access: access, secret: secret, strip: strip, ln: ln,
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

// Endpoint is the proxy's "127.0.0.1:port".
func (p *ConditionStripper) Endpoint() string { return p.ln.Addr().String() }

// URL is "http://" + Endpoint, the form AWS_ENDPOINT_URL takes.
func (p *ConditionStripper) URL() string { return "http://" + p.Endpoint() }

// Stripped is the number of requests forwarded without a conditional header they came with.
func (p *ConditionStripper) Stripped() int { return int(p.stripped.Load()) }

func (p *ConditionStripper) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	_ = p.server.Close() // closes the connections, which cancels the handlers' requests
	p.serving.Wait()
	p.transport.CloseIdleConnections()
}

func (p *ConditionStripper) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		http.Error(w, "miniotest condition stripper: closed", http.StatusServiceUnavailable)
		return
	}
	p.serving.Add(1)
	p.mu.Unlock()
	defer p.serving.Done()
	out, err := p.rewrite(r)
	if err != nil {
		http.Error(w, "miniotest condition stripper: "+err.Error(), http.StatusBadRequest)
		return
	}
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		http.Error(w, "miniotest condition stripper: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
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

// rewrite builds the request to the server: conditions dropped from writes, an aws-chunked body decoded (its
// trailing checksums become headers), signed again with the body's sha256.
func (p *ConditionStripper) rewrite(r *http.Request) (*http.Request, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("read the request body: %w", err)
	}
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
		for _, k := range p.strip {
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
