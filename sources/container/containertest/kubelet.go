package containertest

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/flickerlog/flicker/sources/container"
)

// Runtime is the container runtime whose CRI log writer the kubelet emulator imitates.
type Runtime uint8

const (
	// Containerd writes time.RFC3339Nano in the node's zone: the fraction trimmed of trailing zeros (none when
	// zero), "Z" only on a UTC node. It splits a line longer than max_container_log_line_size (16 KiB).
	Containerd Runtime = iota
	// CRIO (conmon) writes nine fraction digits and a ±hh:mm offset, "+00:00" on a UTC node. It splits a line at
	// its 8 KiB read buffer.
	CRIO
)

const (
	// DefaultContainerdMaxRecord is containerd's default max_container_log_line_size.
	DefaultContainerdMaxRecord = 16 << 10
	// DefaultCRIOMaxRecord is the size of conmon's read buffer, where CRI-O's records end.
	DefaultCRIOMaxRecord = 8 << 10
	// DefaultMaxFiles is the kubelet's containerLogMaxFiles: the live log and the rotated ones.
	DefaultMaxFiles = 5
	// RotationStamp is the layout of the suffix the kubelet gives a rotated log (in the node's zone).
	RotationStamp = "20060102-150405"
)

const crioTime = "2006-01-02T15:04:05.000000000-07:00"

func (r Runtime) String() string {
	if r == CRIO {
		return "cri-o"
	}
	return "containerd"
}

// AppendRecord appends one CRI record as the runtime writes it: "<time> <stream> <P|F> <content>\n", the time
// formatted in t's location.
func (r Runtime) AppendRecord(dst []byte, t time.Time, stream container.Stream, partial bool, content []byte) []byte {
	if r == CRIO {
		dst = t.AppendFormat(dst, crioTime)
	} else {
		dst = t.AppendFormat(dst, time.RFC3339Nano)
	}
	dst = append(dst, ' ')
	dst = append(dst, stream.String()...)
	if partial {
		dst = append(dst, " P "...)
	} else {
		dst = append(dst, " F "...)
	}
	dst = append(dst, content...)
	return append(dst, '\n')
}

// KubeletConfig is how the emulated node writes and rotates its container logs. The zero value is a UTC node
// running containerd with the kubelet's defaults and no compression.
type KubeletConfig struct {
	Runtime Runtime
	// MaxRecord is the longest record content: a longer line is written as P records of MaxRecord bytes and an F
	// record with the rest. 0 is the runtime's default; negative never splits.
	MaxRecord int
	// MaxFiles is the kubelet's containerLogMaxFiles (at least 2): a rotation leaves at most MaxFiles-1 rotated
	// files. 0 is DefaultMaxFiles.
	MaxFiles int
	// Compress gzips every rotated file but the newest at each rotation, as the kubelet does (through <f>.tmp).
	Compress bool
	// Zone is the node's time zone, in which times and rotation stamps are written. nil is UTC.
	Zone *time.Location
	// Clock gives the time of each record. nil is time.Now.
	Clock func() time.Time
	// ContainersDir, when set, gets the kubelet's legacy symlinks <pod>_<namespace>_<container>-<id>.log to each
	// running container's live log.
	ContainersDir string
}

// Kubelet emulates a node's kubelet and container runtime writing CRI logs under a pods directory:
// <dir>/<namespace>_<pod>_<uid>/<container>/<restart>.log, rotated to <restart>.log.<stamp>. It writes
// synchronously in the caller's goroutine (no goroutines of its own) and is safe for concurrent use. It records
// every message it writes, so tests can check what was delivered.
type Kubelet struct {
	dir string
	cfg KubeletConfig

	mu       sync.Mutex
	pods     map[string]*Pod
	uids     int
	messages []Message
	buf      []byte
}

// Pod is a pod on the emulated node.
type Pod struct {
	Namespace, Name, UID string

	k          *Kubelet
	dir        string
	containers []*PodContainer
	removed    bool
}

