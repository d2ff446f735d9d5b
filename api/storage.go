package api

import (
	"fmt"
	"net/http"

	"github.com/julienschmidt/httprouter"
)

// Store is the write health of the event log (eventlog.Log).
type Store interface {
	// Err is nil while the log takes writes; after a failed commit it is
	// the sticky failure (ADR-0019): foreman is stopping.
	Err() error
	// FreeDisk is the bytes free on the data dir's filesystem.
	FreeDisk() (uint64, error)
}

// DefaultMinFreeDisk is the headroom below which new submissions are
// refused with 507: room for the jobs already accepted to finish (results
// up to the body cap each, the WAL, a memtable flush of 32 MiB) and for
// Pebble's compactions, which write before they delete.
const DefaultMinFreeDisk = 256 << 20

// storeRefusal says why the log should not be written now: the log failed
// (503, for every write), or, for a new submission, the disk is below
// MinFreeDisk (507). ok is true when the write may go ahead.
func (s *Server) storeRefusal(submission bool) (status int, msg string, ok bool) {
	st := s.cfg.Store
	if st == nil {
		return 0, "", true
	}
	if err := st.Err(); err != nil {
		return http.StatusServiceUnavailable, "the event log failed and foreman is stopping: " + err.Error(), false
	}
	if !submission || s.cfg.MinFreeDisk == 0 {
		return 0, "", true
	}
	if free, err := st.FreeDisk(); err == nil && free < s.cfg.MinFreeDisk {
		return http.StatusInsufficientStorage, fmt.Sprintf("insufficient storage: %s free on the data dir, below FOREMAN_MIN_FREE_DISK (%s); new jobs are refused until space is freed",
			sizeText(free), sizeText(s.cfg.MinFreeDisk)), false
	}
	return 0, "", true
}

// submits guards a route that creates jobs: 503 once the log failed, 507
// while the disk is below the headroom. Jobs already accepted go on.
func (s *Server) submits(h httprouter.Handle) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		if status, msg, ok := s.storeRefusal(true); !ok {
			writeError(w, status, msg)
			return
		}
		h(w, r, ps)
	}
}

// writes guards a route that appends to the log: 503 once the log failed.
func (s *Server) writes(h httprouter.Handle) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		if status, msg, ok := s.storeRefusal(false); !ok {
			writeError(w, status, msg)
			return
		}
		h(w, r, ps)
	}
}

// sizeText renders bytes as MiB or GiB for messages.
func sizeText(n uint64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
