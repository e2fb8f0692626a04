package benchmarks_test

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/benchmarks"
	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sources/container"
	"github.com/flickerlog/flicker/sources/file"
)

// noRegistry keeps no positions: each run starts at the beginning.
type noRegistry struct{}

func (noRegistry) Load(string) ([]file.State, error) { return nil, nil }
func (noRegistry) Save(string, file.State)           {}
func (noRegistry) Remove(string, uint64, uint64)     {}

type countingPublisher struct{ events int64 }

func (p *countingPublisher) Publish(_ context.Context, events []engine.Event) error {
	p.events += int64(len(events))
	return nil
}

// BenchmarkInputs reads 64 MiB of the harness's lines through each input, in once mode, into a publisher that
// acknowledges nothing: the inputs' own cost without the engine and outputs, for a CPU profile
// (-cpuprofile) of where a container input's time goes next to the plain file's. The container logs hold the
// same lines as the plain one (fewer of them: the records are longer).
func BenchmarkInputs(b *testing.B) {
	const size = 64 << 20
	dir := b.TempDir()
	plainPath := filepath.Join(dir, "plain.log")
	lines, err := benchmarks.GenerateLog(plainPath, size)
	if err != nil {
		b.Fatal(err)
	}
	docker, err := benchmarks.GenerateDocker(filepath.Join(dir, "containers"), 1, size)
	if err != nil {
		b.Fatal(err)
	}
	cri, err := benchmarks.GenerateCRI(filepath.Join(dir, "pods"), 1, size)
	if err != nil {
		b.Fatal(err)
	}
	criCfg := file.Config{Name: "bench", Paths: cri.Files, Format: file.FormatCRI}
	criCfg.SetDefaults()
	plainCfg := file.Config{Name: "bench", Paths: []string{plainPath}}
	plainCfg.SetDefaults()
	dockerCfg := container.Config{Name: "bench", Path: docker.Root}
	dockerCfg.SetDefaults()
	inputs := []struct {
		name   string
		events int64
		new    func() (*file.Source, error)
	}{
		{"file", lines, func() (*file.Source, error) {
			return file.New(plainCfg, noRegistry{}, file.Options{Once: true}, zerolog.Nop())
		}},
		{"docker_containers", docker.Messages, func() (*file.Source, error) {
			return container.NewDocker(dockerCfg, noRegistry{}, file.Options{Once: true}, zerolog.Nop())
		}},
		{"cri", cri.Messages, func() (*file.Source, error) {
			return file.New(criCfg, noRegistry{}, file.Options{Once: true, Formats: container.Formats()}, zerolog.Nop())
		}},
	}
	for _, in := range inputs {
		b.Run("input="+in.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			for b.Loop() {
				src, err := in.new()
				if err != nil {
					b.Fatal(err)
				}
				pub := &countingPublisher{}
				if err := src.Run(context.Background(), pub); err != nil {
					b.Fatal(err)
				}
				if pub.events != in.events {
					b.Fatalf("%d events, want %d", pub.events, in.events)
				}
			}
			b.ReportMetric(float64(in.events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			// The process's CPU time per event: steadier than the elapsed time on a machine others load too.
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(in.events*int64(b.N)), "cpu-ns/event")
		})
	}
}

// cpuTime is the CPU time the process has used so far (user and system), in nanoseconds.
func cpuTime(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
