package http_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/servertls"
	httpsrc "github.com/flickerlog/flicker/sources/http"
)

// certPair writes a certificate for 127.0.0.1 signed by parent (self-signed, a CA, when nil) and its key.
func certPair(t *testing.T, dir, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:        parent == nil, BasicConstraintsValid: true,
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certPath, keyPath := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	_ = os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	return cert, key, certPath, keyPath
}

func TestMutualTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	serverCert, _, certFile, keyFile := certPair(t, dir, "server", nil, nil)
	ca, caKey, caFile, _ := certPair(t, dir, "clients-ca", nil, nil)
	clientCert, clientKey, _, _ := certPair(t, dir, "client", ca, caKey)
	s := startServer(t, httpsrc.Config{TLS: &servertls.Config{CertFile: certFile, KeyFile: keyFile, ClientCAFile: caFile}},
		engine.QueueLimits{})
	roots := x509.NewCertPool()
	roots.AddCert(serverCert)
	post := func(certs []tls.Certificate) (*http.Response, error) {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}}}
		return client.Post(s.url+"/", "application/x-ndjson", bytes.NewReader([]byte("\"over tls\"\n")))
	}
	if resp, err := post(nil); err == nil {
		resp.Body.Close()
		t.Fatalf("a client without a certificate got %d, want the handshake refused", resp.StatusCode)
	}
	resp, err := post([]tls.Certificate{{Certificate: [][]byte{clientCert.Raw}, PrivateKey: clientKey}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(s.sink.Events()) != 1 {
		t.Fatalf("with a client certificate: %d, %d events", resp.StatusCode, len(s.sink.Events()))
	}
}
