package servertls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writePair writes a certificate for 127.0.0.1 signed by parent (self-signed when parent is nil) and its key.
func writePair(t *testing.T, dir, name, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:                  parent == nil,
		BasicConstraintsValid: true,
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
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key, certPath, keyPath
}

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
	ca, caKey, _, _ := writePair(t, dir, "ca", "ca", nil, nil)
	_, _, certPath, keyPath := writePair(t, dir, "server", "first", ca, caKey)
	c := Config{CertFile: certPath, KeyFile: keyPath}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	cfg, err := c.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	client := &tls.Config{RootCAs: roots}
	if cn, err := handshake(t, cfg, client); err != nil || cn != "first" {
		t.Fatalf("handshake: cn %q, err %v; want first", cn, err)
	}

}

func TestReloadKeepsCertificateWhenRenewalIsBroken(t *testing.T) {
	dir := t.TempDir()
	ca, caKey, _, _ := writePair(t, dir, "ca", "ca", nil, nil)
	_, _, certPath, keyPath := writePair(t, dir, "server", "first", ca, caKey)
	r := &reloadingCert{certFile: certPath, keyFile: keyPath, recheck: 0}
	if err := r.load(); err != nil {
		t.Fatal(err)
	}
	_, _, _, _ = writePair(t, dir, "server", "second", ca, caKey)
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
	ca, caKey, caPath, _ := writePair(t, dir, "ca", "ca", nil, nil)
	_, _, certPath, keyPath := writePair(t, dir, "server", "server", ca, caKey)
	_, _, clientCert, clientKey := writePair(t, dir, "client", "client", ca, caKey)
	c := Config{CertFile: certPath, KeyFile: keyPath, ClientCAFile: caPath}
	cfg, err := c.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := handshake(t, cfg, &tls.Config{RootCAs: roots}); err == nil {
		t.Fatal("a client without a certificate was accepted")
	}
	pair, err := tls.LoadX509KeyPair(clientCert, clientKey)
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
