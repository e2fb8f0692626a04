// Package benchmarks measures flicker end to end: it generates a large log, runs the built binary over it with
// --once, and reports throughput, CPU per GiB and peak memory next to the machine's ceilings (reading and
// splitting the same file with a minimal loop, writing the same bytes with fsync). The container inputs are
// measured over the same lines, wrapped as Docker json-file or CRI records (GenerateDocker, GenerateCRI), next to
// the plain file, and their memory with many containers' logs held open (RunOpenFiles). The listening sources
// (HTTP, syslog over TCP) are measured as receivers (RunListening) under the load of package loadgen, whose
// senders carry the plain log's lines (Lines). cmd/flickerbench is the command behind `make bench`; results are
// recorded in RESULTS.md.
package benchmarks
