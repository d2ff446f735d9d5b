// Package eventlog is foreman's append-only job log, stored in Pebble.
//
// Every job transition is an Event with a dense, strictly increasing offset.
// Appends are durable (pebble.Sync) before they return, and concurrent
// appenders share fsyncs through one sequencer goroutine (group commit).
// The same Pebble database holds blobs (artifacts, large request bodies) and
// the projections' state under their own key prefixes; see keys.go and
// docs/adr/0016-key-layout-and-event-envelope.md.
package eventlog