// PodContainer is one run of a container: its log is <restart count>.log. Restart starts the next run.
type PodContainer struct {
	Name         string
	RestartCount int    // the N of N.log
	ID           string // the runtime's container id (64 hex digits)

	pod          *Pod
	path         string
	link         string
	f            *os.File
	lastRotation string
	open         [3]int // per stream, 1 + the index in Kubelet.messages of an Unterminated message; 0: none
}

// Line is a line a container prints.
type Line struct {
	Stream container.Stream
	// Text is the line without its newline, as the runtime writes it (containerd strips a "\r\n" before this
	// point: give the text without it). It must not hold '\n'.
	Text string
	// Unterminated is text the container printed without a newline (yet): every record of it is P, as CRI-O
	// writes what it read at once and containerd writes what is left at EOF. The stream's next line continues
	// the same message (after a rotation too: a join across files); after a restart it never ends. Its Text
	// must not be empty.
	Unterminated bool
}

// Stdout is a complete line printed on stdout.
func Stdout(text string) Line { return Line{Stream: container.StreamStdout, Text: text} }

// Stderr is a complete line printed on stderr.
func Stderr(text string) Line { return Line{Stream: container.StreamStderr, Text: text} }

// Message is one line the emulator wrote, with whose it is: the lines of one stream from an Unterminated one
// to the next complete one are one message, as a reader joins them.
type Message struct {
	Log     container.PodLog // namespace, pod, uid, container and restart count (RotatedAt empty)
	Path    string           // the live log when its first record was written
	Stream  container.Stream
	Time    time.Time // the time of its first record, in the node's zone
	Text    string
	Records int  // how many CRI records it took so far: P records, then an F unless Partial
	Partial bool // still waiting for the rest of its line: it has no F yet
}

// NewKubelet creates the pods directory dir (for example filepath.Join(t.TempDir(), "pods")) and returns a
// node writing into it.
func NewKubelet(dir string, cfg KubeletConfig) (*Kubelet, error) {
	if cfg.MaxRecord == 0 {
		cfg.MaxRecord = DefaultContainerdMaxRecord
		if cfg.Runtime == CRIO {
			cfg.MaxRecord = DefaultCRIOMaxRecord
		}
	}
	if cfg.MaxFiles == 0 {
		cfg.MaxFiles = DefaultMaxFiles
	}
	if cfg.MaxFiles < 2 {
		return nil, fmt.Errorf("kubelet: max files %d, want at least 2", cfg.MaxFiles)
	}
	if cfg.Zone == nil {
		cfg.Zone = time.UTC
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("kubelet: %w", err)
	}
	if cfg.ContainersDir != "" {
		if err := os.MkdirAll(cfg.ContainersDir, 0o755); err != nil {
			return nil, fmt.Errorf("kubelet: %w", err)
		}
	}
	return &Kubelet{dir: dir, cfg: cfg, pods: make(map[string]*Pod)}, nil
}

// Dir is the pods directory.
func (k *Kubelet) Dir() string { return k.dir }

// Messages returns every message written so far, in the order their first lines were given to Write and Rotate.
func (k *Kubelet) Messages() []Message {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]Message(nil), k.messages...)
}

// AddPod creates a pod's log directory. An empty uid gets a fresh UUID-shaped one; a static pod's would be its
// manifest's hash.
func (k *Kubelet) AddPod(namespace, name, uid string) (*Pod, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if uid == "" {
		k.uids++
		sum := sha256.Sum256(fmt.Appendf(nil, "%s/%s/%d", namespace, name, k.uids))
		h := hex.EncodeToString(sum[:16])
		uid = h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
	}
	key := namespace + "_" + name + "_" + uid
	if _, ok := k.pods[key]; ok {
		return nil, fmt.Errorf("kubelet: pod %s exists", key)
	}
	p := &Pod{Namespace: namespace, Name: name, UID: uid, k: k, dir: filepath.Join(k.dir, key)}
	if err := os.Mkdir(p.dir, 0o755); err != nil {
		return nil, fmt.Errorf("kubelet: add pod: %w", err)
	}
	k.pods[key] = p
	return p, nil
}

// Dir is the pod's log directory.
func (p *Pod) Dir() string { return p.dir }

