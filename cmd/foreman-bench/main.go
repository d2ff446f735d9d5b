// Command foreman-bench measures foreman's start-up against a large event
// log: full projections rebuild rate, restart time from a checkpoint, and
// the daemon's RSS after start. docs/benchmarks.md has the figures and the
// commands that produced them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	if err := m.Run(ctx, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(m.Stderr, "foreman-bench:", err)
		}
		os.Exit(exitCode(err))
	}
}

// Exit codes.
const (
	ExitOK     = 0
	ExitError  = 1 // the measurement could not run
	ExitUsage  = 2 // bad command line
	ExitMissed = 3 // measured, and a target was missed
)

var (
	// ErrTargetMissed is returned after the report when a target was missed.
	ErrTargetMissed = errors.New("a target was missed")
)

// usageError marks a bad command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue), errors.Is(err, flag.ErrHelp):
		return ExitUsage
	case errors.Is(err, ErrTargetMissed):
		return ExitMissed
	}
	return ExitError
}

// Main holds the program's outside world, so tests can run commands in
// process.
type Main struct {
	Stdout io.Writer
	Stderr io.Writer
}

// NewMain returns a Main wired to the process.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr}
}

const usage = `foreman-bench measures foreman's start-up on a large event log.

Usage:
  foreman-bench fixture --dir DIR [--events N]   build a fixture log in DIR
  foreman-bench startup --dir DIR                measure rebuild, restart and RSS on it
  foreman-bench all [--events N]                 fixture in a temp dir, startup, clean up

Run "foreman-bench <command> -h" for a command's flags.`

// Run dispatches a subcommand.
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(m.Stderr, usage)
		return &usageError{"no command given"}
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "fixture":
		return (&FixtureCommand{m: m}).Run(ctx, rest)
	case "startup":
		return (&StartupCommand{m: m}).Run(ctx, rest)
	case "all":
		return (&AllCommand{m: m}).Run(ctx, rest)
	case "help", "-h", "--help":
		fmt.Fprintln(m.Stdout, usage)
		return nil
	default:
		fmt.Fprintln(m.Stderr, usage)
		return &usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}

// parseFlags parses args and refuses stray arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return err
	} else if err != nil {
		return &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}
