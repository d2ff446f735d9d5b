package projections

import (
	"github.com/oklog/ulid/v2"
	"github.com/vmihailenco/msgpack/v5"
)

// Filter narrows List; zero fields match everything.
type Filter struct {
	State State
	Model string
	// Before continues a listing: only jobs with ids below it (older).
	Before ulid.ULID
	Limit  int
}

// List returns jobs newest first (ULIDs sort by submission time), and the
// id to pass as Before for the next page (zero when there is none).
func (p *Projections) List(f Filter) ([]Job, ulid.ULID, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	var before []byte
	if f.Before != (ulid.ULID{}) {
		before = jobKey(f.Before)
	}
	var out []Job
	var next ulid.ULID
	var derr error
	err := p.st.StateScanBack(prefixJob, before, func(_, v []byte) bool {
		var j Job
		if derr = msgpack.Unmarshal(v, &j); derr != nil {
			return false
		}
		if (f.State != "" && j.State != f.State) || (f.Model != "" && j.Model != f.Model) {
			return true
		}
		if len(out) == limit {
			next = out[len(out)-1].ID
			return false
		}
		out = append(out, j)
		return true
	})
	if err == nil {
		err = derr
	}
	return out, next, err
}
