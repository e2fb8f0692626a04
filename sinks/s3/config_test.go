package s3out_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/internal/fielderr"
	s3out "github.com/flickerlog/flicker/sinks/s3"
)

func TestSetDefaults(t *testing.T) {
	var c s3out.Config
	c.SetDefaults()
	want := s3out.Config{Prefix: "%{input}/%{+yyyy/MM/dd/HH}/", Compression: "gzip", MaxObjectBytes: 8 << 20,
		MaxObjectAge: 30 * time.Second, MaxOpenObjects: 16, UploadTimeout: time.Minute}
	if c.String() != want.String() {
		t.Errorf("defaults %v, want %v", c, want)
	}
	set := s3out.Config{Prefix: "p/", Compression: "zstd", MaxObjectBytes: 1, MaxObjectAge: time.Second,
		MaxOpenObjects: 1, UploadTimeout: time.Second}
	kept := set
	kept.SetDefaults()
	if kept.String() != set.String() {
		t.Errorf("SetDefaults changed set fields: %v, want %v", kept, set)
	}
}

func TestValidate(t *testing.T) {
	valid := func() s3out.Config {
		c := s3out.Config{Bucket: "logs"}
		c.SetDefaults()
		return c
	}
	tests := []struct {
		name   string
		modify func(*s3out.Config)
		errs   map[string]string // field path -> substring of its error; empty: valid
	}{
		{name: "defaults", modify: func(*s3out.Config) {}},
		{name: "every option", modify: func(c *s3out.Config) {
			c.Prefix, c.Compression = "logs/%{input}/%{+yyyy-MM-dd}/%{+HH.mm}/", "none"
			c.Endpoint, c.Region, c.PathStyle = "http://minio:9000", "eu-west-1", new(bool)
		}},
		{name: "no bucket", modify: func(c *s3out.Config) { c.Bucket = "" }, errs: map[string]string{"bucket": "required"}},
		{name: "bucket URL", modify: func(c *s3out.Config) { c.Bucket = "s3://logs/app" },
			errs: map[string]string{"bucket": "prefix"}},
		{name: "bucket with a path", modify: func(c *s3out.Config) { c.Bucket = "logs/app" },
			errs: map[string]string{"bucket": "not a bucket name"}},
		{name: "unknown placeholder", modify: func(c *s3out.Config) { c.Prefix = "%{host}/" },
			errs: map[string]string{"prefix": "unknown placeholder %{host}"}},
		{name: "unclosed placeholder", modify: func(c *s3out.Config) { c.Prefix = "%{input/" },
			errs: map[string]string{"prefix": "not closed"}},
		{name: "unknown date token", modify: func(c *s3out.Config) { c.Prefix = "%{+YYYY/MM}/" },
			errs: map[string]string{"prefix": "unknown date token"}},
		{name: "empty date", modify: func(c *s3out.Config) { c.Prefix = "%{+}/" },
			errs: map[string]string{"prefix": "empty date pattern"}},
		{name: "leading slash", modify: func(c *s3out.Config) { c.Prefix = "/logs/" },
			errs: map[string]string{"prefix": "leading slash"}},
		{name: "compression", modify: func(c *s3out.Config) { c.Compression = "lz4" },
			errs: map[string]string{"compression": "gzip, zstd, none"}},
		{name: "sizes and durations", modify: func(c *s3out.Config) {
			c.MaxObjectBytes, c.MaxObjectAge, c.MaxOpenObjects, c.UploadTimeout = -1, -time.Second, -1, -time.Second
		}, errs: map[string]string{"max_object_bytes": "between 1", "max_object_age": "positive",
			"max_open_objects": "at least 1", "upload_timeout": "positive"}},
		{name: "object over one PUT", modify: func(c *s3out.Config) { c.MaxObjectBytes = 6 << 30 },
			errs: map[string]string{"max_object_bytes": "5 GiB"}},
		{name: "endpoint without scheme", modify: func(c *s3out.Config) { c.Endpoint = "minio:9000" },
			errs: map[string]string{"endpoint": "http:// or https://"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.modify(&c)
			err := c.Validate()
			got := map[string]string{}
			for _, e := range unjoin(err) {
				var fe *fielderr.Error
				if !errors.As(e, &fe) {
					t.Fatalf("%v is not a fielderr.Error", e)
				}
				got[fe.Path] = fe.Err.Error()
			}
			if len(got) != len(tt.errs) {
				t.Fatalf("errors %v, want fields %v", got, tt.errs)
			}
			for path, sub := range tt.errs {
				if !strings.Contains(got[path], sub) {
					t.Errorf("%s: %q does not contain %q", path, got[path], sub)
				}
			}
		})
	}
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestEndpointCredentialsNeverShown(t *testing.T) {
	const secret = "s3cr3t-passw0rd"
	c := s3out.Config{Bucket: "logs", Endpoint: "http://user:" + secret + "@minio:9000"}
	c.SetDefaults()
	err := c.Validate()
	if err == nil {
		t.Fatal("credentials in the endpoint URL accepted")
	}
	for _, out := range []string{err.Error(), c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c),
		fmt.Sprintf("%#v", c), fmt.Sprintf("%v", &c)} {
		if strings.Contains(out, secret) {
			t.Errorf("secret shown in %q", out)
		}
	}
}

func TestClientOverrides(t *testing.T) {
	yes := true
	c := s3out.Config{Endpoint: "http://minio:9000", Region: "eu-west-1", PathStyle: &yes}
	o := c.ClientOverrides()
	if o.Endpoint != c.Endpoint || o.Region != c.Region || o.PathStyle == nil || !*o.PathStyle {
		t.Errorf("overrides %v", o)
	}
}
