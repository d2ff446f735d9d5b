package webhook

import (
	"cmp"
	"context"
	"errors"
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
	Wait(ctx context.Context, after uint64) error
	JobEvents(id ulid.ULID) ([]eventlog.Event, error)
	LowWatermark() uint64
	Cursor(name string) (uint64, error)
	SetCursor(name string, off uint64) error
}

// DefaultBackoff is the wait before each retry after the first attempt.
var DefaultBackoff = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}

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
	// Concurrency bounds requests in flight.
	Concurrency int
	Client      *http.Client
	Logger      *slog.Logger
	Now         func() time.Time
	// Sleep waits between retries (test seam); returns false if ctx ended.
	Sleep func(ctx context.Context, d time.Duration) bool
}

// CursorName is the dispatcher's log cursor: events at or below it are
// settled (retention must keep the rest).
const CursorName = "webhooks"

const cursorName = CursorName

// Dispatcher follows the log and delivers job events to their webhooks.
// What is pending is derived from the log: a job event with a webhook and
// no webhook.delivered or webhook.gave_up record for it. A durable cursor
// (below which everything is settled) spares re-reading the whole log.
type Dispatcher struct {
	cfg  Config
	key  []byte
	sem  chan struct{}
	urls map[ulid.ULID]string // job → webhook URL ("" none), a cache

	mu      sync.Mutex
	pending map[uint64]*delivery // being delivered; a non-nil value is a replay to make after
	wg      sync.WaitGroup
}

// New checks the config and returns a dispatcher; call Run.
func New(cfg Config) (*Dispatcher, error) {
	if cfg.Log == nil {
		return nil, errors.New("webhook: Config.Log is required")
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	cfg.MaxRetryAfter = cmp.Or(cfg.MaxRetryAfter, 10*time.Minute)
	cfg.Concurrency = cmp.Or(cfg.Concurrency, 32)
	if cfg.Client == nil {
		// Keep as many idle connections per receiver as deliveries may be
		// in flight: the default two made one new connection per two
		// deliveries under load.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = cfg.Concurrency
		cfg.Client = &http.Client{Timeout: 15 * time.Second, Transport: tr}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	d := &Dispatcher{cfg: cfg, sem: make(chan struct{}, cfg.Concurrency), urls: map[ulid.ULID]string{}, pending: map[uint64]*delivery{}}
	if cfg.Secret != "" {
		k, err := Key(cfg.Secret)
		if err != nil {
			return nil, err
		}
		d.key = k
	}
	return d, nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// delivery is one event to deliver, with the attempts already recorded.
type delivery struct {
	event    eventlog.Event
	url      string
	attempts int
	replay   uint64 // offset of the replay request that asked for it; 0: the original
}

// Run delivers until ctx ends. Deliveries cut short by the end are made
// again after restart (at least once).
func (d *Dispatcher) Run(ctx context.Context) error {
	defer d.wg.Wait()
	from, err := d.cfg.Log.Cursor(cursorName)
	if err != nil {
		return err
	}
	from = max(from+1, d.cfg.Log.LowWatermark())
	todo := map[uint64]*delivery{}
	var seen uint64
	err = d.cfg.Log.Scan(ctx, from, 0, func(e eventlog.Event) error {
		seen = e.Offset
		d.note(ctx, e, todo)
		return nil
	})
	if err != nil {
		return err
	}
	d.start(ctx, todo)
	for {
		if err := d.cfg.Log.Wait(ctx, seen); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		todo = map[uint64]*delivery{}
		err := d.cfg.Log.Scan(ctx, seen+1, 0, func(e eventlog.Event) error {
			seen = e.Offset
			d.note(ctx, e, todo)
			return nil
		})
		if err != nil {
			return err
		}
		d.start(ctx, todo)
		d.saveCursor(seen)
	}
}

// note folds one log event into the set of deliveries to make.
func (d *Dispatcher) note(ctx context.Context, e eventlog.Event, todo map[uint64]*delivery) {
	switch {
	case e.Type == eventlog.WebhookAttempted || e.Type == eventlog.WebhookDelivered || e.Type == eventlog.WebhookGaveUp:
		var p eventlog.WebhookAttempt
		if e.Decode(&p) != nil {
			return
		}
		if t, ok := todo[p.Event]; ok && t.replay == p.Replay {
			if e.Type == eventlog.WebhookAttempted {
				t.attempts = max(t.attempts, p.Attempt)
			} else {
				delete(todo, p.Event)
			}
		}
	case e.Type == eventlog.WebhookReplay:
		d.replay(ctx, e, todo)
	case delivered(e.Type):
		if url := d.url(e.Job); url != "" {
			todo[e.Offset] = &delivery{event: e, url: url}
		}
	}
}

// replay queues again the job events in the requested range.
func (d *Dispatcher) replay(ctx context.Context, e eventlog.Event, todo map[uint64]*delivery) {
	var p eventlog.Replay
	if e.Decode(&p) != nil {
		return
	}
	to := p.To
	if to == 0 || to > e.Offset {
		to = e.Offset - 1
	}
	from := max(p.From, d.cfg.Log.LowWatermark())
	_ = d.cfg.Log.Scan(ctx, from, to, func(ev eventlog.Event) error {
		if !delivered(ev.Type) || (len(p.Job) == 16 && string(ev.Job[:]) != string(p.Job)) {
			return nil
		}
		if url := d.url(ev.Job); url != "" {
			todo[ev.Offset] = &delivery{event: ev, url: url, replay: e.Offset}
		}
		return nil
	})
}

// url is the job's webhook URL, from its submission (cached).
func (d *Dispatcher) url(job ulid.ULID) string {
	if u, ok := d.urls[job]; ok {
		return u
	}
	if len(d.urls) > 100_000 {
		clear(d.urls)
	}
	u := ""
	if hist, err := d.cfg.Log.JobEvents(job); err == nil && len(hist) > 0 && hist[0].Type == eventlog.JobSubmitted {
		var s eventlog.Submitted
		if hist[0].Decode(&s) == nil && !s.Sync {
			u = s.WebhookURL
		}
	}
	d.urls[job] = u
	return u
}

func (d *Dispatcher) start(ctx context.Context, todo map[uint64]*delivery) {
	for off, t := range todo {
		d.mu.Lock()
		_, busy := d.pending[off]
		if busy {
			d.pending[off] = t // a replay of an event still being delivered: make it after
		} else {
			d.pending[off] = nil
		}
		d.mu.Unlock()
		if busy {
			continue
		}
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			for t != nil {
				d.deliver(ctx, t)
				d.mu.Lock()
				if t = d.pending[off]; t == nil || ctx.Err() != nil {
					delete(d.pending, off)
					t = nil
				} else {
					d.pending[off] = nil
				}
				d.mu.Unlock()
			}
		}()
	}
}

// saveCursor records that everything up to the lowest pending offset is
// settled.
func (d *Dispatcher) saveCursor(seen uint64) {
	d.mu.Lock()
	c := seen
	for off := range d.pending {
		c = min(c, off-1)
	}
	d.mu.Unlock()
	if err := d.cfg.Log.SetCursor(cursorName, c); err != nil {
		d.cfg.Logger.Warn("could not save the webhook cursor", "err", err)
	}
}
