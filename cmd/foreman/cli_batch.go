package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/foreman-dev/foreman/client"
)

// BatchCommand drives OpenAI batches (/v1/files, /v1/batches) from the
// command line: create, ls, get, cancel, wait, output.
type BatchCommand struct{ m *Main }

const batchUsage = `Usage:
  foreman batch create FILE.jsonl --endpoint /v1/chat/completions [--window 24h] [--priority N] [--metadata k=v,...] [--wait]
  foreman batch ls [--limit N]
  foreman batch get ID
  foreman batch cancel ID
  foreman batch wait ID           wait for the end (a progress bar on a terminal)
  foreman batch output ID [--errors] [-o FILE]   the output (or error) file`

// Run dispatches the subcommand.
func (c *BatchCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(c.m.Stderr, batchUsage)
		return &usageError{"foreman batch: no command given"}
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "create":
		return c.create(ctx, rest)
	case "ls":
		return c.list(ctx, rest)
	case "get", "cancel", "wait":
		return c.one(ctx, sub, rest)
	case "output":
		return c.output(ctx, rest)
	default:
		fmt.Fprintln(c.m.Stderr, batchUsage)
		return &usageError{fmt.Sprintf("foreman batch: unknown command %q", sub)}
	}
}

func (c *BatchCommand) create(ctx context.Context, args []string) error {
	r := c.m.newRemote("batch create", "batch create FILE.jsonl --endpoint PATH [flags]\n\nUploads FILE.jsonl (one OpenAI batch request per line) and starts a batch over it; prints the batch id.")
	var req client.BatchRequest
	var meta string
	var prio int
	var wait bool
	r.fs.StringVar(&req.Endpoint, "endpoint", "/v1/chat/completions", "the lines' endpoint: /v1/chat/completions, /v1/completions, /v1/embeddings")
	r.fs.StringVar(&req.CompletionWindow, "window", "24h", "completion window: lines not run by then are expired")
	r.fs.IntVar(&prio, "priority", 0, "the lines' job priority (default: the daemon's FOREMAN_BATCH_PRIORITY)")
	r.fs.StringVar(&meta, "metadata", "", "key=value pairs, comma-separated")
	r.fs.BoolVar(&wait, "wait", false, "wait for the batch to end")
	pos, err := r.parse(args, 1)
	if err != nil {
		return err
	}
	r.fs.Visit(func(f *flag.Flag) {
		if f.Name == "priority" {
			req.Priority = &prio
		}
	})
	if meta != "" {
		req.Metadata = map[string]string{}
		for _, kv := range strings.Split(meta, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return &usageError{fmt.Sprintf("--metadata: want key=value pairs, got %q", kv)}
			}
			req.Metadata[k] = v
		}
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	b := r.client().Batches()
	up, err := b.Upload(ctx, filepath.Base(pos[0]), f)
	if err != nil {
		return r.explain(err)
	}
	req.InputFileID = up.ID
	bt, err := b.Create(ctx, req)
	if err != nil {
		return r.explain(err)
	}
	if wait {
		return c.wait(ctx, r, bt.ID)
	}
	if r.json {
		return r.printJSON(bt)
	}
	fmt.Fprintln(c.m.Stdout, bt.ID)
	return nil
}

func (c *BatchCommand) list(ctx context.Context, args []string) error {
	r := c.m.newRemote("batch ls", "batch ls [--limit N] [--json]\n\nLists batches, newest first.")
	limit := r.fs.Int("limit", 20, "batches to show (1-100)")
	if _, err := r.parse(args, 0); err != nil {
		return err
	}
	bs, _, err := r.client().Batches().List(ctx, "", *limit)
	if err != nil {
		return r.explain(err)
	}
	if r.json {
		return r.printJSON(bs)
	}
	tw := table(c.m.Stdout, "ID", "STATUS", "ENDPOINT", "DONE", "FAILED", "TOTAL", "AGE")
	now := time.Now()
	for _, b := range bs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", b.ID, b.Status, b.Endpoint, b.RequestCounts.Completed,
			b.RequestCounts.Failed, b.RequestCounts.Total, age(now, time.Unix(b.CreatedAt, 0)))
	}
	return tw.Flush()
}

