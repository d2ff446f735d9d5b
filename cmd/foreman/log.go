package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

// LogCommand is the offline inspector: foreman log dump|job|stats|verify|export.
// It opens the store of a stopped daemon (or a backup) read-only, never
// writes to it and never runs crash recovery.
type LogCommand struct{ m *Main }

// verifyFailure is returned when verify finds a problem (exit code 3).
type verifyFailure struct{ err error }

func (v *verifyFailure) Error() string { return v.err.Error() }
func (v *verifyFailure) Unwrap() error { return v.err }

const logUsage = `Usage: foreman log <command> [flags] [args]

Inspect the data dir of a stopped daemon, or a backup, read-only
(all but repair).

Commands:
  dump     one line per event            [--from N] [--to N] [--job ID] [--type T]
  job ID   one job's timeline and view
  batch ID one batch's timeline, status and lines (batch_<ULID>)
  stats    counts by event type and job state, offsets, size on disk
  verify   check every event, payload and the projections (exit 3 on failure)
  export   stable JSON lines for audits  --format jsonl [--from N] [--to N]
  repair   --accept-loss: record acknowledged events missing from the log
           (a damaged WAL) as lost, so that the daemon starts again; the
           only command that writes

Every command takes --data-dir DIR (default $FOREMAN_DATA_DIR, else
./foreman-data) and --json. Run "foreman log <command> -h" for its flags.`

// Run dispatches a log subcommand.
func (c *LogCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(c.m.Stderr, logUsage)
		return &usageError{"foreman log: no command given"}
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "dump":
		return c.dump(ctx, rest)
	case "job":
		return c.job(ctx, rest)
	case "batch":
		return c.batch(ctx, rest)
	case "stats":
		return c.stats(ctx, rest)
	case "verify":
		return c.verify(ctx, rest)
	case "export":
		return c.export(ctx, rest)
	case "repair":
		return c.repair(ctx, rest)
	case "help", "-h", "--help":
		fmt.Fprintln(c.m.Stdout, logUsage)
		return nil
	default:
		fmt.Fprintln(c.m.Stderr, logUsage)
		return &usageError{fmt.Sprintf("foreman log: unknown command %q", cmd)}
	}
}

// logFlags are the flags every log subcommand takes.
type logFlags struct {
	fs      *flag.FlagSet
	dataDir *string
	json    *bool
}

// newLogFlags returns a flag set with --data-dir and --json; synopsis is the
// usage line after "foreman log".
func (c *LogCommand) newLogFlags(name, synopsis string) *logFlags {
	fs := flag.NewFlagSet("foreman log "+name, flag.ContinueOnError)
	fs.SetOutput(c.m.Stderr)
	f := &logFlags{
		fs:      fs,
		dataDir: fs.String("data-dir", envOr(c.m.Getenv, "FOREMAN_DATA_DIR", DefaultConfig().DataDir), "data dir of a stopped daemon, or a backup"),
		json:    fs.Bool("json", false, "machine-readable output"),
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: foreman log %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return f
}

// parse parses args, allowing flags after positional arguments, and returns
// the positional arguments.
func (f *logFlags) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err.Error()} // the flag package printed the usage
		}
		rest := f.fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// openLog opens the data dir read-only.
func (c *LogCommand) openLog(dir string) (*eventlog.Log, error) {
	l, err := eventlog.Open(eventlog.Config{Dir: dir, ReadOnly: true})
	if errors.Is(err, eventlog.ErrLocked) {
		return nil, fmt.Errorf("%s is in use by a running foreman; take a consistent copy with "+
			"`foreman backup DIR` and inspect that with `foreman log <command> --data-dir DIR`: %w", dir, err)
	}
	switch {
	case errors.Is(err, eventlog.ErrNotDir):
		return nil, fmt.Errorf("%s is a file, not a data dir: give the directory holding the store (--data-dir or FOREMAN_DATA_DIR): %w", dir, err)
	case errors.Is(err, eventlog.ErrNoStore):
		return nil, fmt.Errorf("%s holds no foreman store: give the data dir of a stopped daemon, or a backup (--data-dir or FOREMAN_DATA_DIR): %w", dir, err)
	case err != nil:
		return nil, fmt.Errorf("open %s read-only: %w", dir, err)
	}
	return l, nil
}

// openScratch opens an empty in-memory store for rebuilding projections.
func openScratch() (*eventlog.Log, error) {
	l, err := eventlog.Open(eventlog.Config{Dir: "scratch", FS: vfs.NewMem()})
	if err != nil {
		return nil, fmt.Errorf("open scratch store: %w", err)
	}
	return l, nil
}

// offsetRange is the --from/--to pair of dump and export.
type offsetRange struct{ from, to *uint64 }

func addRangeFlags(fs *flag.FlagSet) offsetRange {
	return offsetRange{
		from: fs.Uint64("from", 0, "first offset (0: the low watermark)"),
		to:   fs.Uint64("to", 0, "last offset (0: the end of the log)"),
	}
}

// valid checks the range on its own.
func (r offsetRange) valid() error {
	if *r.to != 0 && *r.from > *r.to {
		return &usageError{fmt.Sprintf("--from %d is after --to %d", *r.from, *r.to)}
	}
	return nil
}

// check validates the range against the log.
func (r offsetRange) check(l *eventlog.Log) error {
	if low := l.LowWatermark(); *r.from != 0 && *r.from < low {
		return &usageError{fmt.Sprintf("--from %d is below the low watermark %d (older events were removed)", *r.from, low)}
	}
	return nil
}

// parseJobID parses a job id given on the command line.
func parseJobID(what, s string) (ulid.ULID, error) {
	id, err := ulid.ParseStrict(s)
	if err != nil {
		return ulid.ULID{}, &usageError{fmt.Sprintf("%s %s is not a job id (ULID): %v", what, strconv.Quote(s), err)}
	}
	return id, nil
}

// output buffers a command's stdout; flush reports the first write error.
type output struct {
	*bufio.Writer
}

func newOutput(w io.Writer) output { return output{bufio.NewWriter(w)} }

func (o output) flush() error {
	if err := o.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// writeJSON writes v as one indented JSON document.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
