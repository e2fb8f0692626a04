package container

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNotPodLog is the error of a path that is not a container log the kubelet names (a compressed or temporary
// rotated file, a stray file, a name that breaks Kubernetes' naming rules).
var ErrNotPodLog = errors.New("not a kubelet container log")

// PodLog is what the kubelet's path of a container log says about the container:
// <pods dir>/<namespace>_<pod>_<pod uid>/<container>/<restart count>.log, and the kubelet's rotated
// <restart count>.log.<YYYYMMDD-hhmmss> while it is not compressed.
//
// Splitting the pod directory on '_' is safe because no part can hold one: namespaces are DNS-1123 labels and
// pod names DNS-1123 subdomains ([a-z0-9.-]), and a pod uid is a UUID or, for a static pod, a hash. The parser
// checks the names against those rules, so a directory that breaks them is reported instead of split wrong.
type PodLog struct {
	Namespace    string
	Pod          string
	PodUID       string
	Container    string
	RestartCount int    // the container's restart count: the kubelet starts <n+1>.log when it restarts
	RotatedAt    string // a rotated file's suffix (20060102-150405, the node's local time); "" for the live log
}

// rotationStamp is the kubelet's layout of a rotated file's suffix (Go's 20060102-150405).
const rotationStamp = "dddddddd-dddddd"

// ParsePodLogPath reads a container log's metadata from its path; only the last three elements are read, so
// the pods directory may be anywhere (the kubelet's --pod-logs-dir, a mount in flicker's pod). A path that is
// not such a log returns an error wrapping ErrNotPodLog that says why.
func ParsePodLogPath(path string) (PodLog, error) {
	podDir, containerDir, file, ok := lastThree(path)
	if !ok {
		return PodLog{}, notPodLog(path, "want <namespace>_<pod>_<uid>/<container>/<n>.log")
	}
	var log PodLog
	restart, rest, ok := strings.Cut(file, ".log")
	if !ok {
		return PodLog{}, notPodLog(path, "file %q is not <n>.log", file)
	}
	n, err := restartCount(restart)
	if err != nil {
		return PodLog{}, notPodLog(path, "file %q: %v", file, err)
	}
	log.RestartCount = n
	switch {
	case rest == "":
	case len(rest) == 1+len(rotationStamp) && rest[0] == '.' && isRotationStamp(rest[1:]):
		log.RotatedAt = rest[1:]
	default:
		return PodLog{}, notPodLog(path, "file %q is neither <n>.log nor <n>.log.YYYYMMDD-hhmmss", file)
	}
	if !isDNSLabel(containerDir) {
		return PodLog{}, notPodLog(path, "container %q is not a DNS-1123 label", containerDir)
	}
	log.Container = containerDir
	parts := strings.Split(podDir, "_")
	if len(parts) != 3 {
		return PodLog{}, notPodLog(path, "pod directory %q is not <namespace>_<pod>_<uid>", podDir)
	}
	log.Namespace, log.Pod, log.PodUID = parts[0], parts[1], parts[2]
	switch {
	case !isDNSLabel(log.Namespace):
		return PodLog{}, notPodLog(path, "namespace %q is not a DNS-1123 label", log.Namespace)
	case !isDNSSubdomain(log.Pod):
		return PodLog{}, notPodLog(path, "pod name %q is not a DNS-1123 subdomain", log.Pod)
	case log.PodUID == "":
		return PodLog{}, notPodLog(path, "pod directory %q has an empty uid", podDir)
	}
	return log, nil
}

// ContainerLink is what the name of one of the kubelet's legacy symlinks says about its container:
// /var/log/containers/<pod>_<namespace>_<container>-<container id>.log, pointing at the container's live log
// under /var/log/pods. The kubelet keeps them for older log shippers; flicker's kubernetes input reads
// /var/log/pods, where the rotated files and the pod uid are.
type ContainerLink struct {
	Pod         string
	Namespace   string
	Container   string
	ContainerID string
	// Truncated is a name the kubelet cut to 255 bytes (ext4's limit, ".log" included): the container id, and
	// with very long names the container name, may be cut short.
	Truncated bool
}

// maxFileName is ext4's longest file name, to which the kubelet cuts the symlinks' names.
const maxFileName = 255

// ParseContainerLink reads a legacy symlink's name (the last element of path). A name that is not such a link
// returns an error wrapping ErrNotPodLog that says why.
func ParseContainerLink(path string) (ContainerLink, error) {
	name := path[strings.LastIndexByte(path, '/')+1:]
	base, ok := strings.CutSuffix(name, ".log")
	if !ok {
		return ContainerLink{}, notPodLog(path, "name %q does not end in .log", name)
	}
	parts := strings.Split(base, "_")
	if len(parts) != 3 {
		return ContainerLink{}, notPodLog(path, "name %q is not <pod>_<namespace>_<container>-<id>.log", name)
	}
	// Container names may hold '-', ids do not: the id is after the last one.
	dash := strings.LastIndexByte(parts[2], '-')
	if dash < 0 {
		return ContainerLink{}, notPodLog(path, "name %q has no -<container id>", name)
	}
	link := ContainerLink{
		Pod:         parts[0],
		Namespace:   parts[1],
		Container:   parts[2][:dash],
		ContainerID: parts[2][dash+1:],
		Truncated:   len(name) == maxFileName,
	}
	switch {
	case !isDNSSubdomain(link.Pod):
		return ContainerLink{}, notPodLog(path, "pod name %q is not a DNS-1123 subdomain", link.Pod)
	case !isDNSLabel(link.Namespace):
		return ContainerLink{}, notPodLog(path, "namespace %q is not a DNS-1123 label", link.Namespace)
	case !isDNSLabel(link.Container):
		return ContainerLink{}, notPodLog(path, "container %q is not a DNS-1123 label", link.Container)
	case len(link.ContainerID) < 6: // the kubelet's own shortest id
		return ContainerLink{}, notPodLog(path, "container id %q is shorter than 6 characters", link.ContainerID)
	}
	return link, nil
}

func notPodLog(path, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", path, fmt.Sprintf(format, args...), ErrNotPodLog)
}

// lastThree splits off a path's last three elements, each non-empty.
func lastThree(path string) (a, b, c string, ok bool) {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return "", "", "", false
	}
	c, path = path[i+1:], path[:i]
	i = strings.LastIndexByte(path, '/')
	if i < 0 {
		return "", "", "", false
	}
	b, path = path[i+1:], path[:i]
	a = path[strings.LastIndexByte(path, '/')+1:]
	return a, b, c, a != "" && b != "" && c != ""
}

// restartCount reads the <n> of <n>.log as the kubelet writes it: decimal, no sign, no leading zero.
func restartCount(s string) (int, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("restart count %q is not a decimal number", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("restart count %q out of range", s)
	}
	return n, nil
}

func isRotationStamp(s string) bool {
	for i := 0; i < len(rotationStamp); i++ {
		if rotationStamp[i] == 'd' && !digit(s[i]) || rotationStamp[i] != 'd' && s[i] != rotationStamp[i] {
			return false
		}
	}
	return true
}

// isDNSLabel reports whether s is an RFC 1123 label as Kubernetes checks it: 1-63 of [a-z0-9-], alphanumeric at
// both ends.
func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || digit(c) || c == '-') {
			return false
		}
	}
	return true
}

// isDNSSubdomain reports whether s is an RFC 1123 subdomain as Kubernetes checks it: at most 253 bytes of
// '.'-separated labels of [a-z0-9-], each alphanumeric at both ends.
func isDNSSubdomain(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if len(label) == 0 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !(c >= 'a' && c <= 'z' || digit(c) || c == '-') {
				return false
			}
		}
	}
	return true
}
