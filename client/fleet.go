package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultForecastTimeout bounds how long a Fleet waits for the daemons'
// forecasts before choosing among those that answered.
const DefaultForecastTimeout = 500 * time.Millisecond

// maxRemembered bounds a Fleet's memory of where jobs are; past it the
// memory starts over (a forgotten job is found again by asking).
const maxRemembered = 100_000

// Fleet is several daemons, each with its own Ollama, used as one: it
// routes each job to the daemon expected to finish it first (ADR-0033)
// and finds a job again by asking the daemons. It keeps no state but a
// memory of where its jobs went; job ids (ULIDs) do not collide across
// daemons. Its calls are Client's. It is safe for concurrent use.
type Fleet struct {
	members []*Client
	timeout time.Duration

	mu    sync.Mutex
	where map[string]*Client // job id → its daemon
}

// ErrNoDaemon: no daemon of the fleet can take the job (RouteError
// matches it).
var ErrNoDaemon = errors.New("no daemon can take the job")

// RouteError is a job no daemon took: why, per daemon.
type RouteError struct {
	Model   string
	Daemons map[string]error // by base URL
}

func (e *RouteError) Error() string {
	var parts []string
	for _, u := range slices.Sorted(maps.Keys(e.Daemons)) {
		parts = append(parts, u+": "+e.Daemons[u].Error())
	}
	return fmt.Sprintf("no daemon can take a job of %q (%s)", e.Model, strings.Join(parts, "; "))
}

// Is matches ErrNoDaemon.
func (e *RouteError) Is(target error) bool { return target == ErrNoDaemon }

// errNoModel is a daemon whose target lacks the model.
var errNoModel = errors.New("model not available")

// NewFleet returns a fleet of the daemons at urls, each a Client made
// with opts (the same token for all; NewFleetOf for one each).
func NewFleet(urls []string, opts ...Option) *Fleet {
	cs := make([]*Client, 0, len(urls))
	for _, u := range urls {
		cs = append(cs, New(u, opts...))
	}
	return NewFleetOf(cs...)
}

// NewFleetOf returns a fleet of the given clients. The first one's
// options (webhook receiver, poll interval, forecast timeout) serve the
// fleet's own waits.
func NewFleetOf(members ...*Client) *Fleet {
	f := &Fleet{members: members, where: map[string]*Client{}, timeout: DefaultForecastTimeout}
	if len(members) > 0 {
		f.timeout = cmp.Or(members[0].forecastTimeout, DefaultForecastTimeout)
	}
	return f
}

// WithForecastTimeout bounds how long a Fleet waits for each daemon's
// forecast before routing (default 500ms); a daemon slower than that is
// skipped for this job.
func WithForecastTimeout(d time.Duration) Option { return func(c *Client) { c.forecastTimeout = d } }

// Members are the fleet's daemons, in the order given.
func (f *Fleet) Members() []*Client { return slices.Clone(f.members) }

// Choice is one daemon's answer to "where would a job of this model run".
type Choice struct {
	Client   *Client
	Forecast *Forecast // nil when Err
	Waiting  int       // queued jobs
	Err      error     // the daemon did not answer in time, or refused
}

// Forecast asks every daemon concurrently, within the forecast timeout,
// where a job of model would run. The choices come best first: daemons
// that have the model by ETA (ties: fewest waiting, then fleet order),
// then those without it, then those that did not answer.
func (f *Fleet) Forecast(ctx context.Context, model string) []Choice {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	out := make([]Choice, len(f.members))
	var wg sync.WaitGroup
	for i, c := range f.members {
		wg.Go(func() {
			out[i].Client = c
			q, err := c.QueueFor(ctx, model)
			switch {
			case err != nil:
				out[i].Err = err
			case q.Forecast == nil:
				out[i].Err = fmt.Errorf("%s: no forecast in GET /queue (an older foreman)", c.base)
			default:
				out[i].Forecast, out[i].Waiting = q.Forecast, q.Waiting
			}
		})
	}
	wg.Wait()
	rank := func(c Choice) int {
		switch {
		case c.Err != nil:
			return 2
		case !c.Forecast.Available || c.Forecast.ETA == nil:
			return 1
		}
		return 0
	}
	slices.SortStableFunc(out, func(a, b Choice) int {
		if r := cmp.Compare(rank(a), rank(b)); r != 0 || rank(a) != 0 {
			return r
		}
		if !a.Forecast.ETA.Equal(*b.Forecast.ETA) {
			return a.Forecast.ETA.Compare(*b.Forecast.ETA)
		}
		return cmp.Compare(a.Waiting, b.Waiting)
	})
	return out
}

// candidates are the daemons that can take a job of model, best first, or
// a *RouteError saying why none can.
func (f *Fleet) candidates(ctx context.Context, model string) ([]*Client, error) {
	var out []*Client
	why := map[string]error{}
	for _, ch := range f.Forecast(ctx, model) {
		switch {
		case ch.Err != nil:
			why[ch.Client.base] = ch.Err
		case !ch.Forecast.Available:
			why[ch.Client.base] = errNoModel
		default:
			out = append(out, ch.Client)
		}
	}
	if len(out) == 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, &RouteError{Model: model, Daemons: why}
	}
	return out, nil
}

// remember notes where a job is.
func (f *Fleet) remember(id string, c *Client) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.where) >= maxRemembered {
		clear(f.where)
	}
	f.where[id] = c
}

func (f *Fleet) remembered(id string) *Client {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.where[id]
}