// StartContainer starts a container's first run: <container>/0.log.
func (p *Pod) StartContainer(name string) (*PodContainer, error) {
	p.k.mu.Lock()
	defer p.k.mu.Unlock()
	if p.removed {
		return nil, fmt.Errorf("kubelet: start %s: pod %s was removed", name, p.Name)
	}
	for _, c := range p.containers {
		if c.Name == name {
			return nil, fmt.Errorf("kubelet: start %s: container exists in pod %s", name, p.Name)
		}
	}
	if err := os.Mkdir(filepath.Join(p.dir, name), 0o755); err != nil {
		return nil, fmt.Errorf("kubelet: start %s: %w", name, err)
	}
	c := &PodContainer{Name: name, pod: p}
	if err := c.start(0); err != nil {
		return nil, err
	}
	p.containers = append(p.containers, c)
	return c, nil
}

func (c *PodContainer) start(restart int) error {
	k := c.pod.k
	c.RestartCount = restart
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%s/%d", c.pod.UID, c.Name, restart))
	c.ID = hex.EncodeToString(sum[:])
	c.path = filepath.Join(c.pod.dir, c.Name, fmt.Sprintf("%d.log", restart))
	c.lastRotation = ""
	f, err := os.OpenFile(c.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("kubelet: start %s: %w", c.Name, err)
	}
	c.f = f
	if k.cfg.ContainersDir != "" {
		// The kubelet's legacySymlink: cut to ext4's 255 bytes, ".log" included.
		name := fmt.Sprintf("%s_%s_%s-%s", c.pod.Name, c.pod.Namespace, c.Name, c.ID)
		if len(name) > 255-len(".log") {
			name = name[:255-len(".log")]
		}
		c.link = filepath.Join(k.cfg.ContainersDir, name+".log")
		if err := os.Symlink(c.path, c.link); err != nil {
			return fmt.Errorf("kubelet: start %s: %w", c.Name, err)
		}
	}
	return nil
}

// Path is the container's live log.
func (c *PodContainer) Path() string { return c.path }

// Link is the container's legacy symlink, "" without KubeletConfig.ContainersDir.
func (c *PodContainer) Link() string { return c.link }

// Log is the container's metadata as its log path says it.
func (c *PodContainer) Log() container.PodLog {
	return container.PodLog{Namespace: c.pod.Namespace, Pod: c.pod.Name, PodUID: c.pod.UID, Container: c.Name,
		RestartCount: c.RestartCount}
}

// Write has the container print lines and returns the messages they wrote to (a continued one in full). The
// records of lines on different streams interleave one by one (stdout P, stderr P, stdout F...), as a runtime's
// two stream copiers append to one file; lines of one stream stay in order. Each record is one write(2), as the
// runtimes do.
func (c *PodContainer) Write(lines ...Line) ([]Message, error) {
	k := c.pod.k
	k.mu.Lock()
	defer k.mu.Unlock()
	return c.write(lines)
}

