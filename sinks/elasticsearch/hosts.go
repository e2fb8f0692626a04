package elasticsearch

import (
	"slices"
	"strings"
	"time"
)

// bulkQuery trims the response to what the sink reads (Elasticsearch 7/8 and OpenSearch 2 all support
// filter_path): the errors flag, and per item its status and error. Items must keep their status, or successful
// items would be filtered out and the rest lose their position.
const bulkQuery = "?filter_path=errors,items.*.error,items.*.status"

// A host that failed rests for hostRestMin, doubling with each failure in a row up to hostRestMax: requests go
// to the other hosts meanwhile, and to the resting one only when every host rests.
const (
	hostRestMin = time.Second
	hostRestMax = 30 * time.Second
)

// host is one configured node.
type host struct {
	name      string // the configured URL, for logs and errors; validated to hold no credentials
	bulkURL   string
	failures  int       // in a row
	restUntil time.Time // zero while healthy
}

// hostPool spreads requests round-robin over the hosts and fails over from the ones that do not answer. Only
// the worker goroutine that calls Write uses it.
type hostPool struct {
	hosts []*host
	next  int     // round-robin cursor
	order []*host // reused by attemptOrder
	now   func() time.Time
}

func newHostPool(urls []string) *hostPool {
	p := &hostPool{now: time.Now}
	for _, u := range urls {
		p.hosts = append(p.hosts, &host{name: u, bulkURL: strings.TrimRight(u, "/") + "/_bulk" + bulkQuery})
	}
	return p
}

// attemptOrder returns the hosts to try, in order, for one request: the healthy ones round-robin from the
// cursor, then the resting ones, the soonest back first. Each request moves the cursor by one.
func (p *hostPool) attemptOrder() []*host {
	now, n := p.now(), len(p.hosts)
	o := p.order[:0]
	for k := range n {
		if h := p.hosts[(p.next+k)%n]; !now.Before(h.restUntil) {
			o = append(o, h)
		}
	}
	healthy := len(o)
	for k := range n {
		if h := p.hosts[(p.next+k)%n]; now.Before(h.restUntil) {
			o = append(o, h)
		}
	}
	slices.SortStableFunc(o[healthy:], func(a, b *host) int { return a.restUntil.Compare(b.restUntil) })
	p.next = (p.next + 1) % n
	p.order = o
	return o
}

// failed makes h rest.
func (p *hostPool) failed(h *host) {
	h.failures++
	rest := hostRestMin << min(h.failures-1, 10)
	h.restUntil = p.now().Add(min(rest, hostRestMax))
}

// succeeded makes h healthy.
func (p *hostPool) succeeded(h *host) { h.failures, h.restUntil = 0, time.Time{} }
