package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/alecthomas/kong"
)

// Exit codes: DESIGN.md section 1.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
	exitFenced  = 3
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// CLI is the kong grammar. Flags shared by every command sit here; each command's own flags on its struct.
type CLI struct {
	LogLevel  string `name:"log-level" default:"info" enum:"trace,debug,info,warn,error" help:"Log level: trace, debug, info, warn or error."`
	LogFormat string `name:"log-format" default:"auto" enum:"auto,json,console" help:"Log format on stderr: auto (console on a terminal, else json), json or console."`

	Run      RunCmd      `cmd:"" default:"withargs" help:"Ship logs as the configuration says (the default command)."`
	Validate ValidateCmd `cmd:"" help:"Check a configuration file without running it: exit 0 and a summary, or exit 2 and every error with its line."`
	Registry RegistryCmd `cmd:"" help:"Show, export or import a registry of read positions."`
	Restore  RestoreCmd  `cmd:"" help:"Disaster recovery for an S3 registry: list and verify snapshots, download one, or promote an older one."`
	Version  VersionCmd  `cmd:"" help:"Print flicker's version."`

	TestProcessors TestProcessorsCmd `cmd:"" name:"test-processors" help:"Run one input's processors over sample lines from stdin and print the events they make; ships nothing."`
}

// exitError carries the exit code a command's error maps to.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// env is what commands get from Main: where to write, and the parsed globals.
type env struct {
	stdout, stderr io.Writer
	cli            *CLI
}

// Main parses args, runs the selected command and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	var cli CLI
	exited := -1
	parser, err := newParser(&cli, stdout, stderr, func(code int) { exited = code })
	if err != nil {
		fmt.Fprintf(stderr, "flicker: %v\n", err)
		return exitRuntime
	}
	kctx, err := parser.Parse(args)
	if exited >= 0 { // --help or a kong exit
		return exited
	}
	if err != nil {
		fmt.Fprintf(stderr, "flicker: %v\n", err)
		var pe *kong.ParseError
		if errors.As(err, &pe) {
			fmt.Fprintln(stderr, "run 'flicker --help' for usage")
		}
		return exitUsage
	}
	err = kctx.Run(&env{stdout: stdout, stderr: stderr, cli: &cli})
	if err == nil {
		return exitOK
	}
	code := exitRuntime
	var ee *exitError
	if errors.As(err, &ee) {
		code, err = ee.code, ee.err
	}
	printError(stderr, err)
	return code
}

// newParser builds the parser of the CLI grammar, filling cli; kong calls exit where it would exit the process
// (after --help).
func newParser(cli *CLI, stdout, stderr io.Writer, exit func(int)) (*kong.Kong, error) {
	return kong.New(cli,
		kong.Name("flicker"),
		kong.Description("Flicker tails log files and ships their lines to outputs, remembering where it left off "+
			"in a registry (a local bbolt file, or one replicated to S3 for pods without a persistent volume)."),
		kong.Writers(stdout, stderr),
		kong.Exit(exit),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Vars{"default_track_path": defaultTrackPath, "memory_headroom_mib": strconv.Itoa(memoryHeadroom >> 20),
			"config_inline_help": configInlineHelp},
	)
}

// printError writes err for a person: one line, or a count and one indented line per problem when it joins
// several (a configuration with many mistakes).
func printError(w io.Writer, err error) {
	lines := strings.Split(err.Error(), "\n")
	if len(lines) == 1 {
		fmt.Fprintf(w, "flicker: %s\n", lines[0])
		return
	}
	fmt.Fprintf(w, "flicker: %d problems:\n", len(lines))
	for _, l := range lines {
		fmt.Fprintf(w, "  %s\n", l)
	}
}

// VersionCmd prints the version.
type VersionCmd struct{}

// Run prints the version.
func (VersionCmd) Run(e *env) error {
	_, err := fmt.Fprintf(e.stdout, "flicker %s\n", version)
	return err
}
