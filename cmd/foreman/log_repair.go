package main

import (
	"context"
	"errors"
	"fmt"
	"os/user"

	"github.com/foreman-dev/foreman/eventlog"
)

// repair accepts a loss of acknowledged events found against the ack record
// (ADR-0025): it fills the missing offsets with log.lost events so that the
// daemon starts again and history shows the gap. It is the only log command
// that writes, and only with --accept-loss.
func (c *LogCommand) repair(ctx context.Context, args []string) error {
	f := c.newLogFlags("repair", "repair --accept-loss [--data-dir DIR] [--json]")
	accept := f.fs.Bool("accept-loss", false, "record the missing events as lost (log.lost) so that the daemon starts")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		f.fs.Usage()
		return &usageError{fmt.Sprintf("log repair takes no arguments, got %q", pos)}
	}
	if !*accept {
		l, err := c.openLog(*f.dataDir)
		if err != nil {
			return err
		}
		loss := l.Loss()
		l.Close()
		if loss == nil {
			fmt.Fprintln(c.m.Stdout, "nothing to repair: the log holds every acknowledged event")
			return nil
		}
		return &usageError{fmt.Sprintf("%v; nothing was changed. Restore the data dir from a backup if you have one, "+
			"or run `foreman log repair --accept-loss` to record events %d..%d as lost and start again", loss, loss.From, loss.To)}
	}
	loss, err := eventlog.RepairLoss(ctx, eventlog.Config{Dir: *f.dataDir}, repairer())
	if errors.Is(err, eventlog.ErrLocked) {
		return fmt.Errorf("%s is in use by a running foreman; stop it first: %w", *f.dataDir, err)
	}
	if err != nil {
		return fmt.Errorf("repair: %w", err)
	}
	type report struct {
		Repaired bool   `json:"repaired"`
		From     uint64 `json:"from,omitempty"`
		To       uint64 `json:"to,omitempty"`
	}
	rep := report{Repaired: loss != nil}
	if loss != nil {
		rep.From, rep.To = loss.From, loss.To
	}
	if *f.json {
		return writeJSON(c.m.Stdout, rep)
	}
	if loss == nil {
		fmt.Fprintln(c.m.Stdout, "nothing to repair: the log holds every acknowledged event")
		return nil
	}
	fmt.Fprintf(c.m.Stdout, "recorded offsets %d..%d (%d events) as lost: each now holds a log.lost event\n", loss.From, loss.To, loss.To-loss.From+1)
	return nil
}

// repairer names who accepted the loss in the log.lost events.
func repairer() string {
	if u, err := user.Current(); err == nil {
		return "foreman log repair (" + u.Username + ")"
	}
	return "foreman log repair"
}
