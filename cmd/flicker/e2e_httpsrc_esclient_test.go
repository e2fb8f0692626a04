package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// esjsVersion is the @elastic/elasticsearch version `make tools` installs (ESJS_VERSION in the Makefile).
const esjsVersion = "8.19.1"

// esjsModules returns the node_modules folder holding the official Elasticsearch JavaScript client, failing the
// test (never skipping it) when node or the client is missing.
func esjsModules(t *testing.T) (node, modules string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed: run `make tools` (%v)", err)
	}
	dir := os.Getenv("TOOLS_DIR")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(home, ".cache", "flicker-tools")
	}
	modules = filepath.Join(dir, "esjs-"+esjsVersion, "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "@elastic", "elasticsearch", "package.json")); err != nil {
		t.Fatalf("the Elasticsearch JavaScript client %s is not installed in %s: run `make tools` (%v)", esjsVersion, modules, err)
	}
	return node, modules
}

// TestHTTPSourceOfficialElasticsearchClient: the official JavaScript client passes its product check on GET /
// and its bulk helper delivers every document through flicker into the file output.
func TestHTTPSourceOfficialElasticsearchClient(t *testing.T) {
	t.Parallel()
	node, modules := esjsModules(t)
	dir, addr := t.TempDir(), freeAddr(t)
	out := filepath.Join(dir, "out.ndjson")
	p := start(t, dir, "-c", writeHTTPSourceConfig(t, dir, addr, "    auth_token: js-token\n", fileOutput(out)))
	waitListening(t, addr, p)

	const docs = 300
	script, err := filepath.Abs(filepath.Join("testdata", "httpsrc_esclient.js"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, script)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "FLICKER_URL=http://"+addr, "FLICKER_TOKEN=js-token",
		fmt.Sprintf("DOCS=%d", docs))
	done := make(chan struct{})
	var output []byte
	go func() {
		output, err = cmd.CombinedOutput()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the client did not finish within a minute: %s", output)
	}
	if err != nil {
		t.Fatalf("the client failed: %v\n%s\nflicker logs:\n%s", err, output, p.logs())
	}
	var seen struct {
		Version                            string
		Total, Successful, Failed, Dropped int
	}
	lines := strings.Split(strings.TrimSpace(string(output)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &seen); err != nil {
		t.Fatalf("client output %q: %v", output, err)
	}
	if !strings.HasPrefix(seen.Version, "8.") || seen.Total != docs || seen.Successful != docs || seen.Failed != 0 || seen.Dropped != 0 {
		t.Fatalf("the client saw %+v, want version 8.x and %d documents successful", seen, docs)
	}
	p.stop()
	counts := map[string]int{}
	for _, ev := range readEvents[httpEvent](t, out) {
		counts[ev.Message]++
		if ev.Fields["n"] == nil {
			t.Fatalf("the document was not kept: %+v", ev)
		}
	}
	for i := range docs {
		if counts[fmt.Sprintf("esjs %d", i)] != 1 {
			t.Fatalf("document %d arrived %d times", i, counts[fmt.Sprintf("esjs %d", i)])
		}
	}
}
