package main

import (
	"bytes"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/deploy/deploytest"
	"github.com/flickerlog/flicker/internal/s3client"
)

// TestDeployedFlickerRuns: every flicker container of the deployment files (the chart in every mode with its
// defaults and its full values, the plain manifests, the sidecar example, ECS, Cloud Run) passes arguments this
// CLI parses into the run command, with flag values the run accepts, and a configuration `flicker validate`
// accepts.
func TestDeployedFlickerRuns(t *testing.T) {
	for _, run := range deploytest.AllRuns(t) {
		t.Run(run.Where, func(t *testing.T) {
			// kong reads FLICKER_CONFIG from the environment, as in the container.
			if cfg, ok := run.Env["FLICKER_CONFIG"]; ok {
				t.Setenv("FLICKER_CONFIG", cfg)
			} else {
				t.Setenv("FLICKER_CONFIG", "")
				os.Unsetenv("FLICKER_CONFIG")
			}
			checkRunArgs(t, run)
			if run.Config == "" {
				t.Fatalf("%s: no configuration found for the flicker container", run.Where)
			}
			checkConfig(t, run)
		})
	}
}

func checkRunArgs(t *testing.T, run deploytest.Run) {
	t.Helper()
	var cli CLI
	var stderr bytes.Buffer
	exited := -1
	parser, err := newParser(&cli, io.Discard, &stderr, func(code int) { exited = code })
	if err != nil {
		t.Fatal(err)
	}
	kctx, err := parser.Parse(run.Args)
	if err != nil || exited >= 0 {
		t.Fatalf("args %q do not parse: %v (exit %d) %s", run.Args, err, exited, stderr.String())
	}
	if cmd := kctx.Command(); cmd != "run" {
		t.Fatalf("args %q select %q, want run", run.Args, cmd)
	}
	c := &cli.Run
	mode, err := c.registryMode()
	if err != nil {
		t.Fatal(err)
	}
	if mode.s3 != "" {
		if _, _, err := s3client.ParseURL(mode.s3); err != nil {
			t.Fatalf("--registry-file %s: %v", mode.s3, err)
		}
		if strings.Contains(mode.s3, "$(") {
			t.Fatalf("--registry-file %s: a $(VAR) the container does not define", mode.s3)
		}
	}
	if err := c.statelessFlags.validate(); err != nil {
		t.Fatal(err)
	}
	if c.ShutdownTimeout <= 0 || c.HTTPAddr == "" {
		t.Fatalf("--shutdown-timeout %s, --http-addr %q: want a positive budget and the listener on", c.ShutdownTimeout, c.HTTPAddr)
	}
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`)

// checkConfig runs `flicker validate --config-inline` on the configuration with the environment the container
// gets (the downward API's with sample values); variables that come from Secrets get placeholders.
func checkConfig(t *testing.T, run deploytest.Run) {
	t.Helper()
	for k, v := range run.Env {
		t.Setenv(k, v)
	}
	for _, m := range varRef.FindAllStringSubmatch(run.Config, -1) {
		v, ok := run.Env[m[1]]
		if !ok {
			v = "placeholder-" + strings.ToLower(m[1])
		}
		t.Setenv(m[1], v)
	}
	var stdout, stderr bytes.Buffer
	code := Main([]string{"validate", "--config-inline", run.Config}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("flicker validate exit %d:\n%s\nconfig:\n%s", code, stderr.String(), run.Config)
	}
}
