package container_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sources/container"
	"github.com/flickerlog/flicker/sources/file"
)

// messagesPublisher keeps a copy of every published message.
type messagesPublisher struct{ msgs []string }

func (p *messagesPublisher) Publish(_ context.Context, events []engine.Event) error {
	for _, e := range events {
		p.msgs = append(p.msgs, string(e.Message))
	}
	return nil
}

// An empty message as the first one a source ships is an event with an empty message: it once had no output
// arena chunk to be referenced in, and the reader panicked.
func TestEmptyFirstMessage(t *testing.T) {
	for _, tt := range []struct {
		format, log string
	}{
		{file.FormatDocker, `{"log":"\n","stream":"stdout","time":"2024-05-01T10:00:01Z"}` + "\n" +
			`{"log":"a\n","stream":"stdout","time":"2024-05-01T10:00:02Z"}` + "\n"},
		{file.FormatCRI, "2024-05-01T10:00:01Z stdout F \n2024-05-01T10:00:02Z stdout F a\n"},
	} {
		t.Run(tt.format, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "app.log"), []byte(tt.log), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := file.Config{Name: "empty", Paths: []string{filepath.Join(dir, "*.log")}, Format: tt.format}
			cfg.SetDefaults()
			src, err := file.New(cfg, newRegistry(), file.Options{Once: true, Formats: container.Formats()},
				zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			pub := &messagesPublisher{}
			if err := src.Run(context.Background(), pub); err != nil {
				t.Fatal(err)
			}
			if len(pub.msgs) != 2 || pub.msgs[0] != "" || pub.msgs[1] != "a" {
				t.Errorf("messages %q, want [\"\" \"a\"]", pub.msgs)
			}
		})
	}
}
