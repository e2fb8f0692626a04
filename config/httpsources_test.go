package config_test

import (
	"strings"
	"testing"

	"github.com/flickerlog/flicker/config"
	httpsrc "github.com/flickerlog/flicker/sources/http"
)

func TestParseHTTPSources(t *testing.T) {
	c, err := config.Parse([]byte(`http_sources:
  - name: ingest
    address: ":8088"
    auth_token: t0ken
outputs:
  - type: discard
`), "agg.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := c.HTTPSources[0]
	if len(h.Formats) != 4 || h.MaxBodyBytes != httpsrc.DefaultMaxBodyBytes || h.AckTimeout != httpsrc.DefaultAckTimeout {
		t.Fatalf("defaults not applied: %+v", h)
	}
	if s := c.Summary(); !strings.Contains(s, "1 input (http_sources: ingest)") {
		t.Errorf("summary %q", s)
	}
}

func TestHTTPSourcesErrorsNameTheField(t *testing.T) {
	_, err := config.Parse([]byte(`http_sources:
  - name: a
    address: ":8088"
    formats: [ndjson, gelf]
    max_body_bytes: 0
  - name: b
    address: ":8088"
  - name: c
    address: "nowhere"
outputs:
  - type: discard
`), "agg.yaml")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`agg.yaml:4:`, `http_sources[0].formats[1]`, `unknown format "gelf"`,
		`http_sources[0].max_body_bytes`, `must be positive`,
		`http_sources[1].address`, `also http_sources[0]`,
		`http_sources[2].address`, `host:port`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
