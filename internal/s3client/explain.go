package s3client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"

	"github.com/minio/minio-go/v7"
)

// S3 operations, for Explain's op. Any other S3 API name works too (the IAM action becomes "s3:"+op).
const (
	OpGetObject  = "GetObject"
	OpHeadObject = "HeadObject"
	OpPutObject  = "PutObject"
)

// Error is an S3 failure explained for a user: what was attempted, what went wrong, and which setting or
// permission to check. It wraps the original error, so errors.Is and errors.As (and ToErrorResponse) still
// see it.
type Error struct {
	Op, Bucket, Key string
	// Reason says what went wrong; Hint, when not empty, what to check or change.
	Reason, Hint string
	Err          error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(" s3://")
	b.WriteString(e.Bucket)
	if e.Key != "" {
		b.WriteString("/")
		b.WriteString(e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ToErrorResponse is minio.ToErrorResponse through wrapping (minio-go's own only looks at err itself): the
// S3 error inside err, or the zero value when there is none.
func ToErrorResponse(err error) minio.ErrorResponse {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er
	}
	var erp *minio.ErrorResponse
	if errors.As(err, &erp) && erp != nil {
		return *erp
	}
	return minio.ErrorResponse{}
}

// Explain turns an error from op on bucket/key into an *Error a user can act on. nil stays nil.
func Explain(err error, op, bucket, key string) error {
	if err == nil {
		return nil
	}
	e := &Error{Op: op, Bucket: bucket, Key: key, Err: err}
	if er := ToErrorResponse(err); er.Code != "" || er.StatusCode != 0 {
		e.Reason, e.Hint = explainResponse(er, op, bucket, key)
		// The store's own words: what a user searches for, and proof that the store did answer.
		e.Reason += " (S3 answered " + strings.TrimSpace(fmt.Sprintf("%s %s", statusText(er.StatusCode), er.Code)) + ")"
	} else {
		e.Reason, e.Hint = explainTransport(err, bucket)
	}
	return e
}

// explainResponse covers errors the store answered.
func explainResponse(er minio.ErrorResponse, op, bucket, key string) (reason, hint string) {
	switch er.Code {
	case "AccessDenied", "AllAccessDisabled":
		return accessDenied(op, bucket, key)
	case "NoSuchBucket":
		return fmt.Sprintf("bucket %q does not exist", bucket),
			fmt.Sprintf("check the bucket name, and that %s and %s point at the store that holds it", EnvEndpointURL, EnvRegion)
	case "NoSuchKey":
		return "no such key", ""
	case "InvalidAccessKeyId":
		return "the access key is not known to this store",
			fmt.Sprintf("check %s (or the profile or role in use) and that %s points at the right store", EnvAccessKeyID, EnvEndpointURL)
	case "SignatureDoesNotMatch":
		return "the request signature does not match",
			fmt.Sprintf("check %s for the access key in use", EnvSecretAccessKey)
	case "ExpiredToken", "InvalidToken", "InvalidTokenId", "TokenRefreshRequired":
		return "the session token is invalid or expired",
			fmt.Sprintf("check %s or refresh the credentials", EnvSessionToken)
	case "AuthorizationHeaderMalformed", "InvalidRegion", "AuthorizationQueryParametersError":
		return "wrong region", regionHint(er)
	case "PermanentRedirect", "TemporaryRedirect", "IllegalLocationConstraintException":
		return "the bucket is not served at this endpoint and region",
			regionHint(er) + fmt.Sprintf(", and %s; stores other than AWS S3 usually need %s=true", EnvEndpointURL, EnvForcePathStyle)
	case "PreconditionFailed":
		return "precondition failed: the object changed or exists", ""
	case "SlowDown", "ServiceUnavailable", "XMinioServerNotInitialized", "InternalError":
		return "the store is busy or unavailable", "it may recover; retry later"
	}
	switch er.StatusCode {
	case http.StatusForbidden:
		return accessDenied(op, bucket, key)
	case http.StatusMovedPermanently, http.StatusTemporaryRedirect:
		return "the bucket is not served at this endpoint and region",
			regionHint(er) + fmt.Sprintf(", and %s; stores other than AWS S3 usually need %s=true", EnvEndpointURL, EnvForcePathStyle)
	case http.StatusBadRequest:
		// AWS answers a bare 400 to HEAD requests signed for the wrong region.
		return "bad request", fmt.Sprintf("check %s and %s", EnvRegion, EnvEndpointURL)
	}
	if er.Code != "" {
		return er.Code, ""
	}
	return http.StatusText(er.StatusCode), ""
}

// statusText is "403" for a status code, empty for none.
func statusText(code int) string {
	if code == 0 {
		return ""
	}
	return strconv.Itoa(code)
}

func regionHint(er minio.ErrorResponse) string {
	if er.Region != "" {
		return fmt.Sprintf("set %s=%s (the bucket's region)", EnvRegion, er.Region)
	}
	return fmt.Sprintf("set %s to the bucket's region", EnvRegion)
}

func accessDenied(op, bucket, key string) (reason, hint string) {
	action, resource := iamAction(op), "arn:aws:s3:::"+bucket
	if key != "" && !bucketLevel(action) {
		resource += "/" + key
	}
	hint = fmt.Sprintf("the credentials in use need %s on %s", action, resource)
	if op == OpGetObject || op == OpHeadObject {
		// Without s3:ListBucket, AWS hides whether a key exists and answers 403 instead of 404.
		hint += " (without s3:ListBucket, AWS S3 also answers 403 for a key that does not exist)"
	}
	return "access denied", hint
}

// iamAction maps an S3 API name to the IAM action that authorises it.
func iamAction(op string) string {
	switch op {
	case OpHeadObject, OpGetObject:
		return "s3:GetObject"
	case "ListObjects", "ListObjectsV2", "HeadBucket":
		return "s3:ListBucket"
	case "ListObjectVersions":
		return "s3:ListBucketVersions"
	case "GetBucketVersioning":
		return "s3:GetBucketVersioning"
	}
	return "s3:" + op
}

func bucketLevel(action string) bool {
	return action == "s3:ListBucket" || action == "s3:ListBucketVersions" || action == "s3:GetBucketVersioning"
}

// explainTransport covers errors before any answer: the endpoint, DNS, TLS or credentials are wrong.
func explainTransport(err error, bucket string) (reason, hint string) {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	var recordErr tls.RecordHeaderError
	var netErr net.Error
	switch {
	case errors.Is(err, ErrNoCredentials):
		return "cannot sign the request", ""
	case errors.As(err, &dnsErr):
		hint := fmt.Sprintf("check %s", EnvEndpointURL)
		if strings.HasPrefix(dnsErr.Name, bucket+".") {
			hint += fmt.Sprintf("; the bucket is part of the host name (virtual-host addressing): stores other than AWS S3 need %s=true", EnvForcePathStyle)
		}
		return fmt.Sprintf("cannot resolve host %q", dnsErr.Name), hint
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused", fmt.Sprintf("check the host and port in %s and that the store is running", EnvEndpointURL)
	case errors.As(err, &certErr), errors.As(err, &unknownAuthority), errors.As(err, &hostnameErr):
		return "the store's TLS certificate was not accepted",
			fmt.Sprintf("check %s; a bucket name with dots breaks wildcard certificates under virtual-host addressing (%s=true avoids it)",
				EnvEndpointURL, EnvForcePathStyle)
	case errors.As(err, &recordErr), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "the store does not speak TLS", fmt.Sprintf("use an http:// URL in %s", EnvEndpointURL)
	case strings.Contains(err.Error(), "malformed HTTP response"):
		return "the store speaks TLS", fmt.Sprintf("use an https:// URL in %s", EnvEndpointURL)
	case errors.Is(err, context.Canceled):
		return "canceled", ""
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timed out", fmt.Sprintf("check %s and the network path to the store", EnvEndpointURL)
	}
	return "request failed", ""
}
