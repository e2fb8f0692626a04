package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/flickerlog/flicker/config"
	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventfields"
	"github.com/flickerlog/flicker/internal/eventjson"
	"github.com/flickerlog/flicker/processors"
)

// TestProcessorsCmd runs one input's processors over sample lines, so that a user can try a pattern without
// shipping anything.
type TestProcessorsCmd struct {
	Config       string `short:"c" name:"config" xor:"config" placeholder:"FILE" help:"Configuration file holding the input."`
	ConfigInline string `name:"config-inline" env:"FLICKER_CONFIG" xor:"config" placeholder:"YAML" help:"${config_inline_help}"`
	Input        string `name:"input" required:"" placeholder:"NAME" help:"Name of the input whose processors to run."`
}

// Help is the command's detailed help (kong's HelpProvider), under the summary in its --help.
func (*TestProcessorsCmd) Help() string { return testProcessorsHelp }

const testProcessorsHelp = "Each event is printed as the outputs would encode it, one JSON object per line; each " +
	"dropped line is noted on stderr with its line number, then a summary (lines, events, dropped, processor " +
	"errors). Nothing is shipped and no registry is touched. Each stdin line is one message as the input would " +
	"read it, whatever the input's kind (the input's multiline, encoding and format settings are not applied): " +
	"for container inputs give the log's text, not the Docker or CRI record around it. The members a source adds " +
	"from where it read an event (container.*, kubernetes.*, api.*, syslog.*, an HTTP source's request members) " +
	"are not added, nor merged with the processors' fields; the input's configured fields are. " +
	"Example: flicker test-processors -c config.yaml --input tomcat < sample.log"

// Run loads the configuration, builds the input's chain and runs it over stdin.
func (c *TestProcessorsCmd) Run(e *env) error {
	cfg, err := loadConfig(c.Config, c.ConfigInline)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	in, err := sampleInput(cfg, c.Input)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	chain, err := processors.Build(c.Input, cfg.Processors[c.Input])
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("input %s: processors: %w", c.Input, err)}
	}
	if len(cfg.Processors[c.Input]) == 0 {
		fmt.Fprintf(e.stderr, "input %s has no processors: the events are printed as read\n", c.Input)
	}
	return runSample(os.Stdin, e.stdout, e.stderr, in, chain)
}

// runSample reads lines from r, runs chain over each as an event of input in, and writes the kept events to out,
// encoded as the outputs would, and a note per dropped line and a summary to notes.
func runSample(r io.Reader, out, notes io.Writer, in *engine.Input, chain *processors.Chain) error {
	st := engine.NewStream(in, nil)
	tailed := in.Type == "file" || in.Type == "container" || in.Type == "kubernetes" // log.file.path, log.offset
	if tailed {
		st.Path = "-"
	}
	st.IDSeed = engine.SeedID([]byte(in.Name), []byte("test-processors"))
	var enc eventjson.Encoder
	br := bufio.NewReaderSize(r, 64<<10)
	bw := bufio.NewWriter(out)
	var line, kept, dropped int
	var offset int64
	var buf []byte
	for {
		raw, err := br.ReadBytes('\n')
		if len(raw) > 0 {
			line++
			msg := bytes.TrimSuffix(bytes.TrimSuffix(raw, []byte("\n")), []byte("\r"))
			ev := engine.Event{Time: time.Now(), Message: msg, Stream: st, Offset: offset,
				Pos: offset + int64(len(raw))}
			offset = ev.Pos
			if !tailed {
				ev.Offset, ev.Pos = -1, int64(line)
			}
			if chain.Process(&ev) {
				kept++
				buf = append(enc.Append(buf[:0], &ev), '\n')
				if _, werr := bw.Write(buf); werr != nil {
					return werr
				}
			} else {
				dropped++
				fmt.Fprintf(notes, "line %d: dropped by the processors\n", line)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	var failed []string
	chain.ErrorCounts(func(processor string, n uint64) {
		if n > 0 {
			failed = append(failed, fmt.Sprintf("%s %d", processor, n))
		}
	})
	summary := fmt.Sprintf("%d lines: %d events, %d dropped", line, kept, dropped)
	if len(failed) > 0 {
		summary += "; processor errors (shipped with error.message): " + strings.Join(failed, ", ")
	}
	fmt.Fprintln(notes, summary)
	return nil
}

// sampleInput is the engine's Input of the configured input named name, as its source makes it (name, type,
// configured fields), or an error listing the inputs.
func sampleInput(cfg *config.Config, name string) (*engine.Input, error) {
	var names []string
	var found *engine.Input
	var fields map[string]string
	var underRoot bool
	look := func(n, typ string, f map[string]string, root bool) {
		names = append(names, n)
		if n == name && found == nil {
			found, fields, underRoot = &engine.Input{Name: n, Type: typ}, f, root
		}
	}
	for _, c := range cfg.LogFiles {
		look(c.Name, "file", c.Fields, c.FieldsUnderRoot)
	}
	for _, c := range cfg.DockerContainers {
		look(c.Name, "container", c.Fields, c.FieldsUnderRoot)
	}
	for _, c := range cfg.Kubernetes {
		look(c.Name, "kubernetes", c.Fields, c.FieldsUnderRoot)
	}
	for _, c := range cfg.APISources {
		look(c.Name, "api", c.Fields, c.FieldsUnderRoot)
	}
	for _, c := range cfg.SyslogSources {
		look(c.Name, "syslog", nil, false)
	}
	for _, c := range cfg.HTTPSources {
		look(c.Name, "http", nil, false)
	}
	if found == nil {
		slices.Sort(names)
		return nil, fmt.Errorf("--input %s: no input of that name in the configuration (inputs: %s)", name,
			strings.Join(names, ", "))
	}
	fj, err := eventfields.Render(fields, underRoot)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", name, err)
	}
	found.FieldsJSON = fj
	return found, nil
}
