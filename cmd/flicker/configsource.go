package main

import (
	"time"

	"github.com/flickerlog/flicker/config"
)

// inlineConfigName labels the errors of a configuration given with --config-inline or FLICKER_CONFIG, where a file
// name would be: "inline config:3:5: outputs[0].url: ...".
const inlineConfigName = "inline config"

// configInlineHelp is the help of --config-inline, on run and validate.
const configInlineHelp = "The configuration's YAML itself instead of a file, for a sidecar without a ConfigMap " +
	"(as Logstash's -e). Errors name its lines as 'inline config:LINE'. Exclusive with --config."

// loadConfig reads the configuration from the file, or from the inline YAML when there is no file (kong makes the
// two exclusive and one required).
func loadConfig(file, inline string) (*config.Config, error) {
	if file == "" && inline == "" { // not kong's required: its usage line would ask for both
		return nil, usageError("a configuration is required: --config (-c) FILE, or --config-inline YAML (or the " +
			"FLICKER_CONFIG environment variable)")
	}
	if file == "" {
		return config.Parse([]byte(inline), inlineConfigName)
	}
	return config.Load(file)
}

// stallBound is how long /healthz tolerates queued events without progress: --stall-timeout plus the longest
// wait between two attempts of an output (its retry.max), which is no progress but no wedge either.
func stallBound(timeout time.Duration, cfg *config.Config) time.Duration {
	longest := time.Duration(0)
	for _, o := range cfg.Outputs {
		longest = max(longest, o.Retry.Max) // the loader fills the default
	}
	return timeout + longest
}
