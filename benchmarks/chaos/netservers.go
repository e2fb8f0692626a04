package chaos

import (
	"net/http"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sinks/elasticsearch/estest"
	"github.com/flickerlog/flicker/sinks/http/collecttest"
)

// httpCollector is one pod's http collector (sinks/http/collecttest).
type httpCollector struct{ s *collecttest.Server }

func (c httpCollector) url() string { return c.s.URL() }

func (c httpCollector) fault(f netFault) {
	switch f {
	case netFail:
		c.s.Fail(http.StatusServiceUnavailable)
	case netStall:
		c.s.Stall()
	case netTooMany:
		c.s.TooMany(time.Second)
	}
}

func (c httpCollector) healthy() { c.s.Healthy() }

// esCluster is the emulated Elasticsearch cluster (sinks/elasticsearch/estest) every pod shares.
type esCluster struct {
	s    *estest.Server
	seed uint64
}

func (c esCluster) url() string { return c.s.URL() }

func (c esCluster) fault(f netFault) {
	switch f {
	case netFail:
		c.s.FailAll(http.StatusServiceUnavailable)
	case netStall:
		c.s.Stall()
	case netTooMany:
		c.s.FailItemFraction(0.5, c.seed)
	}
}

func (c esCluster) healthy() {
	c.s.Healthy()
	c.s.FailItemFraction(esItemRejections, c.seed)
}

// startNetServers starts the cluster and prepares a collector per pod, their deliveries recorded in the ledger.
func (h *harness) startNetServers(t *testing.T) {
	es := estest.Start(t, estest.Options{OnIndexed: h.recordIndexed, OnReplyLost: h.recordLostReply})
	h.net = netServers{es: esCluster{s: es, seed: h.cfg.seed}, collectors: map[int]netServer{},
		newCollector: func(pod int) netServer {
			return httpCollector{s: collecttest.Start(t, collecttest.OnAccept(func(msgs []string) {
				now := time.Now()
				for _, m := range msgs {
					h.ledger.delivered(outHTTP, pod, m, now)
				}
			}), collecttest.OnReplyLost(func(msgs []string) {
				for _, m := range msgs {
					h.ledger.lostReply(outHTTP, pod, m)
				}
			}))}
		}}
	h.net.es.healthy()
}
