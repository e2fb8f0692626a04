package s3client_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/flickerlog/flicker/internal/s3client"
)

func TestExplain(t *testing.T) {
	dial := func(err error) error {
		return &url.Error{Op: "Put", URL: "http://minio:9000/b/k", Err: &net.OpError{Op: "dial", Net: "tcp", Err: err}}
	}
	tests := []struct {
		name    string
		err     error
		op      string
		want    []string // substrings of the explained message
		wantNot []string
	}{
		{
			name:    "put denied names the put action and the key",
			err:     minio.ErrorResponse{Code: "AccessDenied", Message: "Access Denied.", StatusCode: 403},
			op:      s3client.OpPutObject,
			want:    []string{"PutObject s3://logs/flicker/registry.json", "access denied", "s3:PutObject on arn:aws:s3:::logs/flicker/registry.json", "Access Denied."},
			wantNot: []string{"s3:GetObject", "ListBucket"},
		},
		{
			name: "get denied names the get action and mentions AWS's 403 for missing keys",
			err:  minio.ErrorResponse{Code: "AccessDenied", Message: "Access Denied.", StatusCode: 403},
			op:   s3client.OpGetObject,
			want: []string{"s3:GetObject on arn:aws:s3:::logs/flicker/registry.json", "s3:ListBucket"},
		},
		{
			name: "HEAD 403 without a body is access denied for s3:GetObject",
			err:  minio.ErrorResponse{StatusCode: 403},
			op:   s3client.OpHeadObject,
			want: []string{"access denied (S3 answered 403)", "s3:GetObject on arn:aws:s3:::logs/flicker/registry.json"},
		},
		{
			name: "listing versions needs a bucket-level permission",
			err:  minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403},
			op:   "ListObjectVersions",
			want: []string{"s3:ListBucketVersions on arn:aws:s3:::logs: "},
		},
		{
			name: "no such bucket names the bucket",
			err:  minio.ErrorResponse{Code: "NoSuchBucket", Message: "The specified bucket does not exist", StatusCode: 404},
			op:   s3client.OpGetObject,
			want: []string{`bucket "logs" does not exist (S3 answered 404 NoSuchBucket)`, "AWS_ENDPOINT_URL"},
		},
		{
			name: "wrong region says which region",
			err: minio.ErrorResponse{Code: "AuthorizationHeaderMalformed", StatusCode: 400, Region: "eu-west-1",
				Message: "the region 'us-east-1' is wrong; expecting 'eu-west-1'"},
			op:   s3client.OpPutObject,
			want: []string{"wrong region", "AWS_REGION=eu-west-1", "expecting 'eu-west-1'"},
		},
		{
			name: "redirect points at region, endpoint and path style",
			err:  minio.ErrorResponse{Code: "PermanentRedirect", StatusCode: 301},
			op:   s3client.OpGetObject,
			want: []string{"AWS_REGION", "AWS_ENDPOINT_URL", "AWS_S3_FORCE_PATH_STYLE=true"},
		},
		{
			name: "bare 301 from a HEAD",
			err:  minio.ErrorResponse{StatusCode: 301},
			op:   s3client.OpHeadObject,
			want: []string{"AWS_REGION", "AWS_ENDPOINT_URL"},
		},
		{
			name: "bad secret points at the secret variable",
			err:  minio.ErrorResponse{Code: "SignatureDoesNotMatch", StatusCode: 403},
			op:   s3client.OpPutObject,
			want: []string{"signature does not match (S3 answered 403 SignatureDoesNotMatch)", "AWS_SECRET_ACCESS_KEY"},
		},
		{
			name: "unknown access key",
			err:  minio.ErrorResponse{Code: "InvalidAccessKeyId", StatusCode: 403},
			op:   s3client.OpPutObject,
			want: []string{"AWS_ACCESS_KEY_ID", "S3 answered 403 InvalidAccessKeyId"},
		},
		{
			name: "expired token",
			err:  minio.ErrorResponse{Code: "ExpiredToken", StatusCode: 400},
			op:   s3client.OpPutObject,
			want: []string{"AWS_SESSION_TOKEN"},
		},
		{
			name: "precondition failed stays recognisable",
			err:  minio.ErrorResponse{Code: "PreconditionFailed", StatusCode: 412},
			op:   s3client.OpPutObject,
			want: []string{"precondition failed"},
		},
		{
			name: "connection refused points at the endpoint",
			err:  dial(&os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}),
			op:   s3client.OpPutObject,
			want: []string{"connection refused", "AWS_ENDPOINT_URL"},
		},
		{
			name: "unresolvable virtual host suggests path style",
			err:  dial(&net.DNSError{Err: "no such host", Name: "logs.minio", IsNotFound: true}),
			op:   s3client.OpGetObject,
			want: []string{`cannot resolve host "logs.minio"`, "AWS_ENDPOINT_URL", "AWS_S3_FORCE_PATH_STYLE=true"},
		},
		{
			name:    "unresolvable endpoint host",
			err:     dial(&net.DNSError{Err: "no such host", Name: "minio", IsNotFound: true}),
			op:      s3client.OpGetObject,
			want:    []string{`cannot resolve host "minio"`, "AWS_ENDPOINT_URL"},
			wantNot: []string{"AWS_S3_FORCE_PATH_STYLE"},
		},
		{
			name: "https to a plain http store",
			err:  &url.Error{Op: "Put", URL: "https://minio:9000/b/k", Err: errors.New("http: server gave HTTP response to HTTPS client")},
			op:   s3client.OpPutObject,
			want: []string{"does not speak TLS", "http://"},
		},
		{
			name: "timeout",
			err:  &url.Error{Op: "Put", URL: "http://minio:9000/b/k", Err: context.DeadlineExceeded},
			op:   s3client.OpPutObject,
			want: []string{"timed out", "AWS_ENDPOINT_URL"},
		},
		{
			name: "no credentials",
			err:  fmt.Errorf("%w: details", s3client.ErrNoCredentials),
			op:   s3client.OpGetObject,
			want: []string{"no S3 credentials found: details"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s3client.Explain(tt.err, tt.op, "logs", "flicker/registry.json")
			if got == nil {
				t.Fatal("Explain returned nil")
			}
			msg := got.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q lacks %q", msg, w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(msg, w) {
					t.Errorf("%q should not contain %q", msg, w)
				}
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("errors.Is(explained, original) = false")
			}
			var explained *s3client.Error
			if !errors.As(got, &explained) || explained.Op != tt.op || explained.Bucket != "logs" || explained.Reason == "" {
				t.Errorf("errors.As *s3client.Error = %+v", explained)
			}
			var er minio.ErrorResponse
			if errors.As(tt.err, &er) {
				if s3client.ToErrorResponse(got) != er {
					t.Errorf("ToErrorResponse(explained) = %+v, want %+v", s3client.ToErrorResponse(got), er)
				}
			} else if s3client.ToErrorResponse(got) != (minio.ErrorResponse{}) {
				t.Errorf("ToErrorResponse of a transport error = %+v, want zero", s3client.ToErrorResponse(got))
			}
		})
	}
}

func TestExplainNil(t *testing.T) {
	if err := s3client.Explain(nil, s3client.OpPutObject, "b", "k"); err != nil {
		t.Fatalf("Explain(nil) = %v", err)
	}
}

func TestExplainKeepsSentinels(t *testing.T) {
	err := s3client.Explain(fmt.Errorf("upload: %w", context.Canceled), s3client.OpPutObject, "b", "k")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("errors.Is(%v, context.Canceled) = false", err)
	}
}
