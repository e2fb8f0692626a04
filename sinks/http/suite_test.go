package httpout_test

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
	httpout "github.com/flickerlog/flicker/sinks/http"
)

func TestPassesSinkSuite(t *testing.T) {
	for _, cfg := range []httpout.Config{
		{},
		{Format: httpout.FormatJSONArray, Compression: httpout.CompressionNone},
	} {
		t.Run(cfg.Format+"_"+cfg.Compression, func(t *testing.T) {
			enginetest.RunSinkSuite(t, func(t *testing.T) (engine.Sink, func() [][]byte) {
				c := newCollector(t, nil)
				return newSink(t, c.url(), cfg, zerolog.Nop()), c.delivered
			})
		})
	}
}
