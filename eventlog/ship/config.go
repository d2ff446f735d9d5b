package ship

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Defaults of the Config fields.
const (
	DefaultStream     = "FOREMAN_EVENTS"
	DefaultWindow     = 2048
	DefaultAckTimeout = 10 * time.Second
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
)

// SubjectPrefix is the first token of every subject the shipper publishes:
// foreman.<node>.<event type>. The stream it creates listens on
// SubjectPrefix + ".>".
const SubjectPrefix = "foreman"

// CursorName is the shipper's log cursor: every event at or below it is in
// the stream, so retention may delete it. It is a watermark for retention
// only; where to resume is read from the stream.
const CursorName = "ship"

// Config shapes a Shipper.
type Config struct {
	// URL is the NATS server or servers (FOREMAN_NATS_URL), comma
	// separated: nats://host:4222,nats://other:4222.
	URL string
	// Stream is the JetStream stream (FOREMAN_NATS_STREAM, DefaultStream).
	// The shipper creates it when it is missing; an existing one is used
	// as configured.
	Stream string
	// Node names this daemon in subjects and message ids (FOREMAN_NODE).
	// It must be unique in the fleet and stable across restarts.
	Node string
	// Replicas is the replica count of a stream the shipper creates
	// (FOREMAN_NATS_REPLICAS; 1). A cluster should use 3.
	Replicas int
	// Credentials is a NATS .creds file (FOREMAN_NATS_CREDS); empty: none,
	// or what the URL carries (nats://user:pass@host).
	Credentials string
	// Window bounds the events published and not yet acknowledged
	// (DefaultWindow).
	Window int
	// AckTimeout bounds the wait for a window's acknowledgements.
	AckTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before reconnecting after
	// NATS failed; it doubles from one to the other.
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
}

// nodeRe is what a node name may hold: one subject token, readable in a
// message id.
var nodeRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ErrConfig is wrapped by every Validate error.
var ErrConfig = errors.New("ship: bad config")

// Validate names the first bad field.
func (c Config) Validate() error {
	switch {
	case strings.TrimSpace(c.URL) == "":
		return fmt.Errorf("%w: URL is required", ErrConfig)
	case c.Node == "":
		return fmt.Errorf("%w: Node is required", ErrConfig)
	case !nodeRe.MatchString(c.Node):
		return fmt.Errorf("%w: Node %q: use 1 to 64 letters, digits, - or _ (it is a NATS subject token)", ErrConfig, c.Node)
	case c.Stream != "" && strings.ContainsAny(c.Stream, ". *>\t/\\"):
		return fmt.Errorf("%w: Stream %q: a stream name holds no '.', '*', '>', '/', '\\' or space", ErrConfig, c.Stream)
	case c.Replicas < 0 || c.Replicas > 5:
		return fmt.Errorf("%w: Replicas %d: 1 to 5", ErrConfig, c.Replicas)
	case c.Window < 0:
		return fmt.Errorf("%w: Window %d is negative", ErrConfig, c.Window)
	}
	for _, u := range strings.Split(c.URL, ",") {
		p, err := url.Parse(strings.TrimSpace(u))
		if err != nil || p.Host == "" || (p.Scheme != "nats" && p.Scheme != "tls" && p.Scheme != "ws" && p.Scheme != "wss") {
			return fmt.Errorf("%w: URL %q: want nats://host:port", ErrConfig, RedactURL(u))
		}
	}
	return nil
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	c.Stream = cmp.Or(c.Stream, DefaultStream)
	c.Replicas = cmp.Or(c.Replicas, 1)
	c.Window = cmp.Or(c.Window, DefaultWindow)
	c.AckTimeout = cmp.Or(c.AckTimeout, DefaultAckTimeout)
	c.MinBackoff = cmp.Or(c.MinBackoff, DefaultMinBackoff)
	c.MaxBackoff = max(cmp.Or(c.MaxBackoff, DefaultMaxBackoff), c.MinBackoff)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// RedactURL hides a password or token in a NATS URL, for logs.
func RedactURL(s string) string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil || u.User == nil {
			out = append(out, part)
			continue
		}
		u.User = url.User("xxxxx")
		out = append(out, u.String())
	}
	return strings.Join(out, ",")
}
