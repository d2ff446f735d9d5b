package batch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// createRequest is POST /v1/batches' body: OpenAI's fields, and foreman's
// priority and state_webhook_url.
type createRequest struct {
	InputFileID      string            `json:"input_file_id"`
	Endpoint         string            `json:"endpoint"`
	CompletionWindow string            `json:"completion_window"`
	Metadata         map[string]string `json:"metadata"`
	Priority         *int              `json:"priority"`
	WebhookURL       string            `json:"state_webhook_url"`
	// OutputExpiresAfter is accepted and ignored: outputs follow
	// FOREMAN_BATCH_FILE_TTL.
	OutputExpiresAfter json.RawMessage `json:"output_expires_after"`
}

// maxCreateBody bounds POST /v1/batches' body (metadata is small).
const maxCreateBody = 64 << 10

// createBatch serves POST /v1/batches: the batch is recorded validating;
// worker/batch validates the file and runs it.
func (h *Handler) createBatch(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxCreateBody+1))
	if err != nil {
		writeError(w, invalid("", "Reading the body: "+err.Error()))
		return
	}
	if len(raw) > maxCreateBody {
		writeError(w, invalid("", fmt.Sprintf("The body is over %d bytes.", maxCreateBody)))
		return
	}
	var req createRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, invalid("", "We could not parse the JSON body of your request: "+err.Error()))
		return
	}
	window, e := h.checkCreate(&req)
	if e != nil {
		writeError(w, e)
		return
	}
	prio := *h.cfg.DefaultPriority
	if req.Priority != nil {
		prio = *req.Priority
	}
	id := ulid.Make()
	now := h.cfg.Now()
	err = h.appendAndWait(r.Context(), eventlog.Record{Job: id, Type: eventlog.BatchCreated, Payload: &eventlog.BatchCreate{
		InputFile: req.InputFileID, Endpoint: req.Endpoint, CompletionWindow: req.CompletionWindow,
		ExpiresAt: now.Add(window).UnixNano(), Metadata: req.Metadata, Priority: prio, WebhookURL: req.WebhookURL,
		Submitter: h.cfg.Caller(r.Context()), MaxAttempts: h.cfg.MaxAttempts,
	}})
	if err != nil {
		writeError(w, &apiError{status: http.StatusServiceUnavailable, Type: "server_error", Message: "cannot store the batch: " + err.Error()})
		return
	}
	b, err := h.cfg.Views.Batch(id)
	if err != nil {
		writeError(w, serverError(err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, batchObject(b))
}

// checkCreate refuses what OpenAI refuses at creation, and returns the
// completion window.
func (h *Handler) checkCreate(req *createRequest) (time.Duration, *apiError) {
	if _, ok := eventlog.BatchEndpoints[req.Endpoint]; !ok {
		eps := make([]string, 0, len(eventlog.BatchEndpoints))
		for ep := range eventlog.BatchEndpoints {
			eps = append(eps, ep)
		}
		sort.Strings(eps)
		return 0, invalid("endpoint", fmt.Sprintf("Invalid value for 'endpoint': %q; supported are %s.", req.Endpoint, strings.Join(eps, ", ")))
	}
	if req.CompletionWindow == "" {
		return 0, invalid("completion_window", "Missing required parameter: 'completion_window'.")
	}
	window, err := time.ParseDuration(req.CompletionWindow)
	if err != nil || window <= 0 || window > h.cfg.MaxWindow {
		return 0, invalid("completion_window", fmt.Sprintf("Invalid value for 'completion_window': %q; use \"24h\" (foreman takes any duration up to %s).", req.CompletionWindow, h.cfg.MaxWindow))
	}
	if req.InputFileID == "" {
		return 0, invalid("input_file_id", "Missing required parameter: 'input_file_id'.")
	}
	fid, err := eventlog.ParseFileID(req.InputFileID)
	var f projections.File
	if err == nil {
		f, err = h.cfg.Views.File(fid)
	}
	if err != nil {
		return 0, notFound(fmt.Sprintf("No such File object: %s", req.InputFileID), "input_file_id")
	}
	if f.Purpose != "batch" {
		return 0, invalid("input_file_id", fmt.Sprintf("The file %s has purpose %q: a batch's input has purpose \"batch\".", req.InputFileID, f.Purpose))
	}
	req.InputFileID = eventlog.FileID(fid)
	if len(req.Metadata) > 16 {
		return 0, invalid("metadata", "metadata has at most 16 keys.")
	}
	for k, v := range req.Metadata {
		if len(k) > 64 || len(v) > 512 {
			return 0, invalid("metadata", "metadata keys are at most 64 characters, values at most 512.")
		}
	}
	if req.WebhookURL != "" {
		if h.cfg.CheckWebhook != nil {
			if err := h.cfg.CheckWebhook(req.WebhookURL); err != nil {
				return 0, invalid("state_webhook_url", err.Error())
			}
		} else if u, err := url.Parse(req.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return 0, invalid("state_webhook_url", "state_webhook_url is an absolute http(s) URL.")
		}
	}
	return window, nil
}

// batch reads the :id param as a batch id.
func (h *Handler) batch(ps httprouter.Params) (projections.Batch, *apiError) {
	raw := ps.ByName("id")
	id, err := eventlog.ParseBatchID(raw)
	if err == nil {
		var b projections.Batch
		if b, err = h.cfg.Views.Batch(id); err == nil {
			return b, nil
		}
	}
	return projections.Batch{}, notFound(fmt.Sprintf("No such Batch object: %s", raw), "batch_id")
}

func (h *Handler) getBatch(w http.ResponseWriter, _ *http.Request, ps httprouter.Params) {
	b, e := h.batch(ps)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, batchObject(b))
}