func (c *PodContainer) write(lines []Line) ([]Message, error) {
	k := c.pod.k
	if c.f == nil {
		return nil, fmt.Errorf("kubelet: write to %s: the container is not running", c.path)
	}
	for _, l := range lines {
		if strings.IndexByte(l.Text, '\n') >= 0 {
			return nil, fmt.Errorf("kubelet: write to %s: a line holds a newline: %.40q", c.path, l.Text)
		}
		if l.Unterminated && l.Text == "" {
			return nil, fmt.Errorf("kubelet: write to %s: an unterminated line must not be empty", c.path)
		}
		if l.Stream != container.StreamStdout && l.Stream != container.StreamStderr {
			return nil, fmt.Errorf("kubelet: write to %s: stream %s", c.path, l.Stream)
		}
	}
	type cursor struct {
		line int // index in lines
		msg  int // index in k.messages
		off  int // bytes of its text written
	}
	// One queue per stream, taken in turn. A line continuing an Unterminated one adds to its message.
	var queues [2][]cursor
	for i, l := range lines {
		q := 0
		if l.Stream == container.StreamStderr {
			q = 1
		}
		msg := c.open[l.Stream] - 1
		if msg < 0 {
			msg = len(k.messages)
			k.messages = append(k.messages, Message{Log: c.Log(), Path: c.path, Stream: l.Stream})
		}
		k.messages[msg].Text += l.Text
		k.messages[msg].Partial = l.Unterminated
		c.open[l.Stream] = 0
		if l.Unterminated {
			c.open[l.Stream] = msg + 1
		}
		queues[q] = append(queues[q], cursor{line: i, msg: msg})
	}
	written := make([]int, 0, len(lines))
	for _, q := range queues {
		for _, cur := range q {
			written = append(written, cur.msg)
		}
	}
	for len(queues[0])+len(queues[1]) > 0 {
		for q := range queues {
			if len(queues[q]) == 0 {
				continue
			}
			cur := &queues[q][0]
			l := lines[cur.line]
			piece := l.Text[cur.off:]
			partial := l.Unterminated
			if k.cfg.MaxRecord > 0 && len(piece) > k.cfg.MaxRecord {
				piece, partial = piece[:k.cfg.MaxRecord], true
			}
			t := k.cfg.Clock().In(k.cfg.Zone)
			k.buf = k.cfg.Runtime.AppendRecord(k.buf[:0], t, l.Stream, partial, []byte(piece))
			if _, err := c.f.Write(k.buf); err != nil {
				return nil, fmt.Errorf("kubelet: write to %s: %w", c.path, err)
			}
			m := &k.messages[cur.msg]
			if m.Records == 0 {
				m.Time = t
			}
			m.Records++
			cur.off += len(piece)
			if cur.off == len(l.Text) {
				queues[q] = queues[q][1:]
			}
		}
	}
	sort.Ints(written)
	msgs := make([]Message, 0, len(written))
	for i, m := range written {
		if i == 0 || m != written[i-1] {
			msgs = append(msgs, k.messages[m])
		}
	}
	return msgs, nil
}

// Rotate rotates the container's log as the kubelet does: it removes leftover <log>.*.tmp files and rotated
// files whose .gz exists, removes the oldest rotated files so at most MaxFiles-2 remain, gzips the uncompressed
// ones when Compress is set, renames the live log to <log>.<stamp>, and has the runtime reopen <log>, a new
// file. beforeReopen are written between the rename and the reopen, so they land in the rotated file, as lines
// a runtime writes in that window do. The stamp is the clock's second in the node's zone, moved a second on if
// this log was already rotated in that second (the kubelet checks every 10 seconds, never twice a second).
func (c *PodContainer) Rotate(beforeReopen ...Line) ([]Message, error) {
	k := c.pod.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if c.f == nil {
		return nil, fmt.Errorf("kubelet: rotate %s: the container is not running", c.path)
	}
	if err := c.cleanRotated(); err != nil {
		return nil, fmt.Errorf("kubelet: rotate %s: %w", c.path, err)
	}
	stamp := k.cfg.Clock().In(k.cfg.Zone).Truncate(time.Second)
	if last, err := time.ParseInLocation(RotationStamp, c.lastRotation, k.cfg.Zone); err == nil && !stamp.After(last) {
		stamp = last.Add(time.Second)
	}
	c.lastRotation = stamp.Format(RotationStamp)
	if err := os.Rename(c.path, c.path+"."+c.lastRotation); err != nil {
		return nil, fmt.Errorf("kubelet: rotate %s: %w", c.path, err)
	}
	msgs, err := c.write(beforeReopen)
	if err != nil {
		return nil, err
	}
	if err := c.f.Close(); err != nil {
		return nil, fmt.Errorf("kubelet: rotate %s: %w", c.path, err)
	}
	c.f, err = os.OpenFile(c.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		c.f = nil
		return nil, fmt.Errorf("kubelet: rotate %s: reopen: %w", c.path, err)
	}
	return msgs, nil
}

