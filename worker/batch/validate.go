package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// maxErrors bounds the errors a failed batch reports (the rest are
// counted in the last one's message).
const maxErrors = 100

// The error codes of batch validation, as OpenAI reports them in
// errors.data (docs/api.md lists them).
const (
	codeEmptyFile       = "empty_file"
	codeTooManyTasks    = "too_many_tasks"
	codeInvalidJSONLine = "invalid_json_line"
	codeDuplicateID     = "duplicate_custom_id"
	codeMissingParam    = "missing_required_parameter"
	codeInvalidMethod   = "invalid_method"
	codeInvalidURL      = "invalid_url"
	codeInvalidRequest  = "invalid_request"
	codeModelNotFound   = "model_not_found"
	codeFileNotFound    = "file_not_found"
	codeLineTooLong     = "line_too_long"
)

// checked is what validation learned of a good input.
type checked struct {
	total  int
	models []string
}

// check reads the whole input once: every line well formed, custom_ids
// unique, url the batch's endpoint, a model named that the target has. It
// returns the errors as OpenAI reports them (nil: valid); an error of its
// own is a step to retry (the file unreadable, the target unreachable).
func (d *Driver) check(ctx context.Context, b projections.Batch) (checked, []eventlog.BatchError, error) {
	var c checked
	var errs []eventlog.BatchError
	extra := 0
	add := func(e eventlog.BatchError) {
		if len(errs) < maxErrors {
			errs = append(errs, e)
		} else {
			extra++
		}
	}
	fid, err := eventlog.ParseFileID(b.InputFile)
	if err != nil {
		return c, []eventlog.BatchError{{Code: codeFileNotFound, Message: "The input file id is not valid.", Param: "input_file_id"}}, nil
	}
	f, err := d.cfg.Views.File(fid)
	if errors.Is(err, projections.ErrFileNotFound) {
		return c, []eventlog.BatchError{{Code: codeFileNotFound, Message: fmt.Sprintf("The input file %s was deleted.", eventlog.FileID(fid)), Param: "input_file_id"}}, nil
	}
	if err != nil {
		return c, nil, err
	}
	seen := map[string]int{}
	models := map[string]bool{}
	s := newLineScanner(d.cfg.Log.NewFileReader(fid, f.Parts))
	for s.next() {
		c.total++
		if c.total > d.cfg.MaxLines {
			continue // counted for the message below
		}
		l, ok := parseLine(s.line, s.n, b.Endpoint, add)
		if !ok {
			continue
		}
		if first, dup := seen[l.CustomID]; dup {
			add(eventlog.BatchError{Code: codeDuplicateID, Line: s.n, Param: "custom_id",
				Message: fmt.Sprintf("The custom_id %q is a duplicate of line %d's: custom_id must be unique for each request in a batch.", l.CustomID, first)})
			continue
		}
		seen[l.CustomID] = s.n
		models[l.model] = true
	}
	if err := s.Err(); err != nil {
		if !errors.Is(err, errLineTooLong) {
			return c, nil, fmt.Errorf("read input file: %w", err)
		}
		add(eventlog.BatchError{Code: codeLineTooLong, Line: s.n + 1, Message: err.Error()})
	}
	switch {
	case c.total == 0:
		add(eventlog.BatchError{Code: codeEmptyFile, Message: "The input file is empty: a batch needs at least one request."})
	case c.total > d.cfg.MaxLines:
		add(eventlog.BatchError{Code: codeTooManyTasks, Message: fmt.Sprintf("The input file has %d requests; a batch may have at most %d (FOREMAN_BATCH_MAX_LINES).", c.total, d.cfg.MaxLines)})
	}
	for m := range models {
		c.models = append(c.models, m)
	}
	slices.Sort(c.models)
	if len(errs) == 0 {
		for _, m := range c.models {
			ok, err := d.cfg.Models.HasOrRefresh(ctx, m)
			if err != nil && !ok {
				return c, nil, fmt.Errorf("check model %q: %w", m, err)
			}
			if !ok {
				add(eventlog.BatchError{Code: codeModelNotFound, Param: "body.model",
					Message: fmt.Sprintf("The model '%s' does not exist on the target (line %d is the first to name it).", m, firstLine(b, d, fid, f, m))})
			}
		}
	}
	if extra > 0 {
		errs[len(errs)-1].Message += fmt.Sprintf(" (%d more errors not listed)", extra)
	}
	return c, errs, nil
}

// firstLine is the first line naming model (for the error message): a
// second read, only on the failure path.
func firstLine(b projections.Batch, d *Driver, fid ulid.ULID, f projections.File, model string) int {
	s := newLineScanner(d.cfg.Log.NewFileReader(fid, f.Parts))
	for s.next() {
		if l, ok := parseLine(s.line, s.n, b.Endpoint, func(eventlog.BatchError) {}); ok && l.model == model {
			return s.n
		}
	}
	return 0
}

// parsedLine is a valid input line.
type parsedLine struct {
	inputLine
	model string
}

// parseLine checks one line (n is its line number), reporting what is
// wrong with it through add.
func parseLine(raw []byte, n int, endpoint string, add func(eventlog.BatchError)) (parsedLine, bool) {
	var l parsedLine
	bad := func(code, param, msg string) (parsedLine, bool) {
		add(eventlog.BatchError{Code: code, Line: n, Param: param, Message: msg})
		return l, false
	}
	if err := json.Unmarshal(raw, &l.inputLine); err != nil {
		return bad(codeInvalidJSONLine, "", "This line is not parseable as valid JSON: "+err.Error())
	}
	switch {
	case l.CustomID == "":
		return bad(codeMissingParam, "custom_id", "The request is missing its custom_id.")
	case l.Method != "POST":
		return bad(codeInvalidMethod, "method", fmt.Sprintf("The method %q is not supported: batch requests use POST.", l.Method))
	case l.URL != endpoint:
		return bad(codeInvalidURL, "url", fmt.Sprintf("The url %q does not match the batch's endpoint %s.", l.URL, endpoint))
	}
	body := bytes.TrimSpace(l.Body)
	if len(body) == 0 || body[0] != '{' {
		return bad(codeInvalidRequest, "body", "The request body must be a JSON object.")
	}
	var m struct {
		Model json.RawMessage `json:"model"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return bad(codeInvalidRequest, "body", "The request body is not valid: "+err.Error())
	}
	if err := json.Unmarshal(m.Model, &l.model); err != nil || l.model == "" {
		return bad(codeMissingParam, "body.model", "The request body is missing a model.")
	}
	l.Body = body
	return l, true
}

// validate checks a validating batch's input and either fails it or
// starts it (batch.in_progress with its line count; enqueue follows).
func (d *Driver) validate(ctx context.Context, b projections.Batch) error {
	c, errs, err := d.check(ctx, b)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		d.cfg.Logger.Info("batch failed validation", "batch", eventlog.BatchID(b.ID), "errors", len(errs), "first", errs[0].Code)
		return d.append(ctx, eventlog.Record{Job: b.ID, Type: eventlog.BatchFailed, Payload: &eventlog.BatchFailure{Errors: errs}})
	}
	d.cfg.Logger.Info("batch validated", "batch", eventlog.BatchID(b.ID), "lines", c.total, "models", c.models)
	return d.append(ctx, eventlog.Record{Job: b.ID, Type: eventlog.BatchInProgress, Payload: &eventlog.BatchStart{Total: c.total, Models: c.models}})
}
