package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/julienschmidt/httprouter"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
)

// Retention tells the log's bounds (eventlog.Log).
type Retention interface {
	LowWatermark() uint64
	LastOffset() uint64
}

// replayWebhooks serves POST /webhooks/replay {"from_offset", "to_offset"?,
// "job_id"?}: the request is an appended event; the dispatcher re-delivers
// the job events in the range, with their original webhook-id.
func (s *Server) replayWebhooks(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var req struct {
		From *uint64 `json:"from_offset"`
		To   uint64  `json:"to_offset"`
		Job  string  `json:"job_id"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	if req.From == nil || *req.From == 0 {
		writeError(w, http.StatusBadRequest, `field "from_offset" is required (an offset ≥ 1)`)
		return
	}
	if req.To != 0 && req.To < *req.From {
		writeError(w, http.StatusBadRequest, `field "to_offset" must not be below "from_offset"`)
		return
	}
	if low := s.cfg.Retention.LowWatermark(); *req.From < low {
		writeError(w, http.StatusGone, fmt.Sprintf("offset %d was removed by retention; the log starts at %d", *req.From, low))
		return
	}
	p := eventlog.Replay{From: *req.From, To: req.To, By: Caller(r.Context())}
	var job ulid.ULID
	if req.Job != "" {
		id, err := ulid.ParseStrict(req.Job)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf(`field "job_id": invalid job id %q`, req.Job))
			return
		}
		job, p.Job = id, id[:]
	}
	evs, err := s.cfg.Log.Append(r.Context(), eventlog.Record{Job: job, Type: eventlog.WebhookReplay, Payload: &p})
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]uint64{"from_offset": *req.From, "to_offset": req.To, "request_offset": evs[0].Offset})
}
