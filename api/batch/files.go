package batch

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"
	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// uploadFile serves POST /v1/files (multipart: file, purpose). The file is
// streamed into parts as it arrives; it exists once its file.uploaded is
// durable. A refused upload deletes the parts it wrote.
func (h *Handler) uploadFile(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "multipart/form-data" {
		writeError(w, invalid("file", "Uploads are multipart/form-data with the fields file and purpose."))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxFileBytes+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, invalid("file", "Bad multipart body: "+err.Error()))
		return
	}
	id := ulid.Make()
	var purpose, filename string
	var up *eventlog.FileUpload
	fw := h.cfg.Log.NewFileWriter(id)
	refuse := func(e *apiError) {
		if up == nil {
			if u, err := fw.Close(); err == nil {
				up = &u
			}
		}
		if up != nil && up.Parts > 0 {
			h.dropParts(r, id, up.Parts)
		}
		writeError(w, e)
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			refuse(invalid("file", "Bad multipart body: "+err.Error()))
			return
		}
		switch part.FormName() {
		case "purpose":
			b, _ := io.ReadAll(io.LimitReader(part, 64))
			purpose = strings.TrimSpace(string(b))
		case "file":
			if up != nil {
				refuse(invalid("file", "Only one file per upload."))
				return
			}
			filename = part.FileName()
			n, err := io.Copy(fw, io.LimitReader(part, h.cfg.MaxFileBytes+1))
			if err == nil && n > h.cfg.MaxFileBytes {
				refuse(&apiError{status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Param: str("file"),
					Message: fmt.Sprintf("The file is over %d bytes (FOREMAN_BATCH_MAX_FILE_BYTES).", h.cfg.MaxFileBytes)})
				return
			}
			if err != nil {
				refuse(invalid("file", "Reading the file: "+err.Error()))
				return
			}
			u, err := fw.Close()
			if err != nil {
				writeError(w, serverError("cannot store the file: "+err.Error()))
				return
			}
			up = &u
		}
		part.Close()
	}
	switch {
	case up == nil:
		refuse(invalid("file", "The upload has no file field."))
		return
	case purpose == "":
		refuse(invalid("purpose", "The upload has no purpose field."))
		return
	case purpose != "batch":
		refuse(invalid("purpose", fmt.Sprintf("foreman keeps files for the Batch API only: purpose must be \"batch\", not %q.", purpose)))
		return
	}
	up.Filename, up.Purpose, up.Submitter = filename, purpose, h.cfg.Caller(r.Context())
	if err := h.appendAndWait(r.Context(), eventlog.Record{Job: id, Type: eventlog.FileUploaded, Payload: up}); err != nil {
		writeError(w, &apiError{status: http.StatusServiceUnavailable, Type: "server_error", Message: "cannot store the file: " + err.Error()})
		return
	}
	f, err := h.cfg.Views.File(id)
	if err != nil {
		writeError(w, serverError(err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, fileObject(f, h.cfg.FileTTL))
}

// dropParts deletes the parts of an upload that was refused.
func (h *Handler) dropParts(r *http.Request, id ulid.ULID, parts int) {
	keys := make([]string, parts)
	for i := range keys {
		keys[i] = eventlog.FilePartBlob(id, i)
	}
	_, err := h.cfg.Log.Append(r.Context(), eventlog.Record{Job: id, Type: eventlog.FileDeleted, DeleteBlobs: keys,
		Payload: &eventlog.FileDeletion{Reason: "upload refused", By: h.cfg.Caller(r.Context())}})
	if err != nil {
		h.cfg.Logger.Warn("could not delete a refused upload's parts", "file", eventlog.FileID(id), "err", err)
	}
}

// file reads the :id param as a file id.
func (h *Handler) file(ps httprouter.Params) (projections.File, *apiError) {
	raw := ps.ByName("id")
	id, err := eventlog.ParseFileID(raw)
	if err == nil {
		var f projections.File
		if f, err = h.cfg.Views.File(id); err == nil {
			return f, nil
		}
	}
	return projections.File{}, notFound(fmt.Sprintf("No such File object: %s", raw), "id")
}

func (h *Handler) getFile(w http.ResponseWriter, _ *http.Request, ps httprouter.Params) {
	f, e := h.file(ps)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, fileObject(f, h.cfg.FileTTL))
}

