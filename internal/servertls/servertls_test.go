package servertls

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/internal/servertls/servertlstest"
)

// handshake serves one TLS connection with cfg on 127.0.0.1 and dials it with client; it returns the server
// certificate's common name the client saw, or the client's handshake error.
func handshake(t *testing.T, cfg *tls.Config, client *tls.Config) (string, error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_ = c.(*tls.Conn).Handshake()
		_, _ = c.Read(make([]byte, 1))
		c.Close()
	}()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), client)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	// With TLS 1.3 a refused client certificate shows on the first read, not in Dial.
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("x")); err != nil {
		return "", err
	}
	if _, err := conn.Read(make([]byte, 1)); err != nil && !strings.Contains(err.Error(), "EOF") {
		return "", err
	}
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

func TestServesCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := servertlstest.WritePair(t, dir, "ca", "ca", nil)
	server := servertlstest.WritePair(t, dir, "server", "first", &ca)
	c := Config{CertFile: server.CertFile, KeyFile: server.KeyFile}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	cfg, err := c.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	client := &tls.Config{RootCAs: servertlstest.Roots(ca)}
	if cn, err := handshake(t, cfg, client); err != nil || cn != "first" {
		t.Fatalf("handshake: cn %q, err %v; want first", cn, err)
	}

}

func TestReloadKeepsCertificateWhenRenewalIsBroken(t *testing.T) {
	dir := t.TempDir()
	ca := servertlstest.WritePair(t, dir, "ca", "ca", nil)
	first := servertlstest.WritePair(t, dir, "server", "first", &ca)
	certPath, keyPath := first.CertFile, first.KeyFile
	r := &reloadingCert{certFile: certPath, keyFile: keyPath, recheck: 0}
	if err := r.load(); err != nil {
		t.Fatal(err)
	}
	servertlstest.WritePair(t, dir, "server", "second", &ca)
	got, err := r.get(nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(got.Certificate[0])
	if leaf.Subject.CommonName != "second" {
		t.Fatalf("after a renewal with recheck 0: serves %q, want second", leaf.Subject.CommonName)
	}
	if err := os.WriteFile(keyPath, []byte("half-written"), 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Minute)
	_ = os.Chtimes(keyPath, future, future)
	got, err = r.get(nil)
	if err != nil {
		t.Fatalf("a broken renewal must keep the previous certificate: %v", err)
	}
	leaf, _ = x509.ParseCertificate(got.Certificate[0])
	if leaf.Subject.CommonName != "second" {
		t.Fatalf("after a broken renewal: serves %q, want second", leaf.Subject.CommonName)
	}
}

func TestMutualTLSRequiresClientCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := servertlstest.WritePair(t, dir, "ca", "ca", nil)
	server := servertlstest.WritePair(t, dir, "server", "server", &ca)
	client := servertlstest.WritePair(t, dir, "client", "client", &ca)
	c := Config{CertFile: server.CertFile, KeyFile: server.KeyFile, ClientCAFile: ca.CertFile}
	cfg, err := c.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	roots := servertlstest.Roots(ca)
	if _, err := handshake(t, cfg, &tls.Config{RootCAs: roots}); err == nil {
		t.Fatal("a client without a certificate was accepted")
	}
	pair, err := tls.LoadX509KeyPair(client.CertFile, client.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(t, cfg, &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}}); err != nil {
		t.Fatalf("a client with a certificate of client_ca_file: %v", err)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cfg  Config
		want []string
	}{
		{Config{}, []string{"cert_file: is required", "key_file: is required"}},
		{Config{CertFile: filepath.Join(dir, "missing.crt"), KeyFile: filepath.Join(dir, "missing.key")}, []string{"cert_file: ", "missing.crt"}},
		{Config{CertFile: "x", KeyFile: "y", ClientCAFile: notPEM}, []string{"client_ca_file: ", "no PEM certificate"}},
	} {
		err := tc.cfg.Validate()
		if err == nil {
			t.Fatalf("%+v: Validate passed", tc.cfg)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %q does not contain %q", tc.cfg, err, w)
			}
		}
	}
}
