package webhook

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

// Log is the part of the event log the dispatcher uses.
type Log interface {
	Scan(ctx context.Context, from, to uint64, fn func(eventlog.Event) error) error
	Append(ctx context.Context, recs ...eventlog.Record) ([]eventlog.Event, error)
	Changed() <-chan struct{}
	LastOffset() uint64
	JobEvents(id ulid.ULID) ([]eventlog.Event, error)
	LowWatermark() uint64
	Cursor(name string) (uint64, error)
	SetCursor(name string, off uint64) error
}

// DefaultBackoff is the wait before each retry after the first attempt.
var DefaultBackoff = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}

// Defaults of the Config fields.
const (
	DefaultConcurrency = 32
	DefaultPerReceiver = 8
	DefaultTimeout     = 15 * time.Second
)

// Config wires a Dispatcher.
type Config struct {
	Log    Log
	Render Renderer
	// Secret signs deliveries (FOREMAN_WEBHOOK_SECRET); empty: unsigned.
	Secret string
	// Backoff lists the waits before retries; its length is the retry count.
	Backoff []time.Duration
	// MaxRetryAfter caps a receiver's Retry-After.
	MaxRetryAfter time.Duration
	// Concurrency bounds requests in flight, and so the goroutines that
	// make them (DefaultConcurrency).
	Concurrency int
	// PerReceiver bounds the requests in flight to one receiver (scheme,
	// host and port), so that a receiver that hangs holds at most that
	// many of Concurrency (DefaultPerReceiver).
	PerReceiver int
	// Queued bounds the deliveries held in memory (default 16 per unit of
	// Concurrency); the rest wait in the log, which is read again as
	// room frees up.
	Queued int
	// Timeout bounds one attempt, answer included (DefaultTimeout;
	// FOREMAN_WEBHOOK_TIMEOUT). Unused when Client is set.
	Timeout time.Duration
	// Guard decides which addresses deliveries may connect to
	// (FOREMAN_WEBHOOK_ALLOW); nil: any but link-local and metadata ones.
	// Unused when Client is set.
	Guard *Guard
	// Client makes the requests (a test seam); it must not follow
	// redirects. Default: a client with Timeout, Guard, PerReceiver
	// connections per receiver and no redirects.
	Client *http.Client
	Logger *slog.Logger
	Now    func() time.Time
	// AfterFunc calls f after d, for retries (a test seam; time.AfterFunc).
	AfterFunc func(d time.Duration, f func()) (stop func() bool)
}

// Validate names the first bad field.
func (c Config) Validate() error {
	switch {
	case c.Log == nil:
		return errors.New("webhook: Config.Log is required")
	case c.Concurrency < 0:
		return fmt.Errorf("webhook: Config.Concurrency %d is negative", c.Concurrency)
	case c.PerReceiver < 0:
		return fmt.Errorf("webhook: Config.PerReceiver %d is negative", c.PerReceiver)
	case c.Timeout < 0:
		return fmt.Errorf("webhook: Config.Timeout %s is negative", c.Timeout)
	}
	return nil
}

// CursorName is the dispatcher's log cursor: events at or below it are
// settled (retention must keep the rest).
const CursorName = "webhooks"

// Dispatcher follows the log and delivers job events to their webhooks.
// What is pending is derived from the log: a job event with a webhook and
// no webhook.delivered or webhook.gave_up record for it. A durable cursor
// (below which everything is settled) spares re-reading the whole log.
//
// The log is the queue: only up to Config.Queued deliveries are held in
// memory, in one queue per receiver, and Concurrency goroutines take them
// in turn across receivers. A receiver whose queue is full is marked
// behind at the first event left in the log, and read again from there
// when its queue has room; one that hangs therefore costs PerReceiver
// requests and its queue, whatever its backlog.
type Dispatcher struct {
	cfg     Config
	key     []byte
	perRecv int // queue length of one receiver
	urls    map[ulid.ULID]string
	kick    chan struct{} // a worker made room: the scanner reads the log again
	timers  sync.WaitGroup

	mu        sync.Mutex
	ready     *sync.Cond // a delivery became ready, or a receiver has a free slot
	stopping  bool
	receivers map[string]*receiver
	ring      []*receiver // receivers holding deliveries, in turn order
	turn      int         // index in ring of the next receiver to serve
	held      int         // deliveries in memory
	live      map[liveKey]bool
	busy      map[uint64]bool // event offsets being posted right now
}