func (c *BatchCommand) one(ctx context.Context, sub string, args []string) error {
	what := map[string]string{"get": "Shows a batch.", "cancel": "Cancels a batch: lines not yet run are answered batch_cancelled.",
		"wait": "Waits for a batch to end; exit 1 unless it completed."}[sub]
	r := c.m.newRemote("batch "+sub, "batch "+sub+" ID [--json]\n\n"+what)
	pos, err := r.parse(args, 1)
	if err != nil {
		return err
	}
	b := r.client().Batches()
	var bt *client.Batch
	switch sub {
	case "wait":
		return c.wait(ctx, r, pos[0])
	case "cancel":
		bt, err = b.Cancel(ctx, pos[0])
	default:
		bt, err = b.Get(ctx, pos[0])
	}
	if err != nil {
		return r.explain(err)
	}
	if r.json {
		return r.printJSON(bt)
	}
	c.print(bt)
	return nil
}

// print shows a batch as text.
func (c *BatchCommand) print(b *client.Batch) {
	w := c.m.Stdout
	fmt.Fprintf(w, "batch:    %s\nstatus:   %s\nendpoint: %s\ninput:    %s\n", b.ID, b.Status, b.Endpoint, b.InputFileID)
	fmt.Fprintf(w, "lines:    %d done, %d failed, %d in all\n", b.RequestCounts.Completed, b.RequestCounts.Failed, b.RequestCounts.Total)
	if b.OutputFileID != "" {
		fmt.Fprintf(w, "output:   %s\n", b.OutputFileID)
	}
	if b.ErrorFileID != "" {
		fmt.Fprintf(w, "errors:   %s\n", b.ErrorFileID)
	}
	if b.Errors != nil {
		for _, e := range b.Errors.Data {
			fmt.Fprintf(w, "  line %d: %s: %s\n", e.Line, e.Code, e.Message)
		}
	}
}

// wait follows a batch to its end, with a progress bar on a terminal.
func (c *BatchCommand) wait(ctx context.Context, r *remote, id string) error {
	bar := isTerminal(c.m.Stderr) && !r.json
	bt, err := r.client().Batches().Wait(ctx, id, func(b *client.Batch) {
		if bar {
			fmt.Fprintf(c.m.Stderr, "\r%s", progressBar(b, 30))
		}
	})
	if bar {
		fmt.Fprintln(c.m.Stderr)
	}
	if err != nil {
		return r.explain(err)
	}
	if r.json {
		err = r.printJSON(bt)
	} else {
		c.print(bt)
	}
	if err == nil && bt.Status != "completed" {
		return fmt.Errorf("batch %s ended %s", bt.ID, bt.Status)
	}
	return err
}

// progressBar is one line: a bar of width cells, the counts and status.
func progressBar(b *client.Batch, width int) string {
	c := b.RequestCounts
	done := c.Completed + c.Failed
	fill := 0
	if c.Total > 0 {
		fill = min(width*done/c.Total, width)
	}
	return fmt.Sprintf("[%s%s] %d/%d (%d failed) %-11s", strings.Repeat("#", fill), strings.Repeat(".", width-fill), done, c.Total, c.Failed, b.Status)
}

// isTerminal reports a writer that is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (c *BatchCommand) output(ctx context.Context, args []string) error {
	r := c.m.newRemote("batch output", "batch output ID [--errors] [-o FILE]\n\nWrites a finished batch's output file (or its error file) to stdout or FILE.")
	errs := r.fs.Bool("errors", false, "the error file instead")
	out := r.fs.String("o", "", "write to FILE instead of stdout")
	pos, err := r.parse(args, 1)
	if err != nil {
		return err
	}
	b := r.client().Batches()
	bt, err := b.Get(ctx, pos[0])
	if err != nil {
		return r.explain(err)
	}
	id := bt.OutputFileID
	if *errs {
		id = bt.ErrorFileID
	}
	if id == "" {
		if !bt.Done() {
			return fmt.Errorf("batch %s is %s: its files are written when it ends", bt.ID, bt.Status)
		}
		return nil // no such lines: an empty file
	}
	body, err := b.Content(ctx, id)
	if err != nil {
		return r.explain(err)
	}
	defer body.Close()
	w := c.m.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	_, err = io.Copy(w, body)
	return err
}
