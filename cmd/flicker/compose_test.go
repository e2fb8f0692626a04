package main_test

import (
	"cmp"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/flickerlog/flicker/config"
)

// No Docker engine runs these files here, so the tests read docker-compose.yml and the Dockerfile and hold them to
// what they promise: flicker against the minio service with no persistent state, and a command line the real CLI
// accepts.

// TestComposeMinio checks the storage side: MinIO with root credentials and a health check flicker can wait on.
func TestComposeMinio(t *testing.T) {
	c := loadCompose(t)
	minio := c.Services[minioService]
	if !strings.Contains(minio.Image, "minio/minio") || len(minio.Command) == 0 || minio.Command[0] != "server" {
		t.Errorf("minio service: image %q command %q, want a minio/minio image running `server`", minio.Image, minio.Command)
	}
	if minio.Environment["MINIO_ROOT_USER"] == "" || len(minio.Environment["MINIO_ROOT_PASSWORD"]) < 8 {
		t.Errorf("minio service needs MINIO_ROOT_USER and a MINIO_ROOT_PASSWORD of 8+ characters, got %v", minio.Environment)
	}
	if minio.Healthcheck == nil || len(minio.Healthcheck.Test) == 0 {
		t.Error("minio service has no healthcheck: depends_on service_healthy would never be met")
	}
}

// TestComposeFlickerEnvironment checks that flicker's S3 settings point at the minio service with its credentials,
// and that createbucket creates the bucket of the registry URL on that same server.
func TestComposeFlickerEnvironment(t *testing.T) {
	c := loadCompose(t)
	minio, flicker := c.Services[minioService], c.Services[flickerService]
	env := flicker.Environment

	endpoint, err := url.Parse(env["AWS_ENDPOINT_URL"])
	if err != nil || endpoint.Host == "" {
		t.Fatalf("flicker AWS_ENDPOINT_URL %q is not a URL", env["AWS_ENDPOINT_URL"])
	}
	if endpoint.Scheme != "http" || endpoint.Hostname() != minioService || endpoint.Port() != minioAPIPort(t, minio) {
		t.Errorf("flicker AWS_ENDPOINT_URL = %s, want http://%s:%s (the minio service's S3 API)", endpoint, minioService, minioAPIPort(t, minio))
	}
	if env["AWS_S3_FORCE_PATH_STYLE"] != "true" {
		t.Errorf("flicker AWS_S3_FORCE_PATH_STYLE = %q, want true (MinIO serves path-style URLs)", env["AWS_S3_FORCE_PATH_STYLE"])
	}
	if env["AWS_REGION"] == "" {
		t.Error("flicker has no AWS_REGION")
	}
	if env["AWS_ACCESS_KEY_ID"] != minio.Environment["MINIO_ROOT_USER"] || env["AWS_SECRET_ACCESS_KEY"] != minio.Environment["MINIO_ROOT_PASSWORD"] {
		t.Errorf("flicker's AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (%q/%q) differ from minio's MINIO_ROOT_USER/MINIO_ROOT_PASSWORD (%q/%q)",
			env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], minio.Environment["MINIO_ROOT_USER"], minio.Environment["MINIO_ROOT_PASSWORD"])
	}

	registry, ok := flagValue(flicker.Command, "--registry-file")
	if !ok || registry != "s3://flicker/registry.json" {
		t.Fatalf("flicker command %q: want --registry-file s3://flicker/registry.json", flicker.Command)
	}
	regURL, _ := url.Parse(registry)

	for dep, want := range map[string]string{minioService: "service_healthy", bucketService: "service_completed_successfully"} {
		if got := flicker.DependsOn[dep]; got != want {
			t.Errorf("flicker depends_on %s: condition %q, want %q", dep, got, want)
		}
	}
	if got := c.Services[bucketService].DependsOn[minioService]; got != "service_healthy" {
		t.Errorf("createbucket depends_on minio: condition %q, want service_healthy", got)
	}

	alias, bucket := bucketScript(t, c.Services[bucketService])
	wantAlias := fmt.Sprintf("http://%s:%s", minioService, minioAPIPort(t, minio))
	if alias.url != wantAlias || alias.user != minio.Environment["MINIO_ROOT_USER"] || alias.secret != minio.Environment["MINIO_ROOT_PASSWORD"] {
		t.Errorf("createbucket: mc alias set %s %s %s %s, want %s with minio's root user", alias.name, alias.url, alias.user, alias.secret, wantAlias)
	}
	if bucket != alias.name+"/"+regURL.Host {
		t.Errorf("createbucket makes %q, want %s/%s, the bucket of --registry-file %s", bucket, alias.name, regURL.Host, registry)
	}
}

