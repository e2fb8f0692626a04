// Package benchmarks measures flicker end to end: it generates a large log, runs the built binary over it with
// --once, and reports throughput, CPU per GiB and peak memory next to the machine's ceilings (reading and
// splitting the same file with a minimal loop, writing the same bytes with fsync). cmd/flickerbench is the
// command behind `make bench`; results are recorded in RESULTS.md.
package benchmarks
