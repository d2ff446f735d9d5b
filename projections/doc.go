// Package projections derives foreman's read models from the event log:
// job views, the queue of jobs waiting for the worker, the artifact index
// and idempotency keys.
//
// Applying an event is deterministic (event data only, no wall clock, no map
// order), so a full rebuild from the low watermark always yields the same
// bytes. State lives in Pebble under the log's p/ prefix; every batch of
// views is written together with the offset it reflects (a checkpoint), so a
// restart replays only the tail. Only non-terminal jobs are held in memory.
package projections
