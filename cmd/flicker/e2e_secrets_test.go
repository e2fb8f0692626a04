package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"

	"github.com/flickerlog/flicker/snapshot"
	"github.com/flickerlog/flicker/sources/api/apitest"
	"github.com/flickerlog/flicker/sources/api/oktatest"
	"github.com/flickerlog/flicker/store"
)

// TestRegistryCommandsOnNotARegistry: every registry command on an empty file or a text file says the file is
// not a flicker registry and which flag to check, exits 2, and leaves the file as it was (show on an empty file
// used to say "bad file descriptor", and reset turned it into a new registry).
func TestRegistryCommandsOnNotARegistry(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	export := filepath.Join(dir, "export.json")
	if err := os.WriteFile(export, []byte(`{"format":"flicker-registry","version":2,"meta":{},"files":[],"cursors":[]}`),
		0o600); err != nil {
		t.Fatal(err)
	}
	for _, file := range []struct{ name, content string }{{"empty.db", ""}, {"text.db", "hello\n"}} {
		path := filepath.Join(dir, file.name)
		if err := os.WriteFile(path, []byte(file.content), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"show"}, {"export"}, {"reset", "app"}, {"import", export}} {
			cmd := exec.Command(binary, append(append([]string{"registry"}, args...), "--registry-file", path)...)
			out, _ := cmd.CombinedOutput()
			code := cmd.ProcessState.ExitCode()
			if code != 2 || !strings.Contains(string(out), "not a flicker registry") ||
				!strings.Contains(string(out), "--registry-file") || strings.Contains(string(out), "bad file descriptor") {
				t.Errorf("registry %s on %s: exit %d, want 2 and a message saying it is not a flicker registry:\n%s",
					args[0], file.name, code, out)
			}
			if after, err := os.ReadFile(path); err != nil || string(after) != file.content {
				t.Fatalf("registry %s changed %s: %d bytes, err %v", args[0], file.name, len(after), err)
			}
		}
	}
}

// TestRegistryShowEscapesNames: registry show prints a tracked file whose name holds a newline, an ANSI escape
// and invalid UTF-8 as one Go-quoted field, so it neither forges a row nor reaches the terminal, while a plain
// name stays as it is.
func TestRegistryShowEscapesNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	reg := filepath.Join(dir, "reg.db")
	evil := filepath.Join(dir, "evil\napp\tforged.log\t1\t0\t99\t99\t0\t2026-01-01T00:00:00Z\x1b[31mred\xff\xfe.log")
	plain := filepath.Join(dir, "plain.log")
	appendLines(t, evil, "evil", 0, 5)
	appendLines(t, plain, "plain", 0, 5)
	cfg := writeConfig(t, dir, filepath.Join(dir, "*.log"), out, "")
	p := start(t, dir, "-c", cfg, "--registry-file", reg)
	waitFor(t, 30*time.Second, "10 lines", func() bool { return len(readOutput(t, out)) >= 10 }, p)
	p.stop()

	show, err := exec.Command(binary, "registry", "show", "--registry-file", reg).CombinedOutput()
	if err != nil {
		t.Fatalf("registry show: %v\n%s", err, show)
	}
	if strings.ContainsAny(string(show), "\x1b\r") || !strings.HasSuffix(string(show), "\n") {
		t.Fatalf("registry show output has a raw escape or carriage return:\n%q", show)
	}
	lines := strings.Split(strings.TrimSuffix(string(show), "\n"), "\n")
	// The meta line, the header, one row per file: a forged row would make more.
	if len(lines) != 4 {
		t.Fatalf("registry show printed %d lines, want 4 (meta, header, 2 files):\n%s", len(lines), show)
	}
	rows := map[string]string{}
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		if len(f) != 8 || f[0] != "app" {
			t.Fatalf("row %q: want 8 columns of input app", l)
		}
		rows[f[1]] = l
	}
	if _, ok := rows[plain]; !ok {
		t.Errorf("the plain name %s is not printed as it is:\n%s", plain, show)
	}
	quoted := strconv.Quote(evil)
	if !strings.Contains(string(show), " "+quoted+" ") {
		t.Errorf("the evil name is not printed Go-quoted as %s:\n%s", quoted, show)
	}
	if !utf8.Valid(show) {
		t.Errorf("registry show printed invalid UTF-8:\n%q", show)
	}
}

