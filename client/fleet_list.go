package client

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	ollama "github.com/ollama/ollama/api"
)

// PartialError is an answer made of the daemons that answered: the others
// are named with their errors. The answer it comes with is still usable.
type PartialError struct {
	Daemons map[string]error // by base URL
}

func (e *PartialError) Error() string {
	var parts []string
	for _, u := range slices.Sorted(maps.Keys(e.Daemons)) {
		parts = append(parts, u+": "+e.Daemons[u].Error())
	}
	return fmt.Sprintf("%d of the fleet's daemons did not answer (%s)", len(e.Daemons), strings.Join(parts, "; "))
}

// each calls fn for every daemon concurrently; the errors by base URL.
func (f *Fleet) each(fn func(i int, c *Client) error) error {
	var mu sync.Mutex
	errs := map[string]error{}
	var wg sync.WaitGroup
	for i, c := range f.members {
		wg.Go(func() {
			if err := fn(i, c); err != nil {
				mu.Lock()
				errs[c.base] = err
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) == 0 {
		return nil
	}
	return &PartialError{Daemons: errs}
}

// List merges the daemons' lists, newest first (job ids are ULIDs: time
// ordered across daemons), each row naming its Daemon. The cursor works
// across the fleet. Daemons that do not answer are named in a
// *PartialError returned with the others' list; when none answers, the
// list is nil.
func (f *Fleet) List(ctx context.Context, o ListOptions) (*JobList, error) {
	lists := make([]*JobList, len(f.members))
	err := f.each(func(i int, c *Client) error {
		l, err := c.List(ctx, o)
		lists[i] = l
		return err
	})
	var rows []JobSummary
	more, answered := false, false
	for i, l := range lists {
		if l == nil {
			continue
		}
		answered = true
		more = more || l.NextCursor != ""
		for _, j := range l.Jobs {
			j.Daemon = f.members[i].base
			rows = append(rows, j)
			f.remember(j.JobID, f.members[i])
		}
	}
	if !answered {
		return nil, err
	}
	slices.SortFunc(rows, func(a, b JobSummary) int { return cmp.Compare(b.JobID, a.JobID) })
	limit := cmp.Or(o.Limit, 50)
	out := &JobList{Jobs: rows}
	if len(rows) > limit {
		out.Jobs, more = rows[:limit], true
	}
	if more && len(out.Jobs) > 0 {
		out.NextCursor = out.Jobs[len(out.Jobs)-1].JobID
	}
	return out, err
}

// Tags merges the daemons' model lists: each model once.
func (f *Fleet) Tags(ctx context.Context) (*ollama.ListResponse, error) {
	lists := make([]*ollama.ListResponse, len(f.members))
	err := f.each(func(i int, c *Client) error {
		l, err := c.Tags(ctx)
		lists[i] = l
		return err
	})
	out := &ollama.ListResponse{Models: []ollama.ListModelResponse{}}
	seen := map[string]bool{}
	answered := false
	for _, l := range lists {
		if l == nil {
			continue
		}
		answered = true
		for _, m := range l.Models {
			if !seen[m.Name] {
				seen[m.Name] = true
				out.Models = append(out.Models, m)
			}
		}
	}
	if !answered {
		return nil, err
	}
	return out, err
}

// Ps lists the models loaded in every daemon's target.
func (f *Fleet) Ps(ctx context.Context) (*ollama.ProcessResponse, error) {
	lists := make([]*ollama.ProcessResponse, len(f.members))
	err := f.each(func(i int, c *Client) error {
		l, err := c.Ps(ctx)
		lists[i] = l
		return err
	})
	out := &ollama.ProcessResponse{Models: []ollama.ProcessModelResponse{}}
	answered := false
	for _, l := range lists {
		if l != nil {
			answered = true
			out.Models = append(out.Models, l.Models...)
		}
	}
	if !answered {
		return nil, err
	}
	return out, err
}

// Queue sums the daemons' queues: loaded models, depths, waiting jobs.
// Running and Next are left out: there is one per daemon (ask Members).
func (f *Fleet) Queue(ctx context.Context) (*Queue, error) {
	qs := make([]*Queue, len(f.members))
	err := f.each(func(i int, c *Client) error {
		q, err := c.Queue(ctx)
		qs[i] = q
		return err
	})
	out := &Queue{Loaded: []string{}, Depth: []QueueDepth{}}
	depth := map[QueueDepth]int{}
	answered := false
	for _, q := range qs {
		if q == nil {
			continue
		}
		answered = true
		out.Waiting += q.Waiting
		for _, m := range q.Loaded {
			if !slices.Contains(out.Loaded, m) {
				out.Loaded = append(out.Loaded, m)
			}
		}
		for _, d := range q.Depth {
			depth[QueueDepth{Model: d.Model, Priority: d.Priority}] += d.Queued
		}
	}
	if !answered {
		return nil, err
	}
	for k, n := range depth {
		k.Queued = n
		out.Depth = append(out.Depth, k)
	}
	slices.SortFunc(out.Depth, func(a, b QueueDepth) int {
		return cmp.Or(cmp.Compare(b.Priority, a.Priority), cmp.Compare(a.Model, b.Model))
	})
	return out, err
}

// Embed computes embeddings on a daemon that has the model (they bypass
// the queues, so the first that has it).
func (f *Fleet) Embed(ctx context.Context, req *ollama.EmbedRequest) (*ollama.EmbedResponse, error) {
	cands, err := f.candidates(ctx, req.Model)
	if err != nil {
		return nil, err
	}
	for i, c := range cands {
		v, err := c.Embed(ctx, req)
		if err == nil || i == len(cands)-1 || !(notSent(err) || refusedHere(err)) {
			return v, err
		}
	}
	return nil, nil // not reached: cands is not empty
}
