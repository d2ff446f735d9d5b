// Command foreman fronts one Ollama server with a durable, queued,
// observable job endpoint. See the README for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/foreman-dev/foreman/eventlog"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(NewMain().Main(ctx, os.Args[1:]))
}

// Main runs a command, prints its error on one line and returns the exit
// code.
func (m *Main) Main(ctx context.Context, args []string) int {
	err := m.Run(ctx, args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(m.Stderr, errorLine(err))
	}
	return exitCode(err)
}

// errorLine is err as printed: after "foreman: ", unless the message
// already begins with the program's name ("foreman job takes 1
// argument"), so that no line reads "foreman: foreman: ...".
func errorLine(err error) string {
	msg := err.Error()
	if strings.HasPrefix(msg, "foreman ") || strings.HasPrefix(msg, "foreman:") {
		return msg
	}
	return "foreman: " + msg
}

// Exit codes.
const (
	ExitOK      = 0
	ExitError   = 1 // operational failure
	ExitUsage   = 2 // bad command line or configuration
	ExitCorrupt = 3 // the event log or the projections failed verification
)

// usageError marks a bad command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var ue *usageError
	var ce *ConfigError
	var ve *verifyFailure
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue), errors.As(err, &ce), errors.Is(err, flag.ErrHelp):
		return ExitUsage
	case errors.As(err, &ve), errors.Is(err, eventlog.ErrLost):
		return ExitCorrupt
	}
	return ExitError
}

// Main holds the program's outside world, so tests can run commands in
// process.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Environ lists the environment (KEY=VALUE), to find misspelt
	// settings; nil: none are looked for.
	Environ func() []string
}

// NewMain returns a Main wired to the process.
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Environ: os.Environ}
}

const usage = `foreman fronts one Ollama server with a durable, queued job endpoint.

Usage:
  foreman serve               run the daemon (settings: FOREMAN_* variables)
  foreman route               route to several daemons by their forecasts (FOREMAN_ROUTE_*)
  foreman log <command>       inspect, verify and export an event log offline
  foreman backup DIR          write a consistent copy of the store to DIR
  foreman healthcheck         exit 0 if the daemon at FOREMAN_LISTEN is healthy, 1 if not
  foreman version             print the version (also --version)
  foreman completion bash|zsh print a shell completion script

Client commands (daemon at FOREMAN_URL, default http://127.0.0.1:8080, or
several separated by commas: a fleet; token FOREMAN_TOKEN; --json for JSON output):
  foreman submit MODEL [PROMPT]   submit a job, stream its answer (--async: print the id)
  foreman jobs                    list jobs (--state, --model, --limit)
  foreman job ID                  a job's detail (elapsed, tokens, ETA) and history
  foreman watch ID                print a job's output as it is produced (job ID --follow)
  foreman cancel ID               cancel a queued or running job
  foreman retry ID                requeue a failed or cancelled job
  foreman ps                      loaded models, the running job, queue depth
  foreman webhooks replay --from OFFSET   deliver job events again
  foreman batch create|ls|get|cancel|wait|output   OpenAI batches (foreman batch for usage)

Fleet audit (the history daemons ship to NATS JetStream, FOREMAN_NATS_URL):
  foreman fleet log --nats URL    per node events, gaps, jobs by state (--node, --job ID, --events, --from)

Exit codes: 0 ok; 1 error (also a job that ended failed or cancelled,
an unreachable daemon, a refused token); 2 bad usage or configuration;
3 the log failed verification.

Run "foreman <command> -h" for a command's flags.`

// Run dispatches a subcommand.
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(m.Stderr, usage)
		return &usageError{"no command given"}
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return (&ServeCommand{m: m}).Run(ctx, rest)
	case "route":
		return (&RouteCommand{m: m}).Run(ctx, rest)
	case "log":
		return (&LogCommand{m: m}).Run(ctx, rest)
	case "backup":
		return (&BackupCommand{m: m}).Run(ctx, rest)
	case "submit":
		return (&SubmitCommand{m: m}).Run(ctx, rest)
	case "jobs":
		return (&JobsCommand{m: m}).Run(ctx, rest)
	case "job":
		return (&JobCommand{m: m}).Run(ctx, rest)
	case "watch":
		return (&JobCommand{m: m, follow: true}).Run(ctx, rest)
	case "cancel":
		return CancelCommand(m).Run(ctx, rest)
	case "retry":
		return RetryCommand(m).Run(ctx, rest)
	case "ps":
		return (&PsCommand{m: m}).Run(ctx, rest)
	case "webhooks":
		return (&WebhooksCommand{m: m}).Run(ctx, rest)
	case "fleet":
		return (&FleetCommand{m: m}).Run(ctx, rest)
	case "batch":
		return (&BatchCommand{m: m}).Run(ctx, rest)
	case "healthcheck":
		return (&HealthcheckCommand{m: m}).Run(ctx, rest)
	case "version", "--version":
		return (&VersionCommand{m: m}).Run(ctx, rest)
	case "completion":
		return (&CompletionCommand{m: m}).Run(ctx, rest)
	case "help", "-h", "--help":
		fmt.Fprintln(m.Stdout, usage)
		return nil
	default:
		fmt.Fprintln(m.Stderr, usage)
		return &usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}
