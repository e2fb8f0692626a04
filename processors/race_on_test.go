//go:build race

package processors_test

// raceEnabled: the race detector makes sync.Pool drop items at random, so pooled state is sometimes made anew.
const raceEnabled = true
