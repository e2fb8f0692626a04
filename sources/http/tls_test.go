package http_test

import (
	"bytes"
	"crypto/tls"
	"net/http"
	"testing"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/servertls"
	"github.com/flickerlog/flicker/internal/servertls/servertlstest"
	httpsrc "github.com/flickerlog/flicker/sources/http"
)

func TestMutualTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	server := servertlstest.WritePair(t, dir, "server", "server", nil)
	ca := servertlstest.WritePair(t, dir, "clients-ca", "clients-ca", nil)
	client := servertlstest.WritePair(t, dir, "client", "client", &ca)
	s := startServer(t, httpsrc.Config{TLS: &servertls.Config{CertFile: server.CertFile, KeyFile: server.KeyFile, ClientCAFile: ca.CertFile}},
		engine.QueueLimits{})
	roots := servertlstest.Roots(server)
	post := func(certs []tls.Certificate) (*http.Response, error) {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}}}
		return hc.Post(s.url+"/", "application/x-ndjson", bytes.NewReader([]byte("\"over tls\"\n")))
	}
	if resp, err := post(nil); err == nil {
		resp.Body.Close()
		t.Fatalf("a client without a certificate got %d, want the handshake refused", resp.StatusCode)
	}
	resp, err := post([]tls.Certificate{{Certificate: [][]byte{client.Cert.Raw}, PrivateKey: client.Key}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(s.sink.Events()) != 1 {
		t.Fatalf("with a client certificate: %d, %d events", resp.StatusCode, len(s.sink.Events()))
	}
}
