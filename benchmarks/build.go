package benchmarks

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BuildFlicker builds ./cmd/flicker into dir and returns the binary's path. With race the binary has the race
// detector, which multiplies its memory: measurements of memory use a binary built without it.
func BuildFlicker(dir string, race bool) (string, error) {
	bin := filepath.Join(dir, "flicker")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, flickerPackage)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/flicker: %w\n%s", err, out)
	}
	if err := statSources(); err != nil {
		return "", err
	}
	return bin, nil
}

const flickerPackage = "github.com/flickerlog/flicker/cmd/flicker"

// statSources stats every file the binary is built from, in this process: go test records the files a test
// looks at and reuses a cached result only while they are unchanged. Without it a test that runs the binary built
// here (the chaos profile) passed from the cache after flicker's code changed, as the build is a subprocess.
func statSources() error {
	out, err := exec.Command("go", "list", "-deps", "-f",
		`{{if not .Standard}}{{range .GoFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{range .EmbedFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{end}}`,
		flickerPackage).Output()
	if err != nil {
		return fmt.Errorf("go list the sources of ./cmd/flicker: %w", err)
	}
	for _, path := range strings.Fields(string(out)) {
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("source of ./cmd/flicker: %w", err)
		}
	}
	return nil
}

// PeakRSS is the peak resident set size (VmHWM) of the running process pid, in bytes; false once it is gone.
func PeakRSS(pid int) (int64, bool) { return vmHWM(pid) }
