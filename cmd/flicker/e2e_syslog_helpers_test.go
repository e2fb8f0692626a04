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

// syslogEvent is an event of a syslog input read back from the file output.
type syslogEvent struct {
	Timestamp string `json:"@timestamp"`
	Message   string `json:"message"`
	ID        string `json:"id"`
	Input     struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"input"`
	Syslog struct {
		Priority       *int                         `json:"priority"`
		Facility       *int                         `json:"facility"`
		Severity       *int                         `json:"severity"`
		FacilityLabel  string                       `json:"facility_label"`
		SeverityLabel  string                       `json:"severity_label"`
		AppName        string                       `json:"appname"`
		ProcID         string                       `json:"procid"`
		MsgID          string                       `json:"msgid"`
		StructuredData map[string]map[string]string `json:"structured_data"`
	} `json:"syslog"`
	Host struct {
		Hostname string `json:"hostname"`
	} `json:"host"`
	Source struct {
		Address string `json:"address"`
		Port    int    `json:"port"`
	} `json:"source"`
	Error struct {
		Message string `json:"message"`
	} `json:"error"`
	Log struct {
		Flags []string `json:"flags"`
	} `json:"log"`
}

// syslogInputs are syslog_sources entries by name; each entry's YAML is given without its name and address
// (127.0.0.1:0: the port is read from the log).
type syslogInputs map[string]string

// startSyslog runs flicker without --track with the syslog inputs, the file output at out and outputs (more
// YAML under outputs:, may be empty), and returns it with the address each input listens on.
func startSyslog(t *testing.T, dir string, inputs syslogInputs, out, outputs, extra string, args ...string) (*proc, map[string]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("syslog_sources:\n")
	for name, yaml := range inputs {
		fmt.Fprintf(&b, "  - name: %s\n    address: 127.0.0.1:0\n", name)
		for _, l := range strings.Split(strings.TrimSpace(yaml), "\n") {
			if l != "" {
				fmt.Fprintf(&b, "    %s\n", l)
			}
		}
	}
	fmt.Fprintf(&b, "outputs:\n  - type: file\n    path: %q\n%s\nbatch:\n  max_wait: 20ms\n%s", out, outputs, extra)
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, dir, append([]string{"-c", cfg, "--log-format", "json"}, args...)...)
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.kill()
		}
	})
	addrs := map[string]string{}
	waitFor(t, 30*time.Second, "every syslog input to listen", func() bool {
		for _, l := range strings.Split(p.stderr.String(), "\n") {
			var rec struct {
				Message, Input, Address string
			}
			if json.Unmarshal([]byte(l), &rec) == nil && rec.Message == "listening for syslog" {
				addrs[rec.Input] = rec.Address
			}
		}
		return len(addrs) == len(inputs)
	}, p)
	return p, addrs
}

// readSyslog reads the syslog events of the file output at path, by input name.
func readSyslog(t *testing.T, path string) map[string][]syslogEvent {
	t.Helper()
	byInput := map[string][]syslogEvent{}
	for _, ev := range readEvents[syslogEvent](t, path) {
		byInput[ev.Input.Name] = append(byInput[ev.Input.Name], ev)
	}
	return byInput
}

// waitSyslog waits until each input of want has at least that many events in the file output at path.
func waitSyslog(t *testing.T, path string, want map[string]int, p *proc) map[string][]syslogEvent {
	t.Helper()
	var got map[string][]syslogEvent
	waitFor(t, 60*time.Second, fmt.Sprintf("events %v", want), func() bool {
		got = readSyslog(t, path)
		for in, n := range want {
			if len(got[in]) < n {
				return false
			}
		}
		return true
	}, p)
	return got
}

// rsyslogd returns the path of Debian's rsyslogd. Missing, it fails the test, naming make tools (which installs
// it), as the MinIO tests do.
func rsyslogd(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("rsyslogd")
	if err != nil {
		for _, p := range []string{"/usr/sbin/rsyslogd", "/sbin/rsyslogd"} {
			if _, serr := os.Stat(p); serr == nil {
				return p
			}
		}
		t.Fatal("rsyslogd not found: run make tools (it installs Debian's rsyslog package)")
	}
	return path
}

// startRsyslog runs rsyslogd in the foreground with conf (its work directory and pid file in dir); the test's
// end kills it.
func startRsyslog(t *testing.T, dir, conf string) *exec.Cmd {
	t.Helper()
	bin := rsyslogd(t)
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// -N1 checks the config first: a mistake in it fails here with rsyslog's own words.
	if out, err := exec.Command(bin, "-N1", "-f", confPath).CombinedOutput(); err != nil {
		t.Fatalf("rsyslogd -N1: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslogd.pid"))
	var logs lockedWriter
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s", logs.String())
		}
	})
	return cmd
}