type mcAlias struct{ name, url, user, secret string }

// bucketScript finds `mc alias set` and `mc mb` in the createbucket service's entrypoint and command.
func bucketScript(t *testing.T, svc composeService) (alias mcAlias, bucket string) {
	t.Helper()
	script := strings.Join(append(slices.Clone(svc.Entrypoint), svc.Command...), "\n")
	for _, stmt := range regexp.MustCompile(`\n|;|&&`).Split(script, -1) {
		f := strings.Fields(stmt)
		switch {
		case len(f) >= 7 && f[0] == "mc" && f[1] == "alias" && f[2] == "set":
			alias = mcAlias{f[3], f[4], f[5], f[6]}
		case len(f) >= 3 && f[0] == "mc" && f[1] == "mb":
			for _, a := range f[2:] {
				if !strings.HasPrefix(a, "-") {
					bucket = a
				}
			}
		}
	}
	if alias.name == "" || bucket == "" {
		t.Fatalf("createbucket: no `mc alias set NAME URL USER SECRET` and `mc mb NAME/BUCKET` in %q", script)
	}
	return alias, bucket
}

// TestComposeFlickerIsStateless checks that flicker keeps nothing on a volume: the state dir is on a tmpfs, the only
// named volume is the logs it reads, and the config is a read-only bind mount.
func TestComposeFlickerIsStateless(t *testing.T) {
	c := loadCompose(t)
	flicker := c.Services[flickerService]

	ctx := filepath.Join(repoRoot, flicker.Build.Context)
	if flicker.Build.Context == "" {
		t.Fatal("flicker has no build: it must be built from the repository's Dockerfile")
	}
	dockerfile := cmp.Or(flicker.Build.Dockerfile, "Dockerfile")
	if _, err := os.Stat(filepath.Join(ctx, dockerfile)); err != nil {
		t.Errorf("flicker build: %v", err)
	}
	if _, err := os.Stat(filepath.Join(ctx, "cmd", "flicker")); err != nil {
		t.Errorf("flicker build context %s is not this repository: %v", flicker.Build.Context, err)
	}

	stateDir, ok := flagValue(flicker.Command, "--state-dir")
	if !ok {
		t.Fatalf("flicker command %q has no --state-dir", flicker.Command)
	}
	onTmpfs := false
	for _, tm := range flicker.Tmpfs {
		target, _, _ := strings.Cut(tm, ":")
		onTmpfs = onTmpfs || under(stateDir, target)
	}
	if !onTmpfs {
		t.Errorf("flicker --state-dir %s is not on one of its tmpfs mounts %q", stateDir, flicker.Tmpfs)
	}

	writerVolumes := map[string]bool{}
	for _, m := range c.Services[writerService].Volumes {
		if m.Type == "volume" && !m.ReadOnly {
			writerVolumes[m.Source] = true
		}
	}
	for _, m := range flicker.Volumes {
		if under(stateDir, m.Target) {
			t.Errorf("flicker mounts %s:%s over its state dir %s: the state must be ephemeral", m.Source, m.Target, stateDir)
		}
		switch {
		case m.Type == "volume" && m.ReadOnly && writerVolumes[m.Source]:
			// the logs the logwriter writes
		case m.Type == "bind" && m.ReadOnly:
			if fi, err := os.Stat(filepath.Join(repoRoot, m.Source)); err != nil || fi.IsDir() {
				t.Errorf("flicker bind mount %s: want a file in the repository (err %v)", m.Source, err)
			}
		default:
			t.Errorf("flicker mounts %+v: only the logwriter's volume (read-only) and read-only config files are allowed; no volume for state", m)
		}
	}
}

