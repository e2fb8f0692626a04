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

// An http source and a tcp syslog source cannot listen on one address; a udp syslog source can share its port,
// and port 0 (a free port each time) is never a clash.
func TestListeningAddressesAcrossKinds(t *testing.T) {
	_, err := config.Parse([]byte(`syslog_sources:
  - name: tcp
    address: ":5514"
  - name: udp
    address: ":5514"
    protocol: udp
  - name: any1
    address: "127.0.0.1:0"
http_sources:
  - name: ingest
    address: ":5514"
  - name: any2
    address: "127.0.0.1:0"
outputs:
  - type: discard
`), "agg.yaml")
	if err == nil {
		t.Fatal("an http source on a tcp syslog source's address passed")
	}
	msg := err.Error()
	if !strings.Contains(msg, `agg.yaml:11:`) || !strings.Contains(msg, `http_sources[0].address`) ||
		!strings.Contains(msg, `also syslog_sources[0]'s`) {
		t.Errorf("error %q does not name http_sources[0].address at line 11 and syslog_sources[0]", msg)
	}
	if strings.Contains(msg, "syslog_sources[1]") || strings.Contains(msg, "any") || strings.Count(msg, "listens on its own") != 1 {
		t.Errorf("error %q: only http_sources[0] clashes", msg)
	}
}
