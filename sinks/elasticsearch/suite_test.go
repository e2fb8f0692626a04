package elasticsearch_test

import (
	"testing"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
	"github.com/flickerlog/flicker/sinks/elasticsearch"
	"github.com/flickerlog/flicker/sinks/elasticsearch/estest"
)

func TestPassesSinkSuite(t *testing.T) {
	enginetest.RunSinkSuite(t, func(t *testing.T) (engine.Sink, func() [][]byte) {
		es := estest.Start(t, estest.Options{})
		s := newSink(t, elasticsearch.Config{Hosts: []string{es.URL()}, Index: "suite"})
		return s, es.Messages
	})
}
