package client

import (
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Batch is an OpenAI batch as foreman serves it (GET /v1/batches/{id}):
// times are unix seconds, 0 until they happen.
type Batch struct {
	ID               string            `json:"id"`
	Endpoint         string            `json:"endpoint"`
	InputFileID      string            `json:"input_file_id"`
	CompletionWindow string            `json:"completion_window"`
	Status           string            `json:"status"`
	OutputFileID     string            `json:"output_file_id"`
	ErrorFileID      string            `json:"error_file_id"`
	CreatedAt        int64             `json:"created_at"`
	InProgressAt     int64             `json:"in_progress_at"`
	ExpiresAt        int64             `json:"expires_at"`
	FinalizingAt     int64             `json:"finalizing_at"`
	CompletedAt      int64             `json:"completed_at"`
	FailedAt         int64             `json:"failed_at"`
	ExpiredAt        int64             `json:"expired_at"`
	CancellingAt     int64             `json:"cancelling_at"`
	CancelledAt      int64             `json:"cancelled_at"`
	RequestCounts    BatchCounts       `json:"request_counts"`
	Metadata         map[string]string `json:"metadata"`
	Priority         int               `json:"priority"`
	Errors           *struct {
		Data []BatchError `json:"data"`
	} `json:"errors"`
}

// BatchCounts are a batch's line counts.
type BatchCounts struct {
	Total     int `json:"total"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
}

// BatchError is one reason validation refused a batch's input.
type BatchError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Param   string `json:"param"`
	Line    int    `json:"line"`
}

// Done reports a batch that changes no more.
func (b *Batch) Done() bool {
	switch b.Status {
	case "completed", "failed", "expired", "cancelled":
		return true
	}
	return false
}

// File is a stored file (POST /v1/files).
type File struct {
	ID        string `json:"id"`
	Bytes     int64  `json:"bytes"`
	CreatedAt int64  `json:"created_at"`
	Filename  string `json:"filename"`
	Purpose   string `json:"purpose"`
}

// BatchRequest creates a batch (POST /v1/batches). Priority and
// WebhookURL are foreman's; CompletionWindow defaults to "24h".
type BatchRequest struct {
	InputFileID      string            `json:"input_file_id"`
	Endpoint         string            `json:"endpoint"`
	CompletionWindow string            `json:"completion_window"`
	Metadata         map[string]string `json:"metadata,omitempty"`
	Priority         *int              `json:"priority,omitempty"`
	WebhookURL       string            `json:"state_webhook_url,omitempty"`
}

// Batches is the OpenAI Batch API of a foreman daemon.
type Batches struct{ c *Client }

// Batches returns the Batch API calls.
func (c *Client) Batches() *Batches { return &Batches{c: c} }

// Upload stores a batch input file, streaming it from r.
func (b *Batches) Upload(ctx context.Context, name string, r io.Reader) (*File, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := mw.WriteField("purpose", "batch")
		if err == nil {
			var fw io.Writer
			if fw, err = mw.CreateFormFile("file", name); err == nil {
				_, err = io.Copy(fw, r)
			}
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	resp, err := b.c.request(ctx, http.MethodPost, "/v1/files", io.Reader(pr), http.Header{"Content-Type": {mw.FormDataContentType()}})
	pr.Close()
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var f File
	return &f, decode(resp, &f)
}

// Create starts a batch over an uploaded file.
func (b *Batches) Create(ctx context.Context, req BatchRequest) (*Batch, error) {
	if req.CompletionWindow == "" {
		req.CompletionWindow = "24h"
	}
	var out Batch
	return &out, b.c.call(ctx, http.MethodPost, "/v1/batches", req, &out)
}

// Get reads a batch.
func (b *Batches) Get(ctx context.Context, id string) (*Batch, error) {
	var out Batch
	return &out, b.c.call(ctx, http.MethodGet, "/v1/batches/"+url.PathEscape(id), nil, &out)
}

// Cancel asks a batch to stop: it is cancelling until its files are written.
func (b *Batches) Cancel(ctx context.Context, id string) (*Batch, error) {
	var out Batch
	return &out, b.c.call(ctx, http.MethodPost, "/v1/batches/"+url.PathEscape(id)+"/cancel", nil, &out)
}

// List reads up to limit batches (0: the daemon's default), newest first,
// after the batch id after (""): the page and whether more follow.
func (b *Batches) List(ctx context.Context, after string, limit int) ([]Batch, bool, error) {
	q := url.Values{}
	if after != "" {
		q.Set("after", after)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var page struct {
		Data    []Batch `json:"data"`
		HasMore bool    `json:"has_more"`
	}
	err := b.c.call(ctx, http.MethodGet, "/v1/batches?"+q.Encode(), nil, &page)
	return page.Data, page.HasMore, err
}

// Wait polls a batch (every WithPollInterval) until it is done, calling
// progress (if not nil) with each state read; a daemon restarting in
// between is ridden out.
func (b *Batches) Wait(ctx context.Context, id string, progress func(*Batch)) (*Batch, error) {
	for {
		bt, err := b.Get(ctx, id)
		if err == nil {
			if progress != nil {
				progress(bt)
			}
			if bt.Done() {
				return bt, nil
			}
		} else if !retryable(err) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(b.c.poll):
		}
	}
}

// Content streams a file's bytes (an output or error file); the caller
// closes it.
func (b *Batches) Content(ctx context.Context, fileID string) (io.ReadCloser, error) {
	resp, err := b.c.request(ctx, http.MethodGet, "/v1/files/"+url.PathEscape(fileID)+"/content", nil, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
