package file

// SetDefaults fills unset fields with their defaults. Placeholder: the file sink owns its real implementation.
func (c *Config) SetDefaults() {}

// Validate checks the configuration and returns every problem as fielderr errors (paths relative to the output).
// Placeholder: the file sink owns its real implementation.
func (c *Config) Validate() error { return nil }
