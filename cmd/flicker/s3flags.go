package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/flickerlog/flicker/internal/s3client"
	"github.com/flickerlog/flicker/snapshot"
)

// s3Flags override the AWS environment; every command that reaches S3 takes them.
type s3Flags struct {
	S3Endpoint  string `name:"s3-endpoint" placeholder:"URL" group:"S3" help:"S3 endpoint URL, overriding AWS_ENDPOINT_URL: http://minio:9000, https://storage.googleapis.com. The scheme decides TLS. Default: AWS S3."`
	S3Region    string `name:"s3-region" placeholder:"REGION" group:"S3" help:"Region, overriding AWS_REGION (default us-east-1)."`
	S3PathStyle string `name:"s3-path-style" enum:",true,false" default:"" placeholder:"BOOL" group:"S3" help:"true for path-style addressing (MinIO), overriding AWS_S3_FORCE_PATH_STYLE."`
}

// isS3 reports whether a --registry-file value names an S3 object.
func isS3(location string) bool {
	return len(location) >= 5 && strings.EqualFold(location[:5], "s3://")
}

// client parses an s3:// registry URL and builds a client from the environment and the flags. Problems are usage
// errors: they name the variable or flag.
func (f s3Flags) client(registryURL string) (*minio.Client, snapshot.Keys, error) {
	c, keys, _, err := f.countedClient(registryURL)
	return c, keys, err
}

// countedClient is client, with a counter of its requests by key kind (flicker_s3_requests_total).
func (f s3Flags) countedClient(registryURL string) (*minio.Client, snapshot.Keys, *s3client.Requests, error) {
	bucket, key, err := s3client.ParseURL(registryURL)
	if err != nil {
		return nil, snapshot.Keys{}, nil, usageError("--registry-file: %v", err)
	}
	keys := snapshot.Keys{Bucket: bucket, Latest: key}
	overrides := s3client.Config{Endpoint: f.S3Endpoint, Region: f.S3Region}
	if f.S3PathStyle != "" {
		ps := f.S3PathStyle == "true"
		overrides.PathStyle = &ps
	}
	cfg, err := s3client.FromEnv(os.Getenv, overrides)
	if err != nil {
		return nil, snapshot.Keys{}, nil, usageError("S3 settings: %v", err)
	}
	cfg.Requests = s3client.NewRequests(keys.Kind)
	c, err := s3client.New(cfg)
	if err != nil {
		return nil, snapshot.Keys{}, nil, usageError("S3 settings: %v", err)
	}
	return c, keys, cfg.Requests, nil
}

// stateFile is where the live registry of an S3 registry lives in the state dir: one file per bucket and key, so
// two registries never share one.
func stateFile(stateDir string, keys snapshot.Keys) string {
	if stateDir == "" {
		stateDir = filepath.Join(os.TempDir(), "flicker")
	}
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, keys.Bucket+"_"+keys.Latest)
	// The hash keeps keys that differ only in characters mapped to '_' apart.
	sum := sha256.Sum256([]byte(keys.Bucket + "/" + keys.Latest))
	return filepath.Join(stateDir, fmt.Sprintf("%s-%x.db", name, sum[:4]))
}

// writerIdentity names this process in lease records and snapshot headers: a random id (a restarted pod is a new
// writer) and the hostname (the pod name in Kubernetes).
func writerIdentity() (id, host string) {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return hex.EncodeToString(b[:]), host
}
