package target

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	ollama "github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"
)

// DefaultPollInterval is FOREMAN_POLL_INTERVAL's default.
const DefaultPollInterval = 30 * time.Second

// Inventory is the last known model list and residency of the target,
// polled every interval. When the target is unreachable it keeps the last
// known answer and reports itself degraded until a poll succeeds again.
type Inventory struct {
	c        *Client
	interval time.Duration
	log      *slog.Logger

	refresh sync.Mutex // one poll at a time

	mu       sync.Mutex
	models   []ollama.ListModelResponse
	running  []ollama.ProcessModelResponse
	tagsRaw  []byte // the last /api/tags answer, as the target sent it
	psRaw    []byte // the last /api/ps answer
	lastErr  error  // the last failed poll's error
	degraded bool
	polled   bool
	shows    map[string]shown // by Normalize(name)
}

// NewInventory returns an inventory of c's models; call Run to poll.
func NewInventory(c *Client, interval time.Duration, logger *slog.Logger) *Inventory {
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Inventory{c: c, interval: interval, log: logger}
}

// Run polls until ctx ends.
func (inv *Inventory) Run(ctx context.Context) error {
	t := time.NewTicker(inv.interval)
	defer t.Stop()
	for {
		if err := inv.Refresh(ctx); err != nil && ctx.Err() == nil {
			inv.log.Warn("ollama target poll failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Refresh polls /api/tags and /api/ps now.
func (inv *Inventory) Refresh(ctx context.Context) error {
	inv.refresh.Lock()
	defer inv.refresh.Unlock()
	tags, tagsRaw, err := inv.c.TagsRaw(ctx)
	if err != nil {
		inv.fail(err)
		return err
	}
	ps, psRaw, err := inv.c.PsRaw(ctx)
	if err != nil {
		inv.fail(err)
		return err
	}
	inv.mu.Lock()
	if inv.degraded {
		inv.log.Info("ollama target reachable again")
	}
	inv.models, inv.running, inv.degraded, inv.polled = tags.Models, ps.Models, false, true
	inv.tagsRaw, inv.psRaw, inv.lastErr = tagsRaw, psRaw, nil
	inv.forgetShows()
	inv.mu.Unlock()
	return nil
}

// RefreshPs re-reads only /api/ps (after each job: which model is loaded).
func (inv *Inventory) RefreshPs(ctx context.Context) error {
	ps, raw, err := inv.c.PsRaw(ctx)
	if err != nil {
		inv.fail(err)
		return err
	}
	inv.mu.Lock()
	inv.running, inv.psRaw = ps.Models, raw
	inv.mu.Unlock()
	return nil
}

func (inv *Inventory) fail(err error) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.lastErr = err
	if errors.Is(err, ErrUnreachable) || !inv.polled {
		inv.degraded = true
	}
}

// Degraded reports whether the last poll could not reach the target.
func (inv *Inventory) Degraded() bool {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return inv.degraded
}

// Models is the last known /api/tags list.
func (inv *Inventory) Models() []ollama.ListModelResponse {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return slices.Clone(inv.models)
}

// Running is the last known /api/ps list.
func (inv *Inventory) Running() []ollama.ProcessModelResponse {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return slices.Clone(inv.running)
}

// ErrNoInventory: no poll of the target has succeeded yet, so there is
// no model list to answer with.
var ErrNoInventory = errors.New("no model list from the ollama target yet")

// TagsJSON is the last /api/tags answer, byte for byte, fields foreman
// does not know included, so a newer Ollama's additions reach clients.
// With none yet it polls once; if that fails, the error wraps
// ErrNoInventory and the poll's error.
func (inv *Inventory) TagsJSON(ctx context.Context) ([]byte, error) {
	return inv.raw(ctx, func() []byte { return inv.tagsRaw })
}

// PsJSON is TagsJSON for /api/ps: the last known residency.
func (inv *Inventory) PsJSON(ctx context.Context) ([]byte, error) {
	return inv.raw(ctx, func() []byte { return inv.psRaw })
}

func (inv *Inventory) raw(ctx context.Context, get func() []byte) ([]byte, error) {
	inv.mu.Lock()
	b := get()
	inv.mu.Unlock()
	if b != nil {
		return b, nil
	}
	err := inv.Refresh(ctx)
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if b = get(); b != nil {
		return b, nil
	}
	if err == nil {
		err = inv.lastErr
	}
	return nil, fmt.Errorf("%w: %w", ErrNoInventory, err)
}

// Loaded names the loaded models.
func (inv *Inventory) Loaded() []string {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	out := make([]string, 0, len(inv.running))
	for _, m := range inv.running {
		out = append(out, m.Name)
	}
	return out
}

// Has reports whether the last known list holds model ("x" means "x:latest").
func (inv *Inventory) Has(model string) bool {
	want := Normalize(model)
	inv.mu.Lock()
	defer inv.mu.Unlock()
	for _, m := range inv.models {
		if Normalize(m.Name) == want || Normalize(m.Model) == want {
			return true
		}
	}
	return false
}

// HasOrRefresh is Has, re-polling the target once before saying no. The
// error is the failed poll's.
func (inv *Inventory) HasOrRefresh(ctx context.Context, model string) (bool, error) {
	if inv.Has(model) {
		return true, nil
	}
	if err := inv.Refresh(ctx); err != nil {
		return false, err
	}
	return inv.Has(model), nil
}

// Normalize spells a model name the way Ollama matches it: "x" is
// "x:latest", the default registry and "library/" namespace are implied,
// and case does not matter (types/model.ParseName, Name.EqualFold).
func Normalize(name string) string {
	if n := model.ParseName(name); n.IsValid() {
		return strings.ToLower(n.DisplayShortest())
	}
	return strings.ToLower(name)
}
