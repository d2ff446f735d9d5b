package eventlog

import (
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// Pebble tuning, measured with cmd/foreman-bench on a 1M-event log
// (docs/benchmarks.md). Projections look job views up by key for every
// event of a job that is not in memory, and most lookups of a new job miss:
// bloom filters answer those misses without reading a block. A larger
// memtable turns a rebuild's quarter-million view writes into fewer
// flushes and compactions.
const (
	memTableSize = 32 << 20
	blockCache   = 32 << 20
)

func pebbleOptions(cfg Config) *pebble.Options {
	o := &pebble.Options{
		FS:       cfg.FS,
		ReadOnly: cfg.ReadOnly,
		Logger:   pebbleLogger{cfg.Logger},
		EventListener: &pebble.EventListener{
			DataCorruption: onCorruption(pebbleLogger{cfg.Logger}),
		},
		MemTableSize: memTableSize,
		Cache:        pebble.NewCache(blockCache),
	}
	for i := range o.Levels {
		o.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	return o
}
