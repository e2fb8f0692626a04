// Package servertls is the `tls:` block of a listening source (http_sources, syslog_sources): a server
// certificate, and optionally the certificate authorities whose client certificates it requires (mutual TLS).
//
// The certificate is read again when its files change on disk (cert-manager and similar rotate them in place), so
// a renewed certificate is served without a restart; a renewal that does not load keeps the previous one.
package servertls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/flickerlog/flicker/internal/fielderr"
)

// Config is the `tls:` block of a listening source.
type Config struct {
	CertFile     string `yaml:"cert_file"`      // PEM server certificate (with its chain)
	KeyFile      string `yaml:"key_file"`       // PEM private key of cert_file
	ClientCAFile string `yaml:"client_ca_file"` // optional: PEM authorities; a client must present a certificate they signed
}

// Validate checks the block the way a start would: both files set, readable and matching, the CA file holding at
// least one certificate. Paths in errors are relative to the block ("cert_file").
func (c *Config) Validate() error {
	var errs []error
	if c.CertFile == "" {
		errs = append(errs, fielderr.New("cert_file", "is required with tls"))
	}
	if c.KeyFile == "" {
		errs = append(errs, fielderr.New("key_file", "is required with tls"))
	}
	if len(errs) == 0 {
		if _, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile); err != nil {
			errs = append(errs, fielderr.New("cert_file", "%s with key_file %s: %v", c.CertFile, c.KeyFile, err))
		}
	}
	if c.ClientCAFile != "" {
		if _, err := loadPool(c.ClientCAFile); err != nil {
			errs = append(errs, fielderr.New("client_ca_file", "%v", err))
		}
	}
	return fielderr.Join(errs...)
}

// ServerConfig returns a tls.Config serving c's certificate (TLS 1.2 at least), requiring and verifying client
// certificates when client_ca_file is set. The certificate is re-read at most every recheck when its files'
// modification times changed.
func (c *Config) ServerConfig() (*tls.Config, error) {
	cert := &reloadingCert{certFile: c.CertFile, keyFile: c.KeyFile, recheck: recheckEvery}
	if err := cert.load(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: cert.get}
	if c.ClientCAFile != "" {
		pool, err := loadPool(c.ClientCAFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// recheckEvery bounds how often a handshake looks at the certificate files' modification times.
const recheckEvery = 10 * time.Second

func loadPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate found", path)
	}
	return pool, nil
}

// reloadingCert serves a key pair and loads it again when its files change.
type reloadingCert struct {
	certFile, keyFile string
	recheck           time.Duration

	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     [2]time.Time // modification times of certFile and keyFile at the last load
	checkedAt time.Time
}

func (r *reloadingCert) load() error {
	stamp, err := r.modTimes()
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("tls cert_file %s, key_file %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert, r.stamp = &cert, stamp
	return nil
}

func (r *reloadingCert) modTimes() ([2]time.Time, error) {
	var stamp [2]time.Time
	for i, p := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(p)
		if err != nil {
			return stamp, fmt.Errorf("tls: %w", err)
		}
		stamp[i] = fi.ModTime()
	}
	return stamp, nil
}

func (r *reloadingCert) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.checkedAt) >= r.recheck {
		r.checkedAt = now
		if stamp, err := r.modTimes(); err == nil && stamp != r.stamp {
			// A failed reload (a half-written renewal) keeps serving the previous certificate.
			_ = r.load()
		}
	}
	if r.cert == nil {
		return nil, errors.New("tls: no certificate loaded")
	}
	return r.cert, nil
}
