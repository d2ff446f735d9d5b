package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/foreman-dev/foreman/eventlog"
)

// export writes the stable audit format of docs/export-format.md: one JSON
// object per event. Unlike dump it stops at the first payload that does not
// decode, so an export is never silently incomplete.
func (c *LogCommand) export(ctx context.Context, args []string) error {
	f := c.newLogFlags("export", "export [--data-dir DIR] [--format jsonl] [--from N] [--to N]\n\nWrites one JSON object per event to stdout; see docs/export-format.md.")
	format := f.fs.String("format", "jsonl", "output format (only jsonl)")
	rng := addRangeFlags(f.fs)
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		f.fs.Usage()
		return &usageError{fmt.Sprintf("log export takes no arguments, got %q", pos)}
	}
	if *format != "jsonl" {
		return &usageError{fmt.Sprintf("--format %q: the only export format is jsonl", *format)}
	}
	if err := rng.valid(); err != nil {
		return err
	}
	l, err := c.openLog(*f.dataDir)
	if err != nil {
		return err
	}
	defer l.Close()
	if err := rng.check(l); err != nil {
		return err
	}
	out := newOutput(c.m.Stdout)
	enc := newJSONLines(out)
	err = l.Scan(ctx, *rng.from, *rng.to, func(e eventlog.Event) error {
		payload, err := renderPayload(e)
		if err != nil {
			return err
		}
		if err := enc.Encode(newExportRecord(e, payload)); err != nil {
			return fmt.Errorf("export offset %d: %w", e.Offset, err)
		}
		return nil
	})
	if err != nil {
		out.Flush()
		if errors.Is(err, eventlog.ErrCorrupt) {
			return fmt.Errorf("export: %w (`foreman log verify` checks the whole log)", err)
		}
		return fmt.Errorf("export: %w", err)
	}
	return out.flush()
}
