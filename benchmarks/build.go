package benchmarks

import (
	"fmt"
	"os/exec"
	"path/filepath"
)

// BuildFlicker builds ./cmd/flicker into dir and returns the binary's path. With race the binary has the race
// detector, which multiplies its memory: measurements of memory use a binary built without it.
func BuildFlicker(dir string, race bool) (string, error) {
	bin := filepath.Join(dir, "flicker")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "github.com/flickerlog/flicker/cmd/flicker")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/flicker: %w\n%s", err, out)
	}
	return bin, nil
}

// PeakRSS is the peak resident set size (VmHWM) of the running process pid, in bytes; false once it is gone.
func PeakRSS(pid int) (int64, bool) { return vmHWM(pid) }