// hostConfig returns flicker's command line with the -c path replaced by the repository file mounted there.
func hostConfig(t *testing.T, flicker composeService) (args []string, configPath string) {
	t.Helper()
	inContainer, ok := flagValue(flicker.Command, "-c", "--config")
	if !ok {
		t.Fatalf("flicker command %q has no -c", flicker.Command)
	}
	for _, m := range flicker.Volumes {
		if m.Type == "bind" && m.Target == inContainer {
			configPath, _ = filepath.Abs(filepath.Join(repoRoot, m.Source))
		}
	}
	if configPath == "" {
		t.Fatalf("no bind mount provides flicker's -c %s", inContainer)
	}
	args = slices.Clone(flicker.Command)
	for i, a := range args {
		switch {
		case (a == "-c" || a == "--config") && i+1 < len(args):
			args[i+1] = configPath
		case strings.HasPrefix(a, "--config="):
			args[i] = "--config=" + configPath
		}
	}
	return args, configPath
}

// TestComposeFlickerCommandLine runs the built binary on the compose command line. kong reads every argument
// before it acts on --help, so an unknown flag or a bad value still fails (exit 2) while a valid line prints help
// (exit 0); the control case proves that on this very line. The mounted config must pass `flicker validate`, and
// its inputs must cover the file the logwriter writes.
func TestComposeFlickerCommandLine(t *testing.T) {
	c := loadCompose(t)
	flicker := c.Services[flickerService]
	args, configPath := hostConfig(t, flicker)

	run := func(args ...string) (int, string) {
		cmd := exec.Command(binary, args...)
		cmd.Dir = t.TempDir()
		out, _ := cmd.CombinedOutput()
		return cmd.ProcessState.ExitCode(), string(out)
	}
	if code, out := run(append(slices.Clone(args), "--help")...); code != 0 {
		t.Errorf("flicker %s --help: exit %d, want 0 (the CLI rejects the compose command line):\n%s", strings.Join(args, " "), code, out)
	}
	if code, out := run(append(slices.Clone(args), "--compose-test-bogus", "--help")...); code != 2 || !strings.Contains(out, "--compose-test-bogus") {
		t.Errorf("control: an unknown flag with --help exited %d, want 2 naming the flag; the check above proves nothing:\n%s", code, out)
	}
	if code, out := run("validate", "-c", configPath); code != 0 {
		t.Errorf("flicker validate -c %s: exit %d:\n%s", configPath, code, out)
	}

	cfg, err := config.Load(configPath)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(cfg.Outputs, func(o config.Output) bool { return o.Type == "stdout" }) {
		t.Errorf("%s: no stdout output; the README says `docker compose logs flicker` shows the events", configPath)
	}
	written := writtenLogs(t, c.Services[writerService])
	var globs []string
	for _, in := range cfg.LogFiles {
		globs = append(globs, in.Paths...)
	}
	covered := false
	for _, w := range written {
		p, ok := inFlicker(c, w)
		for _, g := range globs {
			if m, _ := doublestar.Match(g, p); ok && m {
				covered = true
			}
		}
	}
	if !covered {
		t.Errorf("the logwriter writes %q, but flicker reads %q: no glob matches a written file through the shared volume", written, globs)
	}
}

// writtenLogs lists the paths in the logwriter's command that lie on one of its volumes.
func writtenLogs(t *testing.T, writer composeService) []string {
	t.Helper()
	var paths []string
	for _, arg := range append(slices.Clone(writer.Entrypoint), writer.Command...) {
		for _, f := range strings.Fields(arg) {
			f = strings.Trim(f, `"'`)
			for _, m := range writer.Volumes {
				if strings.HasPrefix(f, m.Target+"/") && !slices.Contains(paths, f) {
					paths = append(paths, f)
				}
			}
		}
	}
	if len(paths) == 0 {
		t.Fatalf("the logwriter's command writes no file on its volumes %v", writer.Volumes)
	}
	return paths
}

// inFlicker translates a path in the logwriter container to the same file in the flicker container.
func inFlicker(c composeFile, p string) (string, bool) {
	for _, wm := range c.Services[writerService].Volumes {
		rel, ok := strings.CutPrefix(p, wm.Target+"/")
		if !ok || wm.Type != "volume" {
			continue
		}
		for _, fm := range c.Services[flickerService].Volumes {
			if fm.Type == "volume" && fm.Source == wm.Source {
				return fm.Target + "/" + rel, true
			}
		}
	}
	return "", false
}

