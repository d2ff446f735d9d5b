package target

import (
	"context"
	"errors"
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
	degraded bool
	polled   bool
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
	models, err := inv.c.Tags(ctx)
	if err != nil {
		inv.fail(err)
		return err
	}
	running, err := inv.c.Ps(ctx)
	if err != nil {
		inv.fail(err)
		return err
	}
	inv.mu.Lock()
	if inv.degraded {
		inv.log.Info("ollama target reachable again")
	}
	inv.models, inv.running, inv.degraded, inv.polled = models, running, false, true
	inv.mu.Unlock()
	return nil
}

// RefreshPs re-reads only /api/ps (after each job: which model is loaded).
func (inv *Inventory) RefreshPs(ctx context.Context) error {
	running, err := inv.c.Ps(ctx)
	if err != nil {
		inv.fail(err)
		return err
	}
	inv.mu.Lock()
	inv.running = running
	inv.mu.Unlock()
	return nil
}

func (inv *Inventory) fail(err error) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
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
