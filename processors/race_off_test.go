//go:build !race

package processors_test

const raceEnabled = false
