package main

import "fmt"

// ValidateCmd checks a configuration without running it, with the same load and checks as a run: among them, that
// no input reads an output's file, which looks at the paths as they are on this machine.
type ValidateCmd struct {
	Config       string `short:"c" name:"config" xor:"config" placeholder:"FILE" help:"Configuration file to check. Relative paths in it are taken from the current directory, as when running."`
	ConfigInline string `name:"config-inline" env:"FLICKER_CONFIG" xor:"config" placeholder:"YAML" help:"${config_inline_help}"`
}

// Run prints a one-line summary of a valid configuration, or every error with its line (exit 2).
func (c *ValidateCmd) Run(e *env) error {
	cfg, err := loadConfig(c.Config, c.ConfigInline)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	_, err = fmt.Fprintf(e.stdout, "valid: %s\n", cfg.Summary())
	return err
}
