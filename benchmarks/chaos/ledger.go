package chaos

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Outputs the harness reads deliveries from.
const (
	outFile uint8 = iota
	outHTTP
	outES
	numOutputs
)

var outputNames = [numOutputs]string{"file", "http", "elasticsearch"}

// unit is one event the writers expect: piece (0-based) of line seq of a stream. A line longer than
// max_line_bytes is written as pieces of exactly max_line_bytes, each with its own header, so that the events
// flicker cuts it into are units too.
type unit struct {
	stream uint16
	seq    uint32
	piece  uint8
}

// delivery is one arrival of a unit at an output.
type delivery struct {
	at  int64 // when the harness first saw it, ns since the run began
	pod int32
	out uint8
	// lostReply: the output's server answered after its client had gone (a timeout), so the pod did not know it
	// arrived and may send it again.
	lostReply bool
}

// unitState is what the ledger knows of one unit.
type unitState struct {
	written    int64 // ns since the run began
	part       int32 // the file part (rotation log entry) the line was written to
	container  bool  // a container stream: no per-output positions (see doc.go)
	size       int32 // the message's length: what arrives must be whole
	deliveries []delivery
}

// ledger records every unit written and every delivery. Writers and the output readers call it concurrently.
type ledger struct {
	start time.Time

	mu       sync.Mutex
	streams  map[string]uint16
	names    []string
	units    map[unit]*unitState
	phantoms []string // deliveries of units never written (or not whole), a sample
	// phantomEvents are the whole events of phantoms read from the file output, a sample
	phantomEvents []string
	nPhantom      int
	firstAt       [numOutputs]int64 // last time a unit arrived for the first time at each output, for the drain
	unique        [numOutputs]int
	byPart        map[int32][]*unitState // built by known, once the run is over
}

func newLedger(start time.Time) *ledger {
	return &ledger{start: start, streams: map[string]uint16{}, units: map[unit]*unitState{}}
}

func (l *ledger) since(t time.Time) int64 { return int64(t.Sub(l.start)) }

// stream returns the id of a stream name, registering it.
func (l *ledger) stream(name string) uint16 {
	l.mu.Lock()
	defer l.mu.Unlock()
	id, ok := l.streams[name]
	if !ok {
		id = uint16(len(l.names))
		l.streams[name] = id
		l.names = append(l.names, name)
	}
	return id
}

// wrote records the pieces of line seq of stream, each size bytes, as written to part (-1: none) at t.
func (l *ledger) wrote(stream uint16, seq uint32, pieces int, part int32, container bool, t time.Time, size int) {
	at := l.since(t)
	l.mu.Lock()
	defer l.mu.Unlock()
	for p := range pieces {
		l.units[unit{stream, seq, uint8(p)}] = &unitState{written: at, part: part, container: container,
			size: int32(size)}
	}
}

// delivered records that message arrived at out, delivered by pod, seen at t. It reports false for a phantom (a
// message never written, or not whole).
func (l *ledger) delivered(out uint8, pod int, message string, t time.Time) bool {
	at := l.since(t)
	l.mu.Lock()
	defer l.mu.Unlock()
	u, ok := l.parse(message)
	st := l.units[u]
	if !ok || st == nil || len(message) != int(st.size) || pod < 0 {
		l.nPhantom++
		if len(l.phantoms) < 5 {
			l.phantoms = append(l.phantoms, fmt.Sprintf("%s: %.120q", outputNames[out], message))
		}
		return false
	}
	first := true
	for _, d := range st.deliveries {
		if d.out == out {
			first = false
			break
		}
	}
	if first {
		l.unique[out]++
		l.firstAt[out] = at
	}
	st.deliveries = append(st.deliveries, delivery{at: at, pod: int32(pod), out: out})
	return true
}

// lostReply records that pod never got the answer of the request that delivered message to out: it marks the
// earliest delivery of the message by pod to out not marked yet (the answer is written after the delivery is
// recorded; the pod's next attempt may be recorded before it).
func (l *ledger) lostReply(out uint8, pod int, message string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	u, ok := l.parse(message)
	st := l.units[u]
	if !ok || st == nil {
		return
	}
	for i := range st.deliveries {
		d := &st.deliveries[i]
		if d.out == out && d.pod == int32(pod) && !d.lostReply {
			d.lostReply = true
			return
		}
	}
}

