package main

import (
	"os"
	"strconv"
	"strings"

	"github.com/foreman-dev/foreman/eventlog/ship"
)

// shipSettings are the FOREMAN_NATS_* settings: shipping the event log to a
// NATS JetStream stream (docs/fleet-audit.md). Off unless FOREMAN_NATS_URL
// is set.
type shipSettings struct {
	URL         string // FOREMAN_NATS_URL
	Stream      string // FOREMAN_NATS_STREAM
	Node        string // FOREMAN_NODE
	Replicas    int    // FOREMAN_NATS_REPLICAS
	Credentials string // FOREMAN_NATS_CREDS
}

// On says whether the log is shipped.
func (s shipSettings) On() bool { return s.URL != "" }

// loadShip reads the settings; every variable is read even when unset, so
// that knownSettings learns them.
func loadShip(getenv func(string) string) (shipSettings, error) {
	s := shipSettings{
		URL:         strings.TrimSpace(getenv("FOREMAN_NATS_URL")),
		Stream:      getenv("FOREMAN_NATS_STREAM"),
		Node:        getenv("FOREMAN_NODE"),
		Credentials: getenv("FOREMAN_NATS_CREDS"),
		Replicas:    1, // the documented default (ship.Config takes 0 as 1 too)
	}
	if s.Stream == "" {
		s.Stream = ship.DefaultStream
	}
	if s.Node == "" {
		s.Node = hostNode()
	}
	if v := getenv("FOREMAN_NATS_REPLICAS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return s, &ConfigError{"FOREMAN_NATS_REPLICAS", v, "not an integer"}
		}
		s.Replicas = n
	}
	return s, nil
}

// hostNode is FOREMAN_NODE's default: the host name's first label.
func hostNode() string {
	h, _ := os.Hostname()
	h, _, _ = strings.Cut(h, ".")
	return h
}

// config is the shipper's configuration (without a logger).
func (s shipSettings) config() ship.Config {
	return ship.Config{URL: s.URL, Stream: s.Stream, Node: s.Node, Replicas: s.Replicas, Credentials: s.Credentials}
}

// validate names the bad variable; nothing is checked when shipping is off.
func (s shipSettings) validate() error {
	if !s.On() {
		return nil
	}
	if err := (ship.Config{URL: s.URL}).Validate(); err != nil && strings.Contains(err.Error(), "URL") {
		return &ConfigError{"FOREMAN_NATS_URL", ship.RedactURL(s.URL), "want nats://host:4222 (several: comma separated)"}
	}
	cfg := s.config()
	cfg.Node = "n" // checked below, by name
	if err := cfg.Validate(); err != nil {
		switch {
		case strings.Contains(err.Error(), "Stream"):
			return &ConfigError{"FOREMAN_NATS_STREAM", s.Stream, "a stream name holds no '.', '*', '>', '/', '\\' or space"}
		case strings.Contains(err.Error(), "Replicas"):
			return &ConfigError{"FOREMAN_NATS_REPLICAS", strconv.Itoa(s.Replicas), "1 to 5 (3 in a cluster)"}
		}
		return &ConfigError{"FOREMAN_NATS_URL", ship.RedactURL(s.URL), err.Error()}
	}
	cfg = s.config()
	if err := cfg.Validate(); err != nil {
		return &ConfigError{"FOREMAN_NODE", s.Node, "1 to 64 letters, digits, - or _, unique in the fleet (default: the host name)"}
	}
	if s.Credentials != "" {
		if _, err := os.Stat(s.Credentials); err != nil {
			return &ConfigError{"FOREMAN_NATS_CREDS", s.Credentials, err.Error()}
		}
	}
	return nil
}
