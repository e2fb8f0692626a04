package benchmarks

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// Workload is one kind of input the harness measures over its own generated data.
type Workload struct {
	Name   string
	Inputs string // the config's input section (YAML); Config adds the outputs
	Dir    string // the directory the input's files are under
	Bytes  int64  // raw input bytes
	Events int64  // events the input yields: lines, or container messages
	Base   string // the workload this one is compared with; "" for the plain file log
}

// Config is the whole flicker config of w shipping to outputs (an "outputs:" block).
func (w Workload) Config(outputs string) string { return w.Inputs + outputs }

// PlainWorkload reads path with a log_files input, as `make bench` always has.
func PlainWorkload(path string, bytes, lines int64) Workload {
	return Workload{Name: "file", Inputs: fmt.Sprintf("log_files:\n  - name: bench\n    paths: [%q]\n", path),
		Dir: filepath.Dir(path), Bytes: bytes, Events: lines}
}

// DockerWorkload reads the containers of GenerateDocker with a docker_containers input.
func DockerWorkload(logs ContainerLogs) Workload {
	return Workload{Name: "docker_containers", Inputs: fmt.Sprintf("docker_containers:\n  - name: bench\n    path: %q\n",
		logs.Root), Dir: logs.Root, Bytes: logs.Bytes, Events: logs.Messages}
}

// CRIWorkload reads the pods of GenerateCRI with a log_files input decoding CRI lines.
func CRIWorkload(logs ContainerLogs) Workload {
	return Workload{Name: "log_files format: cri", Inputs: fmt.Sprintf(
		"log_files:\n  - name: bench\n    paths: [%q]\n    format: cri\n", logs.Root+"/*/*/*.log"),
		Dir: logs.Root, Bytes: logs.Bytes, Events: logs.Messages}
}

// KubernetesWorkload reads the pods of GenerateCRI with a kubernetes input (metadata from the paths).
func KubernetesWorkload(logs ContainerLogs) Workload {
	return Workload{Name: "kubernetes", Inputs: fmt.Sprintf("kubernetes:\n  - name: bench\n    path: %q\n", logs.Root),
		Dir: logs.Root, Bytes: logs.Bytes, Events: logs.Messages}
}

// ErrRefused is returned by Validate when the binary refuses a config: a workload this build does not support.
var ErrRefused = errors.New("config refused")

// Validate runs `binary validate -c config`. A refused config (exit code 2) returns an error wrapping ErrRefused
// with the binary's explanation; any other failure is returned as it is.
func Validate(binary, config string) error {
	cmd := exec.Command(binary, "validate", "-c", config)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit) && exit.ExitCode() == 2:
		return fmt.Errorf("%w: %s", ErrRefused, strings.TrimSpace(out.String()))
	default:
		return fmt.Errorf("%s validate -c %s: %w\n%s", binary, config, err, out.String())
	}
}

// The processing workloads of issue 15: each parses the lines of its log into fields and takes @timestamp from
// them; its Base is the plain log_files run over the same file, which it is compared with.

// nginxDissect is the dissect pattern of an nginx combined line, with ECS field names.
const nginxDissect = `%{source.address} - %{user.name} [%{nginx.time}] "%{http.request.method} %{url.original} ` +
	`%{http.version}" %{http.response.status_code} %{http.response.body.bytes} "%{http.request.referrer}" ` +
	`"%{user_agent.original}"`

// nginxRegex is nginxDissect as an RE2 pattern (`__` in a group name is a dot in the field name).
const nginxRegex = `^(?P<source__address>\S+) - (?P<user__name>\S+) \[(?P<nginx__time>[^\]]+)\] ` +
	`"(?P<http__request__method>\S+) (?P<url__original>\S+) (?P<http__version>[^"]+)" ` +
	`(?P<http__response__status_code>\d+) (?P<http__response__body__bytes>\d+|-) ` +
	`"(?P<http__request__referrer>[^"]*)" "(?P<user_agent__original>[^"]*)"$`

const nginxTimestamp = "      - timestamp: {field: nginx.time, layouts: [\"02/Jan/2006:15:04:05 -0700\"], remove: true}\n"

// NginxWorkloads are the nginx log read plain, through dissect + timestamp and through parse_regex + timestamp.
func NginxWorkloads(path string, bytes, lines int64) []Workload {
	inputs := func(processors string) string {
		return fmt.Sprintf("log_files:\n  - name: bench\n    paths: [%q]\n", path) + processors
	}
	plain := Workload{Name: "nginx plain", Inputs: inputs(""), Dir: filepath.Dir(path), Bytes: bytes, Events: lines}
	dissect, regex := plain, plain
	dissect.Name, dissect.Base = "nginx dissect+ts", plain.Name
	dissect.Inputs = inputs(fmt.Sprintf("    processors:\n      - dissect: {pattern: %q}\n", nginxDissect) + nginxTimestamp)
	regex.Name, regex.Base = "nginx parse_regex+ts", plain.Name
	regex.Inputs = inputs(fmt.Sprintf("    processors:\n      - parse_regex: {pattern: %q}\n", nginxRegex) + nginxTimestamp)
	return []Workload{plain, dissect, regex}
}

// JSONWorkloads are the JSON log read plain and through parse_json + timestamp.
func JSONWorkloads(path string, bytes, lines int64) []Workload {
	inputs := func(processors string) string {
		return fmt.Sprintf("log_files:\n  - name: bench\n    paths: [%q]\n", path) + processors
	}
	plain := Workload{Name: "json plain", Inputs: inputs(""), Dir: filepath.Dir(path), Bytes: bytes, Events: lines}
	parsed := plain
	parsed.Name, parsed.Base = "json parse_json+ts", plain.Name
	parsed.Inputs = inputs("    processors:\n      - parse_json: {}\n" +
		"      - timestamp: {field: time, layouts: [RFC3339Nano], remove: true}\n")
	return []Workload{plain, parsed}
}