// phantomEvent keeps a phantom's whole event (its log.file.path and log.offset say where it was read), a sample.
func (l *ledger) phantomEvent(out uint8, pod int, event []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.phantomEvents) < 5 {
		l.phantomEvents = append(l.phantomEvents, fmt.Sprintf("%s, pod %d: %.400s", outputNames[out], pod, event))
	}
}

// parse reads the unit from a message "chaos <stream> <seq> <piece>/<pieces> <padding>". Called with mu held.
func (l *ledger) parse(msg string) (unit, bool) {
	f := strings.SplitN(msg, " ", 5)
	if len(f) < 4 || f[0] != "chaos" {
		return unit{}, false
	}
	id, ok := l.streams[f[1]]
	if !ok {
		return unit{}, false
	}
	seq, err := strconv.ParseUint(f[2], 10, 32)
	if err != nil {
		return unit{}, false
	}
	p, _, ok := strings.Cut(f[3], "/")
	piece, err := strconv.ParseUint(p, 10, 8)
	if !ok || err != nil || piece == 0 {
		return unit{}, false
	}
	return unit{id, uint32(seq), uint8(piece - 1)}, true
}

// message is the text of piece (0-based) of line seq of stream, padded to size bytes.
func message(stream string, seq uint32, piece, pieces, size int) string {
	head := fmt.Sprintf("chaos %s %09d %d/%d ", stream, seq, piece+1, pieces)
	if size <= len(head) {
		return head
	}
	return head + strings.Repeat(string(rune('a'+seq%26)), size-len(head))
}

// progress is how many units were written and how many arrived at each output.
func (l *ledger) progress() (written int, unique [numOutputs]int, lastFirst [numOutputs]int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.units), l.unique, l.firstAt
}

// podView is what the check needs to know of a pod.
type podView struct {
	outputs [numOutputs]bool // configured
	// lineage is where the registry the pod restored came from: the pod that wrote the snapshot and when it
	// was taken, then where that pod's registry came from, and so on. Empty for a first start.
	lineage []link
	fenced  bool  // a standby: it must deliver nothing before until
	until   int64 // for a standby: when the holder it waited next to was killed
}

// link is one step of a lineage: the registry of pod as it was at the time a snapshot of it was taken.
type link struct {
	pod   int32
	taken int64 // ns since the run began
}

// verdict is the outcome of the check.
type verdict struct {
	Written    int            `json:"units_written"`
	WrittenBy  map[string]int `json:"units_written_by_source"` // plain files, docker, cri
	Lines      int            `json:"lines_written"`
	Delivered  map[string]int `json:"delivered_unique"`
	Deliveries map[string]int `json:"deliveries"`
	Duplicates map[string]int `json:"duplicates_in_window"`
	// AfterLostReply are the duplicates in the window that a pod sent again because the answer to its first
	// sending never reached it (a request that timed out after the server took it).
	AfterLostReply     map[string]int      `json:"duplicates_after_lost_reply"`
	DuplicatePct       map[string]float64  `json:"duplicates_pct"`
	OutOfWindow        int                 `json:"duplicates_out_of_window"`
	Lost               int                 `json:"lost"`
	AllowedLost        int                 `json:"allowed_lost"`
	AllowedLostBytes   int64               `json:"allowed_lost_bytes"` // about their raw bytes in the files (a newline counted per event)
	Phantoms           int                 `json:"delivered_never_written"`
	FencedDeliveries   int                 `json:"fenced_deliveries"`
	Samples            map[string][]string `json:"samples,omitempty"`
	allowedLostByParts map[int32]int
	// lost is every lost unit with its deliveries elsewhere (output, pod, when seen), for DIR/lost.txt.
	lost []string
}

