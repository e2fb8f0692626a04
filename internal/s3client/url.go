package s3client

import (
	"fmt"
	"strings"
)

// ParseURL splits "s3://bucket/key" into its bucket and key. The key keeps everything after the bucket's
// slash verbatim (S3 keys may contain further slashes, spaces and other characters a URL parser would
// mangle); it must not be empty or end in a slash, since a registry is an object, not a folder.
func ParseURL(s string) (bucket, key string, err error) {
	const scheme = "s3://"
	if len(s) < len(scheme) || !strings.EqualFold(s[:len(scheme)], scheme) {
		return "", "", fmt.Errorf("%q: want s3://bucket/key", s)
	}
	rest := s[len(scheme):]
	bucket, key, _ = strings.Cut(rest, "/")
	switch {
	case bucket == "":
		return "", "", fmt.Errorf("%q: no bucket; want s3://bucket/key", s)
	case strings.ContainsAny(bucket, "@:?#"):
		// Not echoed: "user:secret@bucket" would put a secret into the error.
		return "", "", fmt.Errorf("s3:// URL: the part before the first slash is not a bucket name (credentials, ports and queries do not belong in an s3:// URL; want s3://bucket/key)")
	case key == "":
		return "", "", fmt.Errorf("%q: no object key after the bucket; want s3://%s/path/to/object", s, bucket)
	case strings.HasSuffix(key, "/"):
		return "", "", fmt.Errorf("%q: key %q ends in a slash; name an object, not a folder", s, key)
	}
	return bucket, key, nil
}
