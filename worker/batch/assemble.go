package batch

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// OutputLine is one line of a batch's output or error file, as OpenAI
// writes it.
type OutputLine struct {
	ID       string        `json:"id"`
	CustomID string        `json:"custom_id"`
	Response *LineResponse `json:"response"`
	Error    *LineError    `json:"error"`
}

// LineResponse is the target's answer to a line.
type LineResponse struct {
	StatusCode int             `json:"status_code"`
	RequestID  string          `json:"request_id"`
	Body       json.RawMessage `json:"body"`
}

// LineError says why a line has no successful answer.
type LineError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// assemble writes the output file (answered lines) and the error file
// (every other line) of a batch whose submitted lines have all settled,
// streaming, then appends both files' file.uploaded with batch.ended in
// one append: the files exist exactly when the batch has ended. Their ids
// derive from the batch, so an assembly cut by a crash is redone over the
// same parts. Every input line is in exactly one of the files: the lines
// never submitted (the batch ended while submitting) are read back from
// the input file.
func (d *Driver) assemble(ctx context.Context, b projections.Batch, reason string) error {
	outID, errID := derivedID(b.ID, "output"), derivedID(b.ID, "errors")
	outW, errW := d.cfg.Log.NewFileWriter(outID), d.cfg.Log.NewFileWriter(errID)
	out, errs := bufio.NewWriterSize(outW, 256<<10), bufio.NewWriterSize(errW, 256<<10)
	end := eventlog.BatchEnd{Status: string(projections.BatchCompleted)}
	switch reason {
	case reasonCancelled:
		end.Status = string(projections.BatchCancelled)
	case reasonExpired:
		end.Status = string(projections.BatchExpired)
	}
	enc := func(w *bufio.Writer, l *OutputLine) error {
		buf, err := json.Marshal(l)
		if err != nil {
			return err
		}
		w.Write(buf)
		return w.WriteByte('\n')
	}
	err := d.cfg.Views.BatchLines(b.ID, func(_ int, job ulid.ULID) error {
		l, ok, err := d.lineResult(job, reason)
		if err != nil {
			return err
		}
		if ok {
			end.Completed++
			return enc(out, l)
		}
		end.Failed++
		return enc(errs, l)
	})
	if err != nil {
		return fmt.Errorf("assemble: %w", err)
	}
	if b.Enqueued < b.Total || b.InProgressAt == 0 {
		n, err := d.unsubmitted(b, reason, func(l *OutputLine) error { return enc(errs, l) })
		if err != nil {
			return fmt.Errorf("assemble: lines never submitted: %w", err)
		}
		end.Failed += n
	}
	if err := errors.Join(out.Flush(), errs.Flush()); err != nil {
		return &appendError{err}
	}
	outUp, err := outW.Close()
	if err != nil {
		return &appendError{err}
	}
	errUp, err := errW.Close()
	if err != nil {
		return &appendError{err}
	}
	var recs []eventlog.Record
	file := func(id ulid.ULID, up eventlog.FileUpload, name string) string {
		if up.Bytes == 0 {
			return ""
		}
		up.Filename, up.Purpose, up.Batch, up.Submitter = name, "batch_output", b.ID.String(), b.Submitter
		recs = append(recs, eventlog.Record{Job: id, Type: eventlog.FileUploaded, Payload: &up})
		return eventlog.FileID(id)
	}
	end.OutputFile = file(outID, outUp, eventlog.BatchID(b.ID)+"_output.jsonl")
	end.ErrorFile = file(errID, errUp, eventlog.BatchID(b.ID)+"_error.jsonl")
	recs = append(recs, eventlog.Record{Job: b.ID, Type: eventlog.BatchEnded, Payload: &end})
	if err := d.append(ctx, recs...); err != nil {
		return err
	}
	d.cfg.Logger.Info("batch ended", "batch", eventlog.BatchID(b.ID), "status", end.Status, "completed", end.Completed, "failed", end.Failed)
	return nil
}

