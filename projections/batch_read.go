package projections

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/oklog/ulid/v2"
	"github.com/vmihailenco/msgpack/v5"
)

// ErrBatchNotFound and ErrFileNotFound are returned for a batch or file
// the projections do not know.
var (
	ErrBatchNotFound = errors.New("projections: batch not found")
	ErrFileNotFound  = errors.New("projections: file not found")
)

// loadBatches reads every batch and file view into memory at Open.
func (p *Projections) loadBatches() error {
	err := p.st.StateScan(prefixBatch, func(_, v []byte) error {
		var b Batch
		if err := msgpack.Unmarshal(v, &b); err != nil {
			return fmt.Errorf("load batch: %w", err)
		}
		p.batches[b.ID] = &b
		return nil
	})
	if err != nil {
		return err
	}
	return p.st.StateScan(prefixFile, func(_, v []byte) error {
		var f File
		if err := msgpack.Unmarshal(v, &f); err != nil {
			return fmt.Errorf("load file: %w", err)
		}
		p.files[f.ID] = &f
		return nil
	})
}

// Batch returns a copy of one batch's view.
func (p *Projections) Batch(id ulid.ULID) (Batch, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	b, ok := p.batches[id]
	if !ok {
		return Batch{}, ErrBatchNotFound
	}
	return *b, nil
}

// Batches returns every batch, newest first.
func (p *Projections) Batches() []Batch {
	p.mu.RLock()
	out := make([]Batch, 0, len(p.batches))
	for _, b := range p.batches {
		out = append(out, *b)
	}
	p.mu.RUnlock()
	slices.SortFunc(out, func(a, b Batch) int { return b.ID.Compare(a.ID) })
	return out
}

// File returns one file's view.
func (p *Projections) File(id ulid.ULID) (File, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	f, ok := p.files[id]
	if !ok {
		return File{}, ErrFileNotFound
	}
	return *f, nil
}

// Files returns every file, newest first.
func (p *Projections) Files() []File {
	p.mu.RLock()
	out := make([]File, 0, len(p.files))
	for _, f := range p.files {
		out = append(out, *f)
	}
	p.mu.RUnlock()
	slices.SortFunc(out, func(a, b File) int { return cmp.Or(cmp.Compare(b.CreatedAt, a.CreatedAt), b.ID.Compare(a.ID)) })
	return out
}

// BatchLines calls fn for each submitted line of a batch in line order:
// its 1-based line number and its job.
func (p *Projections) BatchLines(id ulid.ULID, fn func(line int, job ulid.ULID) error) error {
	pre := linePrefix(id)
	return p.st.StateScan(pre, func(k, v []byte) error {
		if len(k) != len(pre)+4 || len(v) != 16 {
			return fmt.Errorf("bad line index entry %x", k)
		}
		var job ulid.ULID
		copy(job[:], v)
		return fn(int(binary.BigEndian.Uint32(k[len(pre):])), job)
	})
}

// Exists reports whether id is a job, batch or file the projections hold:
// retention keeps the log from the first event of anything that exists.
func (p *Projections) Exists(id ulid.ULID) (bool, error) {
	p.mu.RLock()
	_, b := p.batches[id]
	_, f := p.files[id]
	p.mu.RUnlock()
	if b || f {
		return true, nil
	}
	_, err := p.Job(id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