// fileContent streams a file's bytes, part by part.
func (h *Handler) fileContent(w http.ResponseWriter, _ *http.Request, ps httprouter.Params) {
	f, e := h.file(ps)
	if e != nil {
		writeError(w, e)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(f.Bytes, 10))
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Filename}))
	if _, err := io.Copy(w, h.cfg.Log.NewFileReader(f.ID, f.Parts)); err != nil {
		h.cfg.Logger.Warn("file download cut", "file", eventlog.FileID(f.ID), "err", err)
	}
}

// deleteFile serves DELETE /v1/files/{id}. The input file of a batch that
// has not ended is refused: its lines are read again while it runs.
func (h *Handler) deleteFile(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	f, e := h.file(ps)
	if e != nil {
		writeError(w, e)
		return
	}
	for _, b := range h.cfg.Views.Batches() {
		if !b.Status.Terminal() && b.InputFile == eventlog.FileID(f.ID) {
			writeError(w, &apiError{status: http.StatusConflict, Type: "invalid_request_error", Param: str("file_id"),
				Message: fmt.Sprintf("The file is the input of %s, which has not ended: cancel it first.", eventlog.BatchID(b.ID))})
			return
		}
	}
	keys := make([]string, f.Parts)
	for i := range keys {
		keys[i] = eventlog.FilePartBlob(f.ID, i)
	}
	err := h.appendAndWait(r.Context(), eventlog.Record{Job: f.ID, Type: eventlog.FileDeleted, DeleteBlobs: keys,
		Payload: &eventlog.FileDeletion{Reason: "deleted", By: h.cfg.Caller(r.Context())}})
	if err != nil {
		writeError(w, &apiError{status: http.StatusServiceUnavailable, Type: "server_error", Message: "cannot delete the file: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": eventlog.FileID(f.ID), "object": "file", "deleted": true})
}

// listFiles serves GET /v1/files (after, limit, purpose, order).
func (h *Handler) listFiles(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	q := r.URL.Query()
	limit, e := pageLimit(q.Get("limit"), 10000, 10000)
	if e != nil {
		writeError(w, e)
		return
	}
	all := h.cfg.Views.Files() // newest first
	if q.Get("order") == "asc" {
		for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
			all[i], all[j] = all[j], all[i]
		}
	} else if o := q.Get("order"); o != "" && o != "desc" {
		writeError(w, invalid("order", `order is "asc" or "desc"`))
		return
	}
	purpose := q.Get("purpose")
	objs := make([]FileObject, 0, min(len(all), limit))
	ids := make([]string, 0, len(all))
	for _, f := range all {
		if purpose == "" || f.Purpose == purpose {
			ids = append(ids, eventlog.FileID(f.ID))
			objs = append(objs, fileObject(f, h.cfg.FileTTL))
		}
	}
	from, to, more := page(ids, q.Get("after"), limit)
	writeJSON(w, http.StatusOK, listOf(objs[from:to], ids[from:to], more))
}

// page is the window of ids after `after` (exclusive), up to limit.
func page(ids []string, after string, limit int) (from, to int, more bool) {
	if after != "" {
		for i, id := range ids {
			if id == after {
				from = i + 1
				break
			}
		}
	}
	to = min(from+limit, len(ids))
	return from, to, to < len(ids)
}

func pageLimit(raw string, def, most int) (int, *apiError) {
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > most {
		return 0, invalid("limit", fmt.Sprintf("limit is a number from 1 to %d", most))
	}
	return n, nil
}

// listOf is OpenAI's cursor page.
func listOf[T any](data []T, ids []string, more bool) map[string]any {
	m := map[string]any{"object": "list", "data": data, "has_more": more, "first_id": nil, "last_id": nil}
	if len(ids) > 0 {
		m["first_id"], m["last_id"] = ids[0], ids[len(ids)-1]
	}
	return m
}
