package projections

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/foreman-dev/foreman/eventlog"
)

// RunsKept is how many finished runs the projections remember for the
// run-time estimates.
const RunsKept = 256

// Run is one job that ended done: its model and the times of its last
// attempt, which include a model load when the target had to swap.
type Run struct {
	Model                 string `msgpack:"model"`
	StartedAt, FinishedAt int64  `msgpack:"-"` // unix ns
	Offset                uint64 `msgpack:"-"` // of the event that ended it
}

// storedRun is a Run's value under its r/ key (the key holds the offset).
type storedRun struct {
	_msgpack   struct{} `msgpack:",as_array"`
	Model      string
	StartedAt  int64
	FinishedAt int64
}

// runs is the ring of the last RunsKept runs that ended done. It is kept
// as jobs finish and stored as one key per run (r/<offset>), so that the
// estimates never look for done jobs behind a deep queue of newer ones,
// and a restart reads at most RunsKept small keys. Its content depends on
// the log only (the last runs), so a rebuild writes the same keys.
type runs struct {
	mu   sync.Mutex
	ring []Run // oldest first
}

func runKey(off uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), prefixRun...), off)
}

// stage writes the runs of a burst that stay in the ring, and deletes the
// stored ones they push out; it returns the new ring, for publish.
func (r *runs) stage(batch *eventlog.StateBatch, add []Run) ([]Run, error) {
	r.mu.Lock()
	old := r.ring
	r.mu.Unlock()
	if len(add) == 0 {
		return old, nil
	}
	all := append(append(make([]Run, 0, len(old)+len(add)), old...), add...)
	cut := max(len(all)-RunsKept, 0)
	for _, x := range all[:min(cut, len(old))] { // stored before, evicted now
		if err := batch.Delete(runKey(x.Offset)); err != nil {
			return nil, err
		}
	}
	for _, x := range all[max(cut, len(old)):] { // new and kept
		v, err := msgpack.Marshal(&storedRun{Model: x.Model, StartedAt: x.StartedAt, FinishedAt: x.FinishedAt})
		if err != nil {
			return nil, err
		}
		if err := batch.Set(runKey(x.Offset), v); err != nil {
			return nil, err
		}
	}
	return all[cut:], nil
}

func (r *runs) publish(ring []Run) {
	r.mu.Lock()
	r.ring = ring
	r.mu.Unlock()
}

func (r *runs) clear() { r.publish(nil) }

// Runs returns the last finished runs, oldest first.
func (p *Projections) Runs() []Run {
	p.runs.mu.Lock()
	defer p.runs.mu.Unlock()
	return append([]Run(nil), p.runs.ring...)
}

// loadRuns reads the stored ring at start.
func (p *Projections) loadRuns() error {
	var ring []Run
	err := p.st.StateScan(prefixRun, func(k, v []byte) error {
		var sr storedRun
		if len(k) != len(prefixRun)+8 || msgpack.Unmarshal(v, &sr) != nil {
			return fmt.Errorf("stored run %x is malformed", k)
		}
		ring = append(ring, Run{Model: sr.Model, StartedAt: sr.StartedAt, FinishedAt: sr.FinishedAt,
			Offset: binary.BigEndian.Uint64(k[len(prefixRun):])})
		return nil
	})
	p.runs.publish(ring)
	return err
}
