package chaos

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// Network outputs: every pod ships to its file output and to one network output, http or elasticsearch, which
// the seed chooses per pod. The http output of each pod posts to a collector of its own, so that the harness
// knows which pod delivered what; the elasticsearch output of every pod goes to one emulated cluster, as pods
// share one: an event sent again is indexed again under its _id, and the pod that sent it is read from the
// event's fields.pod.

// netFault is what a network output does during an output fault.
type netFault int

const (
	netFail    netFault = iota // every request answered 503
	netStall                   // every request held until the fault ends
	netTooMany                 // http: 429 with Retry-After; elasticsearch: half the items rejected with 429
)

// esItemRejections is the fraction of items the emulated cluster always answers with a per-item 429.
const esItemRejections = 0.05

// netServer is one network output's receiving end, as the faults drive it.
type netServer interface {
	url() string
	fault(f netFault)
	healthy()
}

// chooseNet picks the network output of pod id.
func chooseNet(seed uint64, id int) uint8 {
	if rand.New(rand.NewPCG(seed, uint64(id)+7)).IntN(2) == 0 {
		return outHTTP
	}
	return outES
}

// netConfig is the YAML of pod p's network output.
func netConfig(p *pod, url string) string {
	retry := `    retry:
      initial: 50ms
      max: 1s
`
	if p.outputs[outHTTP] {
		return fmt.Sprintf("  - type: http\n    name: http\n    url: %q\n    timeout: 2s\n", url) + retry
	}
	if p.outputs[outES] {
		return fmt.Sprintf("  - type: elasticsearch\n    name: elasticsearch\n    hosts: [%q]\n    index: chaos\n"+
			"    timeout: 2s\n", url) + retry
	}
	return ""
}

// indexedEvent is what the harness reads of a document indexed by the emulated cluster.
type indexedEvent struct {
	Message string `json:"message"`
	Fields  struct {
		Pod string `json:"pod"`
	} `json:"fields"`
}

// recordIndexed records the documents the cluster indexed, each delivered by the pod its fields.pod names.
func (h *harness) recordIndexed(sources [][]byte) {
	now := time.Now()
	for _, src := range sources {
		pod, msg := h.indexedBy(src)
		if pod < 0 {
			h.ledger.delivered(outES, -1, string(src), now)
			continue
		}
		h.ledger.delivered(outES, pod, msg, now)
	}
}

// recordLostReply records that the pods that sent these indexed documents never got the answer.
func (h *harness) recordLostReply(sources [][]byte) {
	for _, src := range sources {
		if pod, msg := h.indexedBy(src); pod >= 0 {
			h.ledger.lostReply(outES, pod, msg)
		}
	}
}

// indexedBy reads a document's message and the pod that sent it (-1: none of the run's).
func (h *harness) indexedBy(src []byte) (pod int, message string) {
	var ev indexedEvent
	pod = -1
	if err := json.Unmarshal(src, &ev); err == nil {
		fmt.Sscan(ev.Fields.Pod, &pod)
	}
	if pod < 0 || pod >= h.podCount() {
		return -1, ""
	}
	return pod, ev.Message
}

func (h *harness) podCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.pods)
}

// netServers are the network outputs' receiving ends of a run.
type netServers struct {
	es           netServer               // shared by every pod that ships to elasticsearch
	newCollector func(pod int) netServer // an http collector whose deliveries are pod's
	collectors   map[int]netServer       // by pod
}

// netURL is where pod p's network output ships: its own collector (created now) or the cluster.
func (h *harness) netURL(p *pod) string {
	switch {
	case p.outputs[outHTTP]:
		c := h.net.newCollector(p.id)
		h.mu.Lock()
		h.net.collectors[p.id] = c
		h.mu.Unlock()
		return c.url()
	case p.outputs[outES]:
		return h.net.es.url()
	}
	return ""
}

// netServerOf is pod p's network output's receiving end and the output's name, or nil.
func (h *harness) netServerOf(p *pod) (netServer, string) {
	switch {
	case p.outputs[outHTTP]:
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.net.collectors[p.id], outputNames[outHTTP]
	case p.outputs[outES]:
		return h.net.es, outputNames[outES]
	}
	return nil, ""
}
