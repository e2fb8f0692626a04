package file

// SetDefaults fills unset fields with their defaults. Placeholder: the file source owns its real implementation.
func (c *Config) SetDefaults() {}

// Validate checks the configuration and returns every problem as fielderr errors (paths relative to the entry).
// Placeholder: the file source owns its real implementation.
func (c *Config) Validate() error { return nil }
