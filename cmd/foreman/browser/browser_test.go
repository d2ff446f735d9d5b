//go:build browser

// Package browser drives the dashboard (/ui/) in headless Chromium with
// chromedp, against the real foreman binary in front of the fake Ollama
// (worker/target/ollamatest). It needs a Chromium: Debian's package
// (apt-get install chromium), or the binary named by FOREMAN_CHROMIUM.
//
//	go test -tags browser -count=1 ./cmd/foreman/browser/
//
// Waits are on DOM conditions polled with a deadline (chromedp.Poll), never
// on sleeps.
package browser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

var (
	foremanBin string
	browserCtx context.Context // the one Chromium of the run; each test opens tabs in it
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	bin, err := buildForeman()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	foremanBin = bin
	chromium, err := findChromium()
	if err != nil {
		fmt.Fprintln(os.Stderr, "browser suite:", err)
		return 1
	}
	dataDir, err := os.MkdirTemp("", "foreman-browser-profile-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dataDir)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(dataDir),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // root in CI containers
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true), // the screenshot is the page, edge to edge
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		fmt.Fprintln(os.Stderr, "browser suite: start chromium:", err)
		return 1
	}
	browserCtx = bctx
	return m.Run()
}

func findChromium() (string, error) {
	if p := os.Getenv("FOREMAN_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no chromium on PATH: apt-get install -y chromium, or set FOREMAN_CHROMIUM")
}

// tab is one browser tab on the dashboard, with what its console said.
type tab struct {
	t   *testing.T
	ctx context.Context
	d   *daemon

	mu       sync.Mutex
	problems []string // exceptions, console errors, CSP violations
	dialogs  []string // alert(), confirm(): something ran that should not
}

// open opens a tab on d's /ui/ and records every console problem. Unless
// the test expects some, it fails the test on any when it ends.
func open(t *testing.T, d *daemon) *tab {
	t.Helper()
	return openAt(t, d, d.url+"/ui/")
}

// openAt is open on another address of the page (behind a proxy).
func openAt(t *testing.T, d *daemon, url string) *tab {
	t.Helper()
	tb := &tab{t: t, d: d}
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithListener(tb.listen))
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // opens the tab, without a deadline (see chromedp.Run)
		t.Fatal(err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 30*time.Second)
	t.Cleanup(cancelTimeout)
	tb.ctx = ctx
	tb.run(chromedp.Navigate(url))
	return tb
}

func (tb *tab) listen(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		x := ev.ExceptionDetails
		msg := x.Text
		if x.Exception != nil {
			msg += " " + x.Exception.Description
		}
		tb.problems = append(tb.problems, "exception: "+msg)
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			tb.problems = append(tb.problems, "console."+string(ev.Type)+": "+strings.Join(args, " "))
		}
	case *cdplog.EventEntryAdded:
		// Network entries are the API's own answers (the 401 that asks
		// for a token, a 409 for a job that ended first): the page shows
		// them itself. Everything else at error level is a defect.
		if ev.Entry.Level == cdplog.EntryLevelError && ev.Entry.Source != cdplog.EntrySourceNetwork {
			tb.problems = append(tb.problems, string(ev.Entry.Source)+": "+ev.Entry.Text)
		}
	case *page.EventJavascriptDialogOpening:
		tb.dialogs = append(tb.dialogs, string(ev.Type)+": "+ev.Message)
		go chromedp.Call(tb.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
	}
}

// consoleProblems is what the console reported so far.
func (tb *tab) consoleProblems() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append(append([]string(nil), tb.problems...), tb.dialogs...)
}

// checkConsole fails the test if the console reported any problem.
func (tb *tab) checkConsole() {
	tb.t.Helper()
	if p := tb.consoleProblems(); len(p) > 0 {
		tb.t.Errorf("console problems:\n  %s", strings.Join(p, "\n  "))
	}
}

func (tb *tab) run(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.t.Fatalf("chromedp: %v\nconsole: %v", err, tb.consoleProblems())
	}
}

// waitJS polls the JavaScript condition until it is true, failing the test
// after within.
func (tb *tab) waitJS(cond string, within time.Duration) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, within)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		dump, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.querySelector("main")?.innerText ?? ""`))
		tb.t.Fatalf("not true within %v: %s (%v)\npage text:\n%s\nconsole: %v", within, cond, err, tail(dump, 2000), tb.consoleProblems())
	}
}

// eval runs expr and returns its value.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// login enters the token into the form and waits for the dashboard.
func (tb *tab) login() {
	tb.t.Helper()
	tb.run(
		chromedp.WaitVisible(chromedp.CSS(`#login input[name="token"]`)),
		chromedp.SendKeys(chromedp.CSS(`#login input[name="token"]`), tb.d.token),
		// A click, as a person does: chromedp.Submit would call
		// form.submit(), which skips the page's handler (and which the
		// CSP's form-action 'none' refuses, so no token reaches a URL).
		chromedp.Click(chromedp.CSS(`#login button[type="submit"]`)),
	)
	tb.ready()
}

// ready waits until the dashboard shows and follows the log.
func (tb *tab) ready() {
	tb.t.Helper()
	tb.run(chromedp.WaitVisible(chromedp.CSS(`#app`)))
	tb.waitJS(`document.querySelector("#live").textContent === "live"`, 10*time.Second)
}

// row is the CSS selector of a job's row in the jobs table.
func row(id string) string { return fmt.Sprintf(`#rows tr[data-job-id='%s']`, id) }

// rowState is a JavaScript condition: the job's row shows state.
func rowState(id, state string) string {
	return fmt.Sprintf(`document.querySelector(%q)?.dataset.state === %q`, row(id), state)
}