// check applies the rules of doc.go. pods[i] describes pod i; allowedLoss tells whether a lost unit of part may be
// lost (its part was deleted while no pod was reading).
func (l *ledger) check(pods []podView, slack time.Duration, allowedLoss func(part int32) bool) verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := verdict{WrittenBy: map[string]int{}, Delivered: map[string]int{}, Deliveries: map[string]int{}, Duplicates: map[string]int{},
		AfterLostReply: map[string]int{},
		DuplicatePct:   map[string]float64{}, Samples: map[string][]string{}, allowedLostByParts: map[int32]int{},
		Phantoms: l.nPhantom}
	sample := func(kind, s string) {
		if len(v.Samples[kind]) < 8 {
			v.Samples[kind] = append(v.Samples[kind], s)
		}
	}
	for _, p := range l.phantoms {
		sample("never_written", p)
	}
	for _, e := range l.phantomEvents {
		sample("never_written_event", e)
	}
	keys := make([]unit, 0, len(l.units))
	for u := range l.units {
		keys = append(keys, u)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.stream != b.stream {
			return a.stream < b.stream
		}
		if a.seq != b.seq {
			return a.seq < b.seq
		}
		return a.piece < b.piece
	})
	v.Written = len(keys)
	// done is, for this unit, when each pod's position at each output passed it (see acked).
	var done acked
	for i, u := range keys {
		st := l.units[u]
		if i == 0 || u.stream != keys[i-1].stream || st.part != l.units[keys[i-1]].part {
			done.reset()
		}
		done.add(st)
		if u.piece == 0 {
			v.Lines++
		}
		v.WrittenBy[sourceKind(l.names[u.stream])]++
		name := fmt.Sprintf("%s seq %d piece %d", l.names[u.stream], u.seq, u.piece+1)
		// Which outputs must have it: those of the last pod that delivered it anywhere (it read the unit, so its
		// registry had not passed it: the unit was its to finish), and the file output always (every pod has it).
		var must [numOutputs]bool
		must[outFile] = true
		if n := len(st.deliveries); n > 0 {
			last := st.deliveries[n-1]
			for _, d := range st.deliveries {
				if d.at > last.at {
					last = d
				}
			}
			for o := range numOutputs {
				must[o] = must[o] || pods[last.pod].outputs[o]
			}
		}
		var first [numOutputs]*delivery
		for i := range st.deliveries {
			d := &st.deliveries[i]
			pv := pods[d.pod]
			if pv.fenced && d.at < pv.until {
				v.FencedDeliveries++
				sample("fenced", fmt.Sprintf("%s delivered to %s by standby pod %d while the holder lived", name,
					outputNames[d.out], d.pod))
			}
			v.Deliveries[outputNames[d.out]]++
			if first[d.out] == nil {
				first[d.out] = d
				v.Delivered[outputNames[d.out]]++
				continue
			}
			// A duplicate: allowed unless an earlier delivery is in the registry the sending pod restored: made
			// by a pod of its lineage before (within slack) that pod's registry was taken. Container streams keep
			// no per-output positions: there an earlier delivery counts once every output of its pod had the unit.
			by, resent := captured(st, d, pods, slack, &done)
			if by != nil {
				v.OutOfWindow++
				sample("out_of_window", fmt.Sprintf("%s: at %s delivered by pod %d at %.3fs, again by pod %d at "+
					"%.3fs, whose restored registry held pod %d's state of %.3fs", name, outputNames[d.out], by.pod,
					secs(by.at), d.pod, secs(d.at), by.pod, secs(lineageTaken(pv, by.pod))))
				continue
			}
			v.Duplicates[outputNames[d.out]]++
			if resent {
				v.AfterLostReply[outputNames[d.out]]++
			}
		}
		for o := range numOutputs {
			if !must[o] || first[o] != nil {
				continue
			}
			if allowedLoss(st.part) {
				v.AllowedLost++
				v.AllowedLostBytes += int64(st.size) + 1
				v.allowedLostByParts[st.part]++
				continue
			}
			v.Lost++
			why := fmt.Sprintf("%s: never reached %s (written at %.3fs, part %d)", name, outputNames[o],
				secs(st.written), st.part)
			sample("lost", why)
			var got strings.Builder
			for _, d := range st.deliveries {
				fmt.Fprintf(&got, " %s:pod%d@%.3fs", outputNames[d.out], d.pod, secs(d.at))
			}
			v.lost = append(v.lost, why+"; delivered"+got.String())
		}
	}
	for o, n := range v.Delivered {
		if n > 0 {
			v.DuplicatePct[o] = 100 * float64(v.Duplicates[o]) / float64(n)
		}
	}
	return v
}

