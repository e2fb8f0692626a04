package main

import (
	"fmt"
	"slices"

	"github.com/flickerlog/flicker/config"
	"github.com/flickerlog/flicker/internal/telemetry"
	"github.com/flickerlog/flicker/processors"
)

// buildChains compiles the processors list of every input that has one (the config loader checked them).
func buildChains(cfg *config.Config) (map[string]*processors.Chain, error) {
	chains := make(map[string]*processors.Chain, len(cfg.Processors))
	for name, list := range cfg.Processors {
		c, err := processors.Build(name, list)
		if err != nil {
			return nil, fmt.Errorf("input %s: processors: %w", name, err)
		}
		chains[name] = c
	}
	return chains, nil
}

// processorStats are the error counts of every processor of every chain, inputs sorted by name.
func processorStats(chains map[string]*processors.Chain) []telemetry.ProcessorStats {
	var out []telemetry.ProcessorStats
	names := make([]string, 0, len(chains))
	for name := range chains {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		chains[name].ErrorCounts(func(processor string, n uint64) {
			out = append(out, telemetry.ProcessorStats{Input: name, Processor: processor, Errors: n})
		})
	}
	return out
}
