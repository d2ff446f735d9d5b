package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	ollama "github.com/ollama/ollama/api"

	"github.com/foreman-dev/foreman/client"
)

// SubmitCommand submits a job and, unless --async, waits for it, printing
// the answer's tokens as the target produces them. It goes through
// POST /jobs and GET /jobs/{id}/stream, so the job survives the terminal:
// an interrupted wait leaves it running, and `foreman job ID` shows it.
type SubmitCommand struct{ m *Main }

// Run parses the request, submits it and waits.
func (c *SubmitCommand) Run(ctx context.Context, args []string) error {
	r := c.m.newRemote("submit", "submit [flags] MODEL [PROMPT...]\n       foreman submit [flags] --file REQUEST.json\n\n"+
		"Submits a job and prints the answer as it is produced. Without PROMPT, the prompt is read from stdin.\n"+
		"REQUEST.json is a POST /jobs body: an Ollama chat (or, with --generate, generate) request.")
	generate := r.fs.Bool("generate", false, "a generate job (prompt) instead of a chat job (messages)")
	file := r.fs.String("file", "", "read the whole request from this JSON file (- for stdin)")
	async := r.fs.Bool("async", false, "print the job id and return without waiting")
	system := r.fs.String("system", "", "system prompt")
	priority := r.fs.Int("priority", 0, "job priority: higher runs first")
	pos, err := r.parse(args, -1)
	if err != nil {
		return err
	}
	req, err := c.request(pos, *file, *system, *generate)
	var ue *usageError
	if errors.As(err, &ue) {
		r.fs.Usage()
	}
	if err != nil {
		return err
	}
	req.Priority = *priority
	cl := r.client(client.WithPollInterval(200 * time.Millisecond))
	var id string
	if r.isFleet() {
		// Routed to the daemon expected to finish it first.
		f := r.fleet(client.WithPollInterval(200 * time.Millisecond))
		if id, err = f.Enqueue(ctx, req); err == nil {
			cl, err = f.Locate(ctx, id)
		}
	} else {
		id, err = cl.Enqueue(ctx, req)
	}
	if err != nil {
		return r.explain(err)
	}
	if *async {
		if r.json {
			out := map[string]string{"job_id": id}
			if r.isFleet() {
				out["daemon"] = cl.BaseURL()
			}
			return r.printJSON(out)
		}
		fmt.Fprintln(c.m.Stdout, id)
		if r.isFleet() {
			fmt.Fprintf(c.m.Stderr, "job %s on %s\n", id, cl.BaseURL())
		}
		return nil
	}
	// The id first, on stderr, so that the job can be found again
	// (foreman watch ID) whatever happens to this terminal; with a
	// fleet, the daemon it went to.
	if r.isFleet() {
		fmt.Fprintf(c.m.Stderr, "job %s on %s\n", id, cl.BaseURL())
	} else {
		fmt.Fprintf(c.m.Stderr, "job %s\n", id)
	}
	return follow(ctx, r, cl, id)
}

// follow prints a job's output as it is produced (unless --json), waits
// for the end and prints the job with --json. submit and watch share it.
func follow(ctx context.Context, r *remote, cl *client.Client, id string) error {
	if !r.json {
		// Tokens as they come; a stream cut short (the reader lagged, the
		// daemon restarted) is not fatal: the wait below has the answer.
		p := &tokenPrinter{w: r.m.Stdout}
		if err := cl.Stream(ctx, id, p.line); err != nil && ctx.Err() == nil {
			var se *client.StreamError
			if !errors.As(err, &se) {
				fmt.Fprintf(r.m.Stderr, "foreman: following the output of job %s: %v; waiting for the result\n", id, r.explain(err))
			}
		}
		p.end()
	}
	res, err := cl.Wait(ctx, id)
	if ctx.Err() != nil {
		return fmt.Errorf("stopped waiting; job %s goes on (foreman watch %s, foreman cancel %s): %w", id, id, id, ctx.Err())
	}
	if res != nil && r.json {
		if perr := r.printJSON(res.Job); perr != nil {
			return perr
		}
	}
	return r.explain(err)
}

// request builds the job from the arguments, a file or stdin.
func (c *SubmitCommand) request(pos []string, file, system string, generate bool) (client.Request, error) {
	kind := "chat"
	if generate {
		kind = "generate"
	}
	if file != "" {
		if len(pos) > 0 {
			return client.Request{}, &usageError{"--file takes no MODEL or PROMPT arguments"}
		}
		var data []byte
		var err error
		if file == "-" {
			data, err = io.ReadAll(c.m.Stdin)
		} else {
			data, err = os.ReadFile(file)
		}
		if err != nil {
			return client.Request{}, fmt.Errorf("read request: %w", err)
		}
		if !json.Valid(data) {
			return client.Request{}, &usageError{fmt.Sprintf("%s is not valid JSON", file)}
		}
		req := client.Request{Body: data}
		if generate {
			req.Kind = kind
		}
		return req, nil
	}
	if len(pos) == 0 {
		return client.Request{}, &usageError{"submit needs a MODEL (and a PROMPT, or the prompt on stdin), or --file"}
	}
	model, prompt := pos[0], strings.Join(pos[1:], " ")
	if prompt == "" {
		data, err := io.ReadAll(c.m.Stdin)
		if err != nil {
			return client.Request{}, fmt.Errorf("read prompt from stdin: %w", err)
		}
		prompt = strings.TrimSpace(string(data))
	}
	if prompt == "" {
		return client.Request{}, &usageError{"empty prompt: give it as arguments or on stdin"}
	}
	if generate {
		return client.Request{Generate: &ollama.GenerateRequest{Model: model, Prompt: prompt, System: system}}, nil
	}
	var msgs []ollama.Message
	if system != "" {
		msgs = append(msgs, ollama.Message{Role: "system", Content: system})
	}
	msgs = append(msgs, ollama.Message{Role: "user", Content: prompt})
	return client.Request{Chat: &ollama.ChatRequest{Model: model, Messages: msgs}}, nil
}

// tokenPrinter writes the text of streamed chunks. The stream ends with the
// whole result, which repeats the chunks: it is printed only when no chunk
// was (the job had finished before the stream began).
type tokenPrinter struct {
	w       io.Writer
	printed bool
	done    bool
}

func (p *tokenPrinter) line(line json.RawMessage) error {
	if p.done {
		return nil
	}
	var ch struct {
		Message  *ollama.Message `json:"message"`
		Response string          `json:"response"`
		Done     bool            `json:"done"`
		Restart  bool            `json:"restart"`
	}
	if json.Unmarshal(line, &ch) != nil {
		return nil
	}
	if ch.Restart { // the attempt failed; the retry's answer follows
		p.printed = false
		_, err := io.WriteString(p.w, "\n[attempt failed; retrying]\n")
		return err
	}
	text := ch.Response
	if ch.Message != nil {
		text = ch.Message.Content
	}
	if ch.Done {
		p.done = true
		if p.printed {
			return nil
		}
	}
	if text != "" {
		p.printed = true
		_, err := io.WriteString(p.w, text)
		return err
	}
	return nil
}

// end finishes the answer's line.
func (p *tokenPrinter) end() {
	if p.printed {
		fmt.Fprintln(p.w)
	}
}