// New checks the config and returns a dispatcher; call Run.
func New(cfg Config) (*Dispatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	cfg.MaxRetryAfter = cmp.Or(cfg.MaxRetryAfter, 10*time.Minute)
	cfg.Concurrency = cmp.Or(cfg.Concurrency, DefaultConcurrency)
	cfg.PerReceiver = min(cmp.Or(cfg.PerReceiver, DefaultPerReceiver), cfg.Concurrency)
	cfg.Queued = max(cmp.Or(cfg.Queued, 16*cfg.Concurrency), 4*cfg.PerReceiver)
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	if cfg.Client == nil {
		cfg.Client = newClient(cfg.Timeout, cfg.PerReceiver, cfg.Guard)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AfterFunc == nil {
		cfg.AfterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	d := &Dispatcher{cfg: cfg, perRecv: 4 * cfg.PerReceiver, urls: map[ulid.ULID]string{}, kick: make(chan struct{}, 1),
		receivers: map[string]*receiver{}, live: map[liveKey]bool{}, busy: map[uint64]bool{}}
	d.ready = sync.NewCond(&d.mu)
	if cfg.Secret != "" {
		k, err := Key(cfg.Secret)
		if err != nil {
			return nil, err
		}
		d.key = k
	}
	return d, nil
}

// Run delivers until ctx ends. Deliveries cut short by the end are made
// again after restart (at least once). It returns the log's error if
// reading it fails.
func (d *Dispatcher) Run(ctx context.Context) error {
	from, err := d.cfg.Log.Cursor(CursorName)
	if err != nil {
		return err
	}
	s := &scanner{d: d, seen: max(from+1, d.cfg.Log.LowWatermark()) - 1, oldest: d.cfg.Log.LastOffset(), replays: map[uint64]*replayTask{}}
	s.saved = s.seen
	var workers sync.WaitGroup
	for range d.cfg.Concurrency {
		workers.Add(1)
		go func() {
			defer workers.Done()
			d.work(ctx)
		}()
	}
	defer func() {
		d.mu.Lock()
		d.stopping = true
		d.ready.Broadcast()
		d.mu.Unlock()
		workers.Wait()
		d.stopTimers()
	}()
	for {
		changed := d.cfg.Log.Changed()
		if err := s.fill(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if ctx.Err() != nil {
			return nil // attempts cut short are no longer held: the cursor would pass them
		}
		s.saveCursor()
		select {
		case <-changed:
		case <-d.kick:
		case <-ctx.Done():
			return nil
		}
	}
}

// url is the job's webhook URL, from its submission (cached).
func (d *Dispatcher) url(e eventlog.Event) string {
	if u, ok := d.urls[e.Job]; ok {
		return u
	}
	if len(d.urls) > maxURLs {
		clear(d.urls)
	}
	u := ""
	if e.Type == eventlog.JobSubmitted { // the URL is in hand: no lookup
		var s eventlog.Submitted
		if e.Decode(&s) == nil && !s.Sync {
			u = s.WebhookURL
		}
	} else if hist, err := d.cfg.Log.JobEvents(e.Job); err == nil && len(hist) > 0 && hist[0].Type == eventlog.JobSubmitted {
		var s eventlog.Submitted
		if hist[0].Decode(&s) == nil && !s.Sync {
			u = s.WebhookURL
		}
	}
	d.urls[e.Job] = u
	return u
}

// maxURLs bounds the jobs whose webhook URL (most often none) is
// remembered: enough for a deep queue's jobs to be looked up once each
// (a lookup reads the job's history), about 50 bytes a job.
const maxURLs = 250_000