// lineResult is a settled line's output line; ok when it belongs in the
// output file (the target answered with success).
func (d *Driver) lineResult(job ulid.ULID, reason string) (*OutputLine, bool, error) {
	l := &OutputLine{ID: "batch_req_" + job.String()}
	j, err := d.cfg.Views.Job(job)
	if errors.Is(err, projections.ErrNotFound) {
		// Retention keeps a running batch's lines (worker.Retention), so
		// this is a line expired by hand: say so rather than drop it.
		l.Error = &LineError{Code: "line_expired", Message: "the line's job no longer exists"}
		return l, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	l.CustomID = j.CustomID
	var body json.RawMessage
	if a, ok := j.Artifact(j.Result); ok && j.Result != "" {
		raw, err := d.cfg.Log.Blob(a.Blob)
		if err != nil && !errors.Is(err, eventlog.ErrNotFound) {
			return nil, false, err
		}
		if json.Valid(raw) {
			body = raw
		}
	}
	status := j.LastStatus
	if j.State == projections.Done && status == 0 {
		status = 200
	}
	if body != nil || status != 0 {
		l.Response = &LineResponse{StatusCode: status, RequestID: job.String(), Body: body}
	}
	switch {
	case j.State == projections.Done && status < 300:
		return l, true, nil
	case j.State == projections.Done:
		l.Error = &LineError{Code: "request_failed", Message: fmt.Sprintf("the target answered %d", status)}
	case j.State == projections.Failed:
		l.Error = &LineError{Code: targetCode(body, "request_failed"), Message: j.LastError}
	default: // cancelled, or never settled when the batch ended
		code := lineCode(reason)
		if reason == "" {
			code = "batch_cancelled" // a line cancelled on its own (DELETE /jobs/{id})
		}
		l.Error = &LineError{Code: code, Message: fmt.Sprintf("the line did not run: %s", cancelMessage(code))}
	}
	return l, false, nil
}

// targetCode is the error code in an OpenAI error body, or def.
func targetCode(body json.RawMessage, def string) string {
	var e struct {
		Error struct {
			Code any `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil {
		if s, ok := e.Error.Code.(string); ok && s != "" {
			return s
		}
	}
	return def
}

func cancelMessage(code string) string {
	if code == "batch_expired" {
		return "the batch's completion window passed first"
	}
	return "the batch was cancelled first"
}

// unsubmitted writes an error line for each input line after Enqueued (or
// every line of a batch that never started), reading the input again.
func (d *Driver) unsubmitted(b projections.Batch, reason string, emit func(*OutputLine) error) (int, error) {
	fid, err := eventlog.ParseFileID(b.InputFile)
	if err != nil {
		return 0, nil
	}
	f, err := d.cfg.Views.File(fid)
	if errors.Is(err, projections.ErrFileNotFound) {
		return 0, nil // deleted: nothing to read the lines from
	}
	if err != nil {
		return 0, err
	}
	code := lineCode(reason)
	n := 0
	s := newLineScanner(d.cfg.Log.NewFileReader(fid, f.Parts))
	for s.next() {
		if s.ord <= b.Enqueued {
			continue
		}
		var l inputLine
		if json.Unmarshal(s.line, &l) != nil || l.CustomID == "" {
			continue // unreadable: it has no custom_id to answer under
		}
		n++
		out := &OutputLine{ID: "batch_req_" + lineJob(b.ID, s.ord).String(), CustomID: l.CustomID,
			Error: &LineError{Code: code, Message: "the line did not run: " + cancelMessage(code)}}
		if err := emit(out); err != nil {
			return n, err
		}
	}
	return n, s.Err()
}

// derivedID is a file id derived from a batch's: the same at every
// assembly of that batch.
func derivedID(batch ulid.ULID, what string) ulid.ULID {
	sum := sha256.Sum256(append(batch[:], what...))
	var id ulid.ULID
	copy(id[:6], batch[:6])
	copy(id[6:], sum[:10])
	return id
}