// secretFree fails the test when any of secrets is in b (what names where it was found).
func secretFree(t *testing.T, what string, b []byte, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("%s contains the secret %q", what, s)
		}
	}
}

// fetchSnapshot downloads and decompresses the snapshot at key into a file and returns its bytes and its
// cursors; ok is false when there is no object at key.
func (f *s3Fixture) fetchSnapshot(key string) (raw []byte, cursors map[string]store.CursorRecord, ok bool) {
	f.t.Helper()
	if _, err := f.client.StatObject(f.ctx(), f.keys.Bucket, key, minio.StatObjectOptions{}); err != nil {
		return nil, nil, false
	}
	path := filepath.Join(f.t.TempDir(), "snapshot.db")
	if _, _, err := snapshot.Fetch(f.ctx(), f.client, f.keys.Bucket, key, "", path, nil); err != nil {
		f.t.Fatalf("fetch %s: %v", key, err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		f.t.Fatal(err)
	}
	db, err := store.Open(path, store.Options{ReadOnly: true}, zerolog.Nop())
	if err != nil {
		f.t.Fatalf("open %s: %v", key, err)
	}
	defer db.Close()
	all, err := db.AllCursors()
	if err != nil {
		f.t.Fatal(err)
	}
	cursors = map[string]store.CursorRecord{}
	for _, c := range all {
		cursors[c.Input] = c
	}
	return raw, cursors, true
}

// TestAPISecretsNotAtRest: a generic source with params {api_key: ...} and a bearer token, and an Okta source
// with private_token and client_secret params, both against emulators that echo every query parameter in their
// next links. After they page, no secret is in the local state file, the decompressed latest snapshot, a history
// slot, registry export, registry show, the logs (debug) or /metrics, while the saved next links keep their
// cursors with placeholders; a new pod resumes from the snapshot's next link with the configured secret put back.
func TestAPISecretsNotAtRest(t *testing.T) {
	t.Parallel()
	const (
		apiKey    = "SECRETVALUE123"
		bearer    = "GENERICBEARER456"
		oktaToken = "OKTATOKEN789xyz"
		private   = "OKTAPRIVATE321"
		client    = "OKTACLIENT654"
	)
	secrets := []string{apiKey, bearer, oktaToken, private, client}
	f := newS3Fixture(t)
	gh := apitest.StartLinkHeader(t, apitest.LinkHeaderOptions{Token: bearer})
	org := oktatest.Start(t, oktatest.Options{Token: oktaToken})
	ghIDs, oktaIDs := gh.Add(95), org.Add(250)
	f.config = writeAPIConfig(t, f.dir, f.outPath,
		apiSource("github", gh.Endpoint(), "type: generic", "polling_frequency_ms: 100",
			fmt.Sprintf("auth: {bearer_token: %q}", bearer), "id_path: "+apitest.LinkHeaderIDField,
			fmt.Sprintf("time_path: %q", apitest.LinkHeaderTimeField),
			fmt.Sprintf("params: {%s: asc, %s: \"10\", api_key: %q}", apitest.LinkHeaderOrder,
				apitest.LinkHeaderLimit, apiKey)),
		apiSource("okta-audit", org.Endpoint(), "type: okta", "polling_frequency_ms: 100",
			fmt.Sprintf("auth: {okta_token: %q}", oktaToken),
			fmt.Sprintf("params: {limit: \"100\", private_token: %q, client_secret: %q}", private, client)))
	addr := freeAddr(t)
	history := []string{"--history-interval", "1s", "--history-slots", "4"}
	p := f.run("pod1", append([]string{"--http-addr", addr, "--log-level", "debug"}, history...)...)
	waitIDs(t, time.Minute, f.outPath, ghIDs, "github: the first 95 items", p)
	waitIDs(t, time.Minute, f.outPath, oktaIDs, "okta: the first 250 items", p)

	// A history slot holding both cursors after their last page. Slots are written after an upload, which
	// follows a commit: a few items now and then keep both sources saving cursors while the slots rotate.
	var slot []byte
	waitFor(t, time.Minute, "a history slot with both cursors", func() bool {
		ghIDs = append(ghIDs, gh.Add(1)...)
		org.Add(1)
		for n := range 4 {
			raw, cursors, ok := f.fetchSnapshot(f.keys.History(n))
			if ok && len(cursors["github"].RecentIDs) > 0 && len(cursors["okta-audit"].RecentIDs) >= 250 {
				slot = raw
				secretFree(t, "history slot "+f.keys.History(n), raw, secrets)
				return true
			}
		}
		return false
	}, p)
	_, metrics, err := get("http://" + addr + "/metrics")
	if err != nil || !strings.Contains(metrics, "flicker_") {
		t.Fatalf("/metrics: %v\n%s", err, metrics)
	}
	secretFree(t, "/metrics", []byte(metrics), secrets)
	p.stop()

	raw, cursors, ok := f.fetchSnapshot(f.keys.Latest)
	if !ok {
		t.Fatal("no latest snapshot")
	}
	secretFree(t, "the decompressed latest snapshot", raw, secrets)
	// The links were echoed with the secrets and kept with placeholders, their cursors intact.
	if c := cursors["github"].Cursor; !strings.Contains(c, "api_key={flicker-secret:params.api_key}") ||
		!strings.Contains(c, "after=") {
		t.Errorf("github's saved next link %q: want the after cursor and a placeholder for api_key", c)
	}
	if c := cursors["okta-audit"].Cursor; !strings.Contains(c, "private_token={flicker-secret:params.private_token}") ||
		!strings.Contains(c, "client_secret={flicker-secret:params.client_secret}") || !strings.Contains(c, "after=") {
		t.Errorf("okta's saved next link %q: want the after cursor and placeholders", c)
	}
	if len(slot) == 0 {
		t.Fatal("no history slot was read")
	}
	state := 0
	err = filepath.WalkDir(filepath.Join(f.dir, "state-pod1"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		state++
		secretFree(t, "the state file "+path, b, secrets)
		return err
	})
	if err != nil || state == 0 {
		t.Fatalf("state dir: %d files, %v", state, err)
	}
	for _, cmd := range []string{"export", "show"} {
		code, out := f.flicker("registry", cmd, "--registry-file", f.registry)
		if code != 0 || !strings.Contains(out, "okta-audit") || !strings.Contains(out, "github") {
			t.Fatalf("registry %s: exit %d:\n%s", cmd, code, out)
		}
		secretFree(t, "registry "+cmd, []byte(out), secrets)
	}
	secretFree(t, "the logs", []byte(p.stderr.String()), secrets)

	// A new pod resumes from the snapshot's next link, the configured api_key put back.
	more := gh.Add(15)
	before := len(gh.RequestLog())
	p2 := f.run("pod2", history...)
	waitIDs(t, time.Minute, f.outPath, more, "github: items added while stopped", p2)
	p2.stop()
	exactlyOnceIDs(t, readAPIOutput(t, f.outPath), "github", append(ghIDs, more...))
	first := gh.RequestLog()[before]
	q, err := url.Parse(first)
	if err != nil || q.Query().Get("api_key") != apiKey || q.Query().Get("after") == "" {
		t.Fatalf("first request of the new pod %q: want the saved after cursor and the configured api_key", first)
	}
	if logs := p2.stderr.String(); strings.Contains(logs, "configuration changed") {
		t.Fatalf("the new pod saw a configuration change:\n%s", p2.logs())
	}
	secretFree(t, "the logs of the new pod", []byte(p2.stderr.String()), secrets)
}

// writeLegacyCursor rewrites input's cursor in reg as the previous build stored it: encoding 1 with the params
// in clear, the next link with their values, and no params key in meta.
func writeLegacyCursor(t *testing.T, reg, input string, params map[string]string) {
	t.Helper()
	bdb, err := bolt.Open(reg, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	err = bdb.Update(func(tx *bolt.Tx) error {
		cursors := tx.Bucket([]byte("cursors"))
		v := cursors.Get([]byte(input))
		if len(v) == 0 || v[0] != 2 {
			return fmt.Errorf("cursor of %s: %q, want encoding 2", input, v)
		}
		var c map[string]any
		if err := json.Unmarshal(v[1:], &c); err != nil {
			return err
		}
		next, _ := c["cursor"].(string)
		for name, value := range params {
			next = strings.ReplaceAll(next, "{flicker-secret:params."+name+"}", value)
		}
		c["cursor"], c["params"] = next, params
		delete(c, "params_sum")
		old, err := json.Marshal(c)
		if err != nil {
			return err
		}
		if err := tx.Bucket([]byte("meta")).Delete([]byte("params_key")); err != nil {
			return err
		}
		return cursors.Put([]byte(input), append([]byte{1}, old...))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAPILegacyCursorUpgrade: a registry whose cursor an older flicker stored with its secret params in clear
// (in the cursor and in its next link) is read after the upgrade: the source resumes from that next link (no
// "configuration changed", every event once, the secrets sent), and the file no longer holds the secrets.
func TestAPILegacyCursorUpgrade(t *testing.T) {
	t.Parallel()
	const private, client = "LEGACYPRIV111", "LEGACYCLIENT222"
	org := oktatest.Start(t, oktatest.Options{Token: apiToken})
	first := org.Add(250)
	dir := t.TempDir()
	out, reg := filepath.Join(dir, "out.ndjson"), filepath.Join(dir, "reg.db")
	cfg := writeAPIConfig(t, dir, out, apiSource("okta-audit", org.Endpoint(), "type: okta",
		"polling_frequency_ms: 100", fmt.Sprintf("auth: {okta_token: %q}", apiToken),
		fmt.Sprintf("params: {limit: \"100\", private_token: %q, client_secret: %q}", private, client)))
	args := []string{"-c", cfg, "--registry-file", reg, "--log-format", "json", "--once"}
	if p := start(t, dir, args...); p.wait(time.Minute) != 0 {
		t.Fatalf("first run failed:\n%s", p.logs())
	}
	writeLegacyCursor(t, reg, "okta-audit", map[string]string{"limit": "100", "private_token": private,
		"client_secret": client})
	if raw, err := os.ReadFile(reg); err != nil || !bytes.Contains(raw, []byte(private)) {
		t.Fatalf("the legacy registry should hold the secret (err %v)", err)
	}

	later := org.Add(40)
	before := len(org.RequestLog())
	p := start(t, dir, args...)
	if code := p.wait(time.Minute); code != 0 {
		t.Fatalf("run after the upgrade: exit %d:\n%s", code, p.logs())
	}
	if logs := p.stderr.String(); strings.Contains(logs, "configuration changed") ||
		!strings.Contains(logs, "api source resumes from its saved cursor") {
		t.Fatalf("the upgraded cursor was not resumed as it was:\n%s", p.logs())
	}
	q, err := url.Parse(org.RequestLog()[before])
	if err != nil || q.Query().Get("after") == "" || q.Query().Get("since") != "" ||
		q.Query().Get("private_token") != private || q.Query().Get("client_secret") != client {
		t.Fatalf("first request after the upgrade %q: want the saved after cursor and the configured secrets",
			org.RequestLog()[before])
	}
	exactlyOnceIDs(t, readAPIOutput(t, out), "okta-audit", append(first, later...))
	raw, err := os.ReadFile(reg)
	if err != nil {
		t.Fatal(err)
	}
	secretFree(t, "the registry file after the upgrade", raw, []string{private, client})
}
