package eventlog

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Defaults for Config.
const (
	DefaultDir      = "./foreman-data"
	DefaultMaxGroup = 4096
	// DefaultMaxGroupBytes bounds a commit group's bytes: Pebble refuses
	// (panics on) batches of 4 GiB, and a huge batch holds every appender
	// of the group behind one long write.
	DefaultMaxGroupBytes = 64 << 20
)

// Config says where and how to open a Log.
type Config struct {
	// Dir is the data dir (FOREMAN_DATA_DIR).
	Dir string
	// FS is the filesystem; nil means the OS. Tests pass vfs.NewMem() or
	// vfs.NewCrashableMem().
	FS vfs.FS
	// ReadOnly opens without a sequencer; every write returns ErrReadOnly.
	ReadOnly bool
	// MaxGroup caps the events committed in one group (one fsync).
	MaxGroup int
	// MaxGroupBytes caps a group's payload and blob bytes; a request over
	// it is committed alone.
	MaxGroupBytes int
	// Logger receives Pebble's own messages; nil discards Info.
	Logger *slog.Logger

	acceptLoss bool // RepairLoss: open despite a loss
}

// DefaultConfig returns a Config with every default set.
func DefaultConfig() Config {
	return Config{Dir: DefaultDir, MaxGroup: DefaultMaxGroup, MaxGroupBytes: DefaultMaxGroupBytes}
}

func (c *Config) setDefaults() {
	if c.Dir == "" {
		c.Dir = DefaultDir
	}
	if c.FS == nil {
		c.FS = vfs.Default
	}
	if c.MaxGroup == 0 {
		c.MaxGroup = DefaultMaxGroup
	}
	if c.MaxGroupBytes == 0 {
		c.MaxGroupBytes = DefaultMaxGroupBytes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate names the first bad field.
func (c Config) Validate() error {
	if c.MaxGroup < 0 {
		return fmt.Errorf("eventlog: MaxGroup must be positive, got %d", c.MaxGroup)
	}
	if c.MaxGroupBytes < 0 {
		return fmt.Errorf("eventlog: MaxGroupBytes must be positive, got %d", c.MaxGroupBytes)
	}
	if c.Dir == "" && c.FS != nil {
		return errors.New("eventlog: Dir is required")
	}
	return nil
}