// TestComposeInterpolation catches a shell `$` that compose would try to interpolate: in values every `$` must be
// `$$` (a literal for the container) or an explicit `${VAR}`.
func TestComposeInterpolation(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		for j := 0; j < len(l); j++ {
			if l[j] != '$' {
				continue
			}
			if j+1 < len(l) && l[j+1] == '$' {
				j++
				continue
			}
			if !strings.HasPrefix(l[j:], "${") {
				t.Errorf("docker-compose.yml:%d: unescaped $ (write $$ for the shell): %s", i+1, strings.TrimSpace(l))
			}
		}
	}
}

// TestComposeDockerfile checks the image flicker is built into: a Go build stage matching go.mod, a static
// (CGO-free) binary with the zone database embedded, on distroless static as nonroot.
func TestComposeDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	// Join continuation lines and drop comments: one instruction per entry.
	var instrs []string
	text := regexp.MustCompile(`\\\n`).ReplaceAllString(string(data), " ")
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			instrs = append(instrs, strings.Join(strings.Fields(l), " "))
		}
	}

	type stage struct {
		image, name string
		instrs      []string
	}
	var stages []stage
	for _, in := range instrs {
		if f := strings.Fields(in); strings.EqualFold(f[0], "FROM") {
			s := stage{image: f[len(f)-1]}
			if len(f) == 4 && strings.EqualFold(f[2], "AS") {
				s.image, s.name = f[1], f[3]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) > 0 {
			stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a multi-stage build", len(stages))
	}
	buildStage, final := stages[0], stages[len(stages)-1]

	gomod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if goLine == nil {
		t.Fatal("go.mod has no go line")
	}
	if want := "golang:" + string(goLine[1]); !strings.HasPrefix(buildStage.image, want) {
		t.Errorf("build stage FROM %s, want %s (go.mod's go line)", buildStage.image, want)
	}

	var goBuild string
	for _, in := range buildStage.instrs {
		if strings.HasPrefix(in, "RUN") && strings.Contains(in, "go build") {
			goBuild = in
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=", "./cmd/flicker"} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("the go build step lacks %s: %q", want, goBuild)
		}
	}
	if tags, _ := flagValue(strings.Fields(goBuild), "-tags"); !slices.Contains(strings.Split(tags, ","), "timetzdata") {
		t.Errorf("the go build step does not embed the zone database (-tags timetzdata): %q", goBuild)
	}

	if !strings.HasPrefix(final.image, "gcr.io/distroless/static") || !strings.HasSuffix(final.image, ":nonroot") {
		t.Errorf("final stage FROM %s, want gcr.io/distroless/static...:nonroot", final.image)
	}
	wantFinal := map[string]bool{
		"COPY --from=" + buildStage.name + " ": false,
		"USER nonroot":                         false,
		`ENTRYPOINT ["/flicker"]`:              false,
	}
	for _, in := range final.instrs {
		for prefix := range wantFinal {
			if strings.HasPrefix(in, prefix) {
				wantFinal[prefix] = true
			}
		}
	}
	if buildStage.name == "" {
		t.Error("the build stage has no name (FROM ... AS build) for the final stage to copy from")
	}
	for prefix, found := range wantFinal {
		if !found {
			t.Errorf("final stage has no %q... instruction", prefix)
		}
	}
}

// TestComposeDockerignore checks that the build context leaves out the bulky and local files but keeps what the
// build needs.
func TestComposeDockerignore(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, strings.Trim(l, "/"))
		}
	}
	// excluded reports whether p or one of its parent directories matches a pattern (.dockerignore semantics;
	// negations are not used here).
	excluded := func(p string) bool {
		for dir := p; dir != "."; dir = filepath.Dir(dir) {
			for _, pat := range patterns {
				if m, _ := filepath.Match(pat, dir); m {
					return true
				}
			}
		}
		return false
	}
	for _, p := range []string{".git", "bin", "data", "benchmarks/data"} {
		if !excluded(p) {
			t.Errorf(".dockerignore does not exclude %s", p)
		}
	}
	// Every directory of this module that the binary is built from, as go list sees it.
	list := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{if .Main}}{{$.Dir}}{{end}}{{end}}", "./cmd/flicker")
	list.Dir = repoRoot
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	needed := []string{"go.mod", "go.sum"}
	for _, dir := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		needed = append(needed, rel)
	}
	if len(needed) < 5 {
		t.Fatalf("go list found only %q", needed)
	}
	for _, p := range needed {
		if excluded(p) {
			t.Errorf(".dockerignore excludes %s, which the build needs", p)
		}
	}
}
