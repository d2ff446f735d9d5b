package batch

import (
	"time"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

// The wire objects, with every field openai-go's types have (openai-go
// v3 batch.go and file.go). Times are unix seconds; absent ones are null.

// FileObject is OpenAI's file object.
type FileObject struct {
	ID            string  `json:"id"`
	Object        string  `json:"object"`
	Bytes         int64   `json:"bytes"`
	CreatedAt     int64   `json:"created_at"`
	Filename      string  `json:"filename"`
	Purpose       string  `json:"purpose"`
	Status        string  `json:"status"`
	ExpiresAt     *int64  `json:"expires_at"`
	StatusDetails *string `json:"status_details"`
}

func fileObject(f projections.File, ttl time.Duration) FileObject {
	o := FileObject{ID: eventlog.FileID(f.ID), Object: "file", Bytes: f.Bytes, CreatedAt: secs(f.CreatedAt),
		Filename: f.Filename, Purpose: f.Purpose, Status: "processed"}
	if ttl > 0 {
		o.ExpiresAt = unix(f.CreatedAt + int64(ttl))
	}
	return o
}

// BatchObject is OpenAI's batch object, with foreman's priority.
type BatchObject struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	Endpoint         string            `json:"endpoint"`
	Errors           *BatchErrors      `json:"errors"`
	InputFileID      string            `json:"input_file_id"`
	CompletionWindow string            `json:"completion_window"`
	Status           string            `json:"status"`
	OutputFileID     *string           `json:"output_file_id"`
	ErrorFileID      *string           `json:"error_file_id"`
	CreatedAt        int64             `json:"created_at"`
	InProgressAt     *int64            `json:"in_progress_at"`
	ExpiresAt        *int64            `json:"expires_at"`
	FinalizingAt     *int64            `json:"finalizing_at"`
	CompletedAt      *int64            `json:"completed_at"`
	FailedAt         *int64            `json:"failed_at"`
	ExpiredAt        *int64            `json:"expired_at"`
	CancellingAt     *int64            `json:"cancelling_at"`
	CancelledAt      *int64            `json:"cancelled_at"`
	RequestCounts    RequestCounts     `json:"request_counts"`
	Metadata         map[string]string `json:"metadata"`
	// Priority is foreman's: the lines' job priority.
	Priority int `json:"priority"`
}

// BatchErrors is a failed batch's validation errors.
type BatchErrors struct {
	Object string       `json:"object"`
	Data   []BatchError `json:"data"`
}

// BatchError is one validation error; Line is 1-based, null for the file.
type BatchError struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Param   *string `json:"param"`
	Line    *int    `json:"line"`
}

// RequestCounts are a batch's line counts.
type RequestCounts struct {
	Total     int `json:"total"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
}

func batchObject(b projections.Batch) BatchObject {
	o := BatchObject{
		ID: eventlog.BatchID(b.ID), Object: "batch", Endpoint: b.Endpoint, InputFileID: b.InputFile,
		CompletionWindow: b.CompletionWindow, Status: string(b.Status), CreatedAt: secs(b.CreatedAt),
		InProgressAt: unix(b.InProgressAt), ExpiresAt: unix(b.ExpiresAt), FinalizingAt: unix(b.FinalizingAt),
		CompletedAt: unix(b.CompletedAt), FailedAt: unix(b.FailedAt), ExpiredAt: unix(b.ExpiredAt),
		CancellingAt: unix(b.CancellingAt), CancelledAt: unix(b.CancelledAt),
		RequestCounts: RequestCounts{Total: b.Total, Completed: b.Completed, Failed: b.Failed},
		Metadata:      b.Metadata, Priority: b.Priority,
		OutputFileID: str(b.OutputFile), ErrorFileID: str(b.ErrorFile),
	}
	if len(b.Errors) > 0 {
		o.Errors = &BatchErrors{Object: "list"}
		for _, e := range b.Errors {
			be := BatchError{Code: e.Code, Message: e.Message, Param: str(e.Param)}
			if e.Line > 0 {
				line := e.Line
				be.Line = &line
			}
			o.Errors.Data = append(o.Errors.Data, be)
		}
	}
	return o
}

func secs(ns int64) int64 { return ns / int64(time.Second) }

func unix(ns int64) *int64 {
	if ns == 0 {
		return nil
	}
	s := secs(ns)
	return &s
}

func str(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