// cancelBatch serves POST /v1/batches/{id}/cancel: the batch is cancelling
// until its running line stops and its files are written.
func (h *Handler) cancelBatch(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	b, e := h.batch(ps)
	if e != nil {
		writeError(w, e)
		return
	}
	switch b.Status {
	case projections.BatchCancelling, projections.BatchCancelled:
		writeJSON(w, http.StatusOK, batchObject(b))
		return
	case projections.BatchValidating, projections.BatchInProgress:
	default:
		writeError(w, &apiError{status: http.StatusConflict, Type: "invalid_request_error",
			Message: fmt.Sprintf("Cannot cancel a batch with status %s.", b.Status)})
		return
	}
	err := h.appendAndWait(r.Context(), eventlog.Record{Job: b.ID, Type: eventlog.BatchCancelRequested,
		Payload: &eventlog.BatchCancel{By: h.cfg.Caller(r.Context())}})
	if err != nil {
		writeError(w, &apiError{status: http.StatusServiceUnavailable, Type: "server_error", Message: "cannot cancel: " + err.Error()})
		return
	}
	b, err = h.cfg.Views.Batch(b.ID)
	if errors.Is(err, projections.ErrBatchNotFound) {
		writeError(w, notFound("No such Batch object", "batch_id"))
		return
	}
	writeJSON(w, http.StatusOK, batchObject(b))
}

// listBatches serves GET /v1/batches (after, limit), newest first.
func (h *Handler) listBatches(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	q := r.URL.Query()
	limit, e := pageLimit(q.Get("limit"), 20, 100)
	if e != nil {
		writeError(w, e)
		return
	}
	all := h.cfg.Views.Batches()
	ids := make([]string, len(all))
	for i, b := range all {
		ids[i] = eventlog.BatchID(b.ID)
	}
	from, to, more := page(ids, q.Get("after"), limit)
	objs := make([]BatchObject, 0, to-from)
	for _, b := range all[from:to] {
		objs = append(objs, batchObject(b))
	}
	writeJSON(w, http.StatusOK, listOf(objs, ids[from:to], more))
}
