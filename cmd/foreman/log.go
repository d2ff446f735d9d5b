package main

import (
	"context"
)

// LogCommand is the offline inspector: foreman log dump|job|stats|verify|export.
type LogCommand struct{ m *Main }

// verifyFailure is returned when verify finds a problem (exit code 3).
type verifyFailure struct{ err error }

func (v *verifyFailure) Error() string { return v.err.Error() }
func (v *verifyFailure) Unwrap() error { return v.err }

// Run dispatches a log subcommand.
func (c *LogCommand) Run(ctx context.Context, args []string) error {
	return &usageError{"foreman log: not implemented yet"}
}
