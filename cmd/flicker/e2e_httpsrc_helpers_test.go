package main_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// httpEvent is an event of an HTTP source read back from the file output.
type httpEvent struct {
	Message string         `json:"message"`
	ID      string         `json:"id"`
	Time    string         `json:"@timestamp"`
	Fields  map[string]any `json:"fields"`
	Input   struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"input"`
	Source struct {
		Address string `json:"address"`
	} `json:"source"`
}

// writeHTTPSourceConfig writes a config with one http_sources entry on addr (its other keys in entry, indented
// for the entry) and the outputs given as YAML list items.
func writeHTTPSourceConfig(t *testing.T, dir, addr, entry, outputs string) string {
	t.Helper()
	cfg := fmt.Sprintf("http_sources:\n  - name: ingest\n    address: %q\n%soutputs:\n%sbatch:\n  max_wait: 20ms\n",
		addr, entry, outputs)
	path := filepath.Join(dir, "http.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func fileOutput(path string) string {
	return fmt.Sprintf("  - type: file\n    name: out\n    path: %q\n", path)
}

// waitListening waits until flicker accepts connections on addr.
func waitListening(t *testing.T, addr string, p *proc) {
	t.Helper()
	waitFor(t, 30*time.Second, "the http source to listen on "+addr, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, p)
}

type answer struct {
	status int
	header http.Header
	body   string
}

// postTo sends body to url with headers (pairs of name, value); a transport error is returned.
func postTo(client *http.Client, method, url string, body []byte, headers ...string) (answer, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}, err
}

// mustPost is postTo that fails the test on a transport error.
func mustPost(t *testing.T, method, url string, body []byte, headers ...string) answer {
	t.Helper()
	a, err := postTo(&http.Client{Timeout: 30 * time.Second}, method, url, body, headers...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return a
}
