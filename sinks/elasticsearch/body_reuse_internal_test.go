package elasticsearch

import (
	"bytes"
	gz "compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
)

// lateReader is a RoundTripper that answers at once and reads the request body afterwards, as a transport may
// (http.RoundTripper: a body may be read and closed after RoundTrip returned; a server that answers before it
// read the body makes net/http's transport do that).
type lateReader struct {
	read chan []byte // the bodies as read, in request order
}

func (rt *lateReader) RoundTrip(req *http.Request) (*http.Response, error) {
	go func() {
		time.Sleep(20 * time.Millisecond)
		b, _ := io.ReadAll(req.Body)
		_ = req.Body.Close()
		rt.read <- b
	}()
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"errors":false,"items":[]}`)), Request: req}, nil
}

// The buffers a request body is a slice of are not written for the next request before the transport closed
// the body: request A, read late, still carries A's events although batch B was encoded meanwhile.
func TestBodyNotReusedBeforeTransportClosedIt(t *testing.T) {
	for _, gzip := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%v", gzip), func(t *testing.T) {
			cfg := Config{Hosts: []string{"http://127.0.0.1:9"}, Index: "logs", Compression: CompressionNone}
			if gzip {
				cfg.Compression = CompressionGzip
			}
			cfg.SetDefaults()
			s, err := New(cfg, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			rt := &lateReader{read: make(chan []byte, 2)}
			s.client.Transport = rt
			for _, name := range []string{"batch-a", "batch-b"} {
				ev := testEvent(nil)
				ev.Message = []byte(name)
				if err := s.Write(context.Background(), engine.NewBatch([]engine.Event{ev})); err != nil {
					t.Fatal(err)
				}
			}
			for _, want := range []string{"batch-a", "batch-b"} {
				body := <-rt.read
				if gzip {
					zr, err := gz.NewReader(bytes.NewReader(body))
					if err != nil {
						t.Fatalf("the request of %s: %v", want, err)
					}
					if body, err = io.ReadAll(zr); err != nil {
						t.Fatalf("the request of %s: %v", want, err)
					}
				}
				if !bytes.Contains(body, []byte(want)) {
					t.Errorf("the request of %s carried %q", want, body)
				}
			}
		})
	}
}
