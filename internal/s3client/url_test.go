package s3client_test

import (
	"strings"
	"testing"

	"github.com/flickerlog/flicker/internal/s3client"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in          string
		bucket, key string
		wantErr     string
	}{
		{in: "s3://company-logs/flicker/registry.json", bucket: "company-logs", key: "flicker/registry.json"},
		{in: "s3://b/registry.json", bucket: "b", key: "registry.json"},
		{in: "S3://b/k", bucket: "b", key: "k"},
		{in: "s3://my.dotted.bucket/a b/c%20d?.json", bucket: "my.dotted.bucket", key: "a b/c%20d?.json"},
		{in: "s3://b//leading-slash", bucket: "b", key: "/leading-slash"},
		{in: "s3://", wantErr: "no bucket"},
		{in: "s3:///key", wantErr: "no bucket"},
		{in: "s3://bucket", wantErr: "no object key"},
		{in: "s3://bucket/", wantErr: "no object key"},
		{in: "s3://bucket/folder/", wantErr: "ends in a slash"},
		{in: "https://bucket.s3.amazonaws.com/key", wantErr: "want s3://bucket/key"},
		{in: "/var/lib/flicker/registry.db", wantErr: "want s3://bucket/key"},
		{in: "s3:/bucket/key", wantErr: "want s3://bucket/key"},
		{in: "", wantErr: "want s3://bucket/key"},
		{in: "s3://minio:9000/key", wantErr: "not a bucket name"},
		{in: "s3://user:" + testSecret + "@bucket/key", wantErr: "not a bucket name"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			bucket, key, err := s3client.ParseURL(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseURL(%q) = %q, %q, %v; want an error containing %q", tt.in, bucket, key, err, tt.wantErr)
				}
				assertNoSecret(t, err.Error())
				return
			}
			if err != nil || bucket != tt.bucket || key != tt.key {
				t.Fatalf("ParseURL(%q) = %q, %q, %v; want %q, %q", tt.in, bucket, key, err, tt.bucket, tt.key)
			}
		})
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"s3://b/k", "s3://", "s3://b/", "s3://a@b/k", "S3://x/y/z/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		bucket, key, err := s3client.ParseURL(s)
		if err != nil {
			return
		}
		if bucket == "" || key == "" || strings.HasSuffix(key, "/") || strings.ContainsAny(bucket, "/@:?#") {
			t.Fatalf("ParseURL(%q) accepted bucket %q key %q", s, bucket, key)
		}
		if s[len("s3://"):] != bucket+"/"+key {
			t.Fatalf("ParseURL(%q) = %q, %q: does not round-trip", s, bucket, key)
		}
	})
}
