package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/foreman-dev/foreman/client"
)

// DefaultURL is where the client commands look for the daemon when
// FOREMAN_URL is not set: the default FOREMAN_LISTEN.
const DefaultURL = "http://127.0.0.1:8080"

// remote holds what every client command shares: the daemon's address and
// token (FOREMAN_URL, FOREMAN_TOKEN, or flags) and the output format.
type remote struct {
	m     *Main
	fs    *flag.FlagSet
	url   string
	token string
	json  bool
}

// newRemote makes the flag set of a client command; usage is its
// synopsis and description.
func (m *Main) newRemote(name, usage string) *remote {
	r := &remote{m: m, fs: flag.NewFlagSet("foreman "+name, flag.ContinueOnError)}
	r.fs.SetOutput(m.Stderr)
	r.fs.StringVar(&r.url, "url", envOr(m.Getenv, "FOREMAN_URL", DefaultURL), "daemon address, or several separated by commas: a fleet (FOREMAN_URL)")
	r.fs.StringVar(&r.token, "token", m.Getenv("FOREMAN_TOKEN"), "bearer token (FOREMAN_TOKEN)")
	r.fs.BoolVar(&r.json, "json", false, "print JSON instead of text")
	r.fs.Usage = func() {
		fmt.Fprintf(r.fs.Output(), "Usage: foreman %s\n\nFlags:\n", usage)
		r.fs.PrintDefaults()
	}
	return r
}

// parse parses flags wherever they are among the arguments (foreman job ID
// --json as well as foreman job --json ID) and returns the positional ones;
// want, when ≥ 0, is their exact count.
func (r *remote) parse(args []string, want int) ([]string, error) {
	var pos []string
	for {
		if err := r.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err.Error()} // the flag package printed the usage
		}
		args = r.fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	if want >= 0 && len(pos) != want {
		r.fs.Usage()
		return nil, &usageError{fmt.Sprintf("%s takes %d argument(s), got %d", r.fs.Name(), want, len(pos))}
	}
	return pos, nil
}

// urls are the daemons FOREMAN_URL (or --url) names: one, or a fleet
// ("http://a:8080,http://b:8080").
func (r *remote) urls() []string {
	var out []string
	for _, u := range strings.Split(r.url, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	if len(out) == 0 {
		return []string{DefaultURL}
	}
	return out
}

// isFleet: FOREMAN_URL names several daemons.
func (r *remote) isFleet() bool { return len(r.urls()) > 1 }

func (r *remote) options(opts []client.Option) []client.Option {
	return append([]client.Option{client.WithToken(r.token), client.WithPolling(), client.WithPollInterval(time.Second)}, opts...)
}

// client connects to the (first) daemon; it polls (the CLI streams or
// asks itself, it never needs a webhook receiver).
func (r *remote) client(opts ...client.Option) *client.Client {
	return client.New(r.urls()[0], r.options(opts)...)
}

// fleet is the daemons FOREMAN_URL names, as one.
func (r *remote) fleet(opts ...client.Option) *client.Fleet {
	return client.NewFleet(r.urls(), r.options(opts)...)
}

// clientFor connects to the daemon that holds job id: with a fleet, the
// one that answers for it.
func (r *remote) clientFor(ctx context.Context, id string, opts ...client.Option) (*client.Client, error) {
	if !r.isFleet() {
		return r.client(opts...), nil
	}
	return r.fleet(opts...).Locate(ctx, id)
}

// partial reports the daemons of a fleet that did not answer, on stderr:
// the others' answer is still printed. Other errors are returned.
func (r *remote) partial(err error) error {
	var pe *client.PartialError
	if !errors.As(err, &pe) {
		return err
	}
	for _, u := range slices.Sorted(maps.Keys(pe.Daemons)) {
		fmt.Fprintf(r.m.Stderr, "foreman: %s did not answer: %v\n", u, r.explain(pe.Daemons[u]))
	}
	return nil
}

// explain turns the errors a person meets most into advice.
func (r *remote) explain(err error) error {
	var ue *client.UnreachableError
	var ae *client.APIError
	switch {
	case errors.As(err, &ue):
		return fmt.Errorf("cannot reach the foreman daemon at %s: is `foreman serve` running there? (set FOREMAN_URL or --url): %w", ue.URL, ue.Err)
	case errors.As(err, &ae) && ae.Status == 401 && r.token == "":
		return fmt.Errorf("the daemon at %s requires a bearer token: set FOREMAN_TOKEN (or --token): %w", r.url, err)
	case errors.As(err, &ae) && ae.Status == 401:
		return fmt.Errorf("the daemon at %s refused the token: check FOREMAN_TOKEN against the daemon's FOREMAN_TOKEN/FOREMAN_TOKENS: %w", r.url, err)
	}
	return err
}

// printJSON writes v indented, one document per call.
func (r *remote) printJSON(v any) error {
	enc := json.NewEncoder(r.m.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table starts a tab-aligned table with the given header; Flush it.
func table(w io.Writer, header ...string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	return tw
}

// age is a short human duration since t ("3s", "5m", "2h", "4d").
func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// short cuts s to n runes, on one line.
func short(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