// cleanRotated is the kubelet's work on the rotated files before it renames the live one.
func (c *PodContainer) cleanRotated() error {
	k := c.pod.k
	entries, err := os.ReadDir(filepath.Dir(c.path))
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), filepath.Base(c.path)+".") {
			names = append(names, filepath.Join(filepath.Dir(c.path), e.Name()))
		}
	}
	present := make(map[string]bool, len(names))
	for _, n := range names {
		present[n] = true
	}
	var rotated []string
	for _, n := range names {
		switch {
		case strings.HasSuffix(n, ".tmp"), !strings.HasSuffix(n, ".gz") && present[n+".gz"]:
			if err := os.Remove(n); err != nil {
				return err
			}
		default:
			rotated = append(rotated, n)
		}
	}
	// The stamps sort in time order; a .gz sorts by the name it compresses.
	sort.Slice(rotated, func(i, j int) bool {
		return strings.TrimSuffix(rotated[i], ".gz") < strings.TrimSuffix(rotated[j], ".gz")
	})
	if excess := len(rotated) - (k.cfg.MaxFiles - 2); excess > 0 {
		for _, n := range rotated[:excess] {
			if err := os.Remove(n); err != nil {
				return err
			}
		}
		rotated = rotated[excess:]
	}
	if !k.cfg.Compress {
		return nil
	}
	for _, n := range rotated {
		if strings.HasSuffix(n, ".gz") {
			continue
		}
		if err := gzipFile(n); err != nil {
			return err
		}
	}
	return nil
}

// gzipFile compresses name to name.gz through name.tmp, then removes name, as the kubelet's compressLog does.
func gzipFile(name string) (err error) {
	in, err := os.Open(name)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := name + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(out)
	_, err = io.Copy(zw, in)
	err = errors.Join(err, zw.Close(), out.Close())
	if err == nil {
		err = os.Rename(tmp, name+".gz")
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("compress %s: %w", name, err)
	}
	return os.Remove(name)
}

// Restart ends this run of the container (its log stays, as the kubelet keeps it for `kubectl logs --previous`)
// and starts the next: <restart+1>.log. The returned PodContainer is the new run; the kubelet garbage-collects the
// old run's legacy symlink, here at once.
func (c *PodContainer) Restart() (*PodContainer, error) {
	k := c.pod.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if c.pod.removed {
		return nil, fmt.Errorf("kubelet: restart %s: pod %s was removed", c.Name, c.pod.Name)
	}
	if err := c.stop(); err != nil {
		return nil, err
	}
	if c.link != "" {
		if err := os.Remove(c.link); err != nil {
			return nil, fmt.Errorf("kubelet: restart %s: %w", c.Name, err)
		}
	}
	next := &PodContainer{Name: c.Name, pod: c.pod}
	if err := next.start(c.RestartCount + 1); err != nil {
		return nil, err
	}
	for i, old := range c.pod.containers {
		if old == c {
			c.pod.containers[i] = next
		}
	}
	return next, nil
}

// Stop ends the container's run: its log is closed, later writes fail.
func (c *PodContainer) Stop() error {
	c.pod.k.mu.Lock()
	defer c.pod.k.mu.Unlock()
	return c.stop()
}

func (c *PodContainer) stop() error {
	if c.f == nil {
		return nil
	}
	err := c.f.Close()
	c.f = nil
	if err != nil {
		return fmt.Errorf("kubelet: stop %s: %w", c.Name, err)
	}
	return nil
}

// RemovePod stops the pod's containers and removes its log directory and legacy symlinks, as the kubelet does
// when a pod is deleted.
func (k *Kubelet) RemovePod(p *Pod) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if p.removed {
		return nil
	}
	for _, c := range p.containers {
		if err := c.stop(); err != nil {
			return err
		}
		if c.link != "" {
			if err := os.Remove(c.link); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("kubelet: remove pod %s: %w", p.Name, err)
			}
		}
	}
	if err := os.RemoveAll(p.dir); err != nil {
		return fmt.Errorf("kubelet: remove pod %s: %w", p.Name, err)
	}
	p.removed = true
	delete(k.pods, filepath.Base(p.dir))
	return nil
}

// Close stops every container (closing their logs). The files stay.
func (k *Kubelet) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	var errs []error
	for _, p := range k.pods {
		for _, c := range p.containers {
			errs = append(errs, c.stop())
		}
	}
	return errors.Join(errs...)
}