// partBytes is how many bytes were written to each part (a newline counted per unit).
func (l *ledger) partBytes() map[int32]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[int32]int64{}
	for _, st := range l.units {
		if st.part >= 0 {
			out[st.part] += int64(st.size) + 1
		}
	}
	return out
}

// known reports whether a registry of the lineage held any line of part: a pod of the lineage delivered one of
// its units at least slack before that pod's registry was taken.
func (l *ledger) known(part int32, lineage []link, slack time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byPart == nil {
		l.byPart = map[int32][]*unitState{}
		for _, st := range l.units {
			l.byPart[st.part] = append(l.byPart[st.part], st)
		}
	}
	for _, st := range l.byPart[part] {
		for _, d := range st.deliveries {
			for _, ln := range lineage {
				if ln.pod == d.pod && d.at < ln.taken-int64(slack) {
					return true
				}
			}
		}
	}
	return false
}

// captured returns the earlier delivery of st that pod d.pod should have known of, or nil: one at d's output
// by a pod of its lineage whose position there passed the unit at least slack before that pod's registry was
// taken, or one by d's own pod whose answer reached it. resent reports that d is d's pod sending again what it
// delivered before without learning so (a lost answer).
func captured(st *unitState, d *delivery, pods []podView, slack time.Duration, done *acked) (by *delivery, resent bool) {
	lineage := pods[d.pod].lineage
	for i := range st.deliveries {
		prev := &st.deliveries[i]
		if prev == d {
			return nil, resent
		}
		if prev.out != d.out {
			continue
		}
		if prev.pod == d.pod {
			if prev.lostReply {
				resent = true // sent again: the pod never learnt it had arrived
				continue
			}
			return prev, false
		}
		at := done.at(prev.pod, prev.out)
		if st.container {
			at = done.everyOutput(prev.pod, pods[prev.pod].outputs)
		}
		for _, l := range lineage {
			if l.pod == prev.pod && at < l.taken-int64(slack) {
				return prev, false
			}
		}
	}
	return nil, resent
}

func lineageTaken(pv podView, pod int32) int64 {
	for _, l := range pv.lineage {
		if l.pod == pod {
			return l.taken
		}
	}
	return -1
}

// acked follows, along the units of one file part in the order they were written, when each pod's position at
// each output passed the current unit. A position is a contiguous prefix: it passes a unit once the output
// acknowledged it and every unit before it, so a unit delivered early waits for an earlier one an output asked to
// retry (a per-item 429) or held (an output down). Units before a pod's first delivery to an output are ignored:
// the registry it restored already held them.
type acked struct {
	prefix map[podOutput]int64 // the latest first delivery of the units so far
	unit   map[podOutput]int64 // the current unit's first deliveries
}

type podOutput struct {
	pod int32
	out uint8
}

func (a *acked) reset() {
	if a.prefix == nil {
		a.prefix, a.unit = map[podOutput]int64{}, map[podOutput]int64{}
	}
	clear(a.prefix)
}

// add moves on to the next unit of the part, st.
func (a *acked) add(st *unitState) {
	clear(a.unit)
	for _, d := range st.deliveries {
		k := podOutput{d.pod, d.out}
		if at, ok := a.unit[k]; !ok || d.at < at {
			a.unit[k] = d.at
		}
	}
	for k, at := range a.unit {
		a.prefix[k] = max(a.prefix[k], at)
	}
}

const never = 1<<63 - 1

// at is when pod's position at out passed the current unit; never when pod did not deliver it there.
func (a *acked) at(pod int32, out uint8) int64 {
	if _, ok := a.unit[podOutput{pod, out}]; !ok {
		return never
	}
	return a.prefix[podOutput{pod, out}]
}

// everyOutput is when pod's position passed the current unit at every one of its outputs: container inputs keep
// no per-output positions, so their committed position is the least of them.
func (a *acked) everyOutput(pod int32, outputs [numOutputs]bool) int64 {
	var done int64
	for o := range numOutputs {
		if outputs[o] {
			done = max(done, a.at(pod, uint8(o)))
		}
	}
	return done
}

// sourceKind is what wrote a stream, by its name's first letter.
func sourceKind(stream string) string {
	switch stream[0] {
	case 'd':
		return "docker json-file"
	case 'k':
		return "kubernetes cri"
	}
	return "plain files"
}

func secs(ns int64) float64 { return float64(ns) / 1e9 }
