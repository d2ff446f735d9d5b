//go:build browser

package browser

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

const token = "browser-secret-token"

// TestTokenIsAskedOnceAndKeptInTheTab: with auth on, the page asks for the
// token, keeps it in sessionStorage (a reload does not ask again), and
// never puts it in the URL or the document.
func TestTokenIsAskedOnceAndKeptInTheTab(t *testing.T) {
	d := startDaemon(t, token)
	tb := open(t, d)
	hidden := eval[bool](tb, `document.querySelector("#app").hidden`)
	if !hidden {
		t.Fatal("the dashboard showed before a token was given")
	}
	tb.login()
	stored := eval[string](tb, `sessionStorage.getItem("foreman.token")`)
	url := eval[string](tb, `location.href`)
	html := eval[string](tb, `document.documentElement.outerHTML`)
	if stored != token {
		t.Fatalf("sessionStorage has %q", stored)
	}
	if strings.Contains(url, token) || strings.Contains(html, token) {
		t.Fatalf("the token is in the URL (%s) or the document", url)
	}
	tb.run(chromedp.Reload())
	tb.ready() // no form this time: the tab kept the token
	hidden = eval[bool](tb, `document.querySelector("#login").hidden`)
	if !hidden {
		t.Fatal("the token form showed again after a reload")
	}
	tb.checkConsole()
}

// TestWrongTokenIsRefusedOnThePage: a wrong token brings the form back with
// the daemon's message, and nothing is kept.
func TestWrongTokenIsRefusedOnThePage(t *testing.T) {
	d := startDaemon(t, token)
	tb := open(t, d)
	tb.run(
		chromedp.WaitVisible(chromedp.CSS(`#login input[name="token"]`)),
		chromedp.SendKeys(chromedp.CSS(`#login input[name="token"]`), "wrong"),
		chromedp.Click(chromedp.CSS(`#login button[type="submit"]`)),
	)
	tb.waitJS(`document.querySelector("#login-error").textContent.includes("invalid bearer token")`, 5*time.Second)
	stored := eval[any](tb, `sessionStorage.getItem("foreman.token")`)
	if stored != nil {
		t.Fatalf("a refused token was kept: %v", stored)
	}
	tb.checkConsole()
}

// TestWorksWithoutTokenWhenAuthIsOff: no form at all.
func TestWorksWithoutTokenWhenAuthIsOff(t *testing.T) {
	d := startDaemon(t, "")
	tb := open(t, d)
	tb.ready()
	id := d.submit(t, chat("tiny-a", "hello"))
	tb.waitJS(rowState(id, "done"), 5*time.Second)
	tb.checkConsole()
}

// TestNewJobAppearsWithinASecondAndChangesStateLive: a job submitted
// through the API shows as a row within 1 s, then working with its output
// streaming in, then done, without a reload.
func TestNewJobAppearsWithinASecondAndChangesStateLive(t *testing.T) {
	d := startDaemon(t, token, ollamatest.WithChunkDelay(25*time.Millisecond))
	gate := d.ollama.Block("tiny-a")
	defer gate.Release()
	tb := open(t, d)
	tb.login()
	navs := eval[int](tb, `performance.getEntriesByType("navigation").length`)

	id := d.submit(t, chat("tiny-a", "tell me a story", `"options":{"num_predict":60}`))
	tb.waitJS(fmt.Sprintf(`document.querySelector(%q) !== null`, row(id)), time.Second)

	<-gate.Arrived() // the worker is running it; Ollama holds the answer
	tb.waitJS(rowState(id, "working"), 2*time.Second)
	tb.waitJS(fmt.Sprintf(`document.querySelector("#running [data-job-id='%s']") !== null`, id), 2*time.Second)
	gate.Release()
	// The first tokens show in the running panel while the job runs.
	tb.waitJS(`document.querySelector("#output").textContent.length > 0`, 5*time.Second)
	tb.waitJS(rowState(id, "done"), 10*time.Second)
	// The numbers follow: one job ended, one wait measured.
	tb.waitJS(`document.querySelector("#stat-jpm").textContent === "1.0" && document.querySelector("#stat-wait").textContent !== "–"`, 2*time.Second)

	navsAfter := eval[int](tb, `performance.getEntriesByType("navigation").length`)
	reloaded := eval[bool](tb, `performance.getEntriesByType("navigation")[0].type === "reload"`)
	if navsAfter != navs || reloaded {
		t.Fatal("the page reloaded")
	}
	tb.checkConsole()
}

// TestOpenAIStreamShowsAsText: a streamed /v1/chat/completions call is a
// job like the others; its chunks (OpenAI's deltas) show in the running
// panel as the text they carry, and its end ("[DONE]") is no error.
func TestOpenAIStreamShowsAsText(t *testing.T) {
	d := startDaemon(t, token, ollamatest.WithChunkDelay(30*time.Millisecond))
	tb := open(t, d)
	tb.login()
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("POST", d.url+"/v1/chat/completions",
			strings.NewReader(`{"model":"tiny-a","stream":true,"max_tokens":60,"messages":[{"role":"user","content":"stream to me"}]}`))
		req.Header.Set("Authorization", "Bearer "+d.token)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		done <- err
	}()
	tb.waitJS(`document.querySelector("#output").textContent.length > 20`, 5*time.Second)
	out := eval[string](tb, `document.querySelector("#output").textContent`)
	if strings.Contains(out, "data:") || strings.Contains(out, "{") {
		t.Fatalf("output shows frames, not text: %q", out)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !eval[bool](tb, `document.querySelector("#toast").hidden`) {
		t.Fatalf("a toast: %q", eval[string](tb, `document.querySelector("#toast").textContent`))
	}
	tb.checkConsole()
}

// TestCancelAQueuedJobFromItsButton: the row's cancel button sends DELETE
// /jobs/{id}; the row turns cancelled, and so does the job.
func TestCancelAQueuedJobFromItsButton(t *testing.T) {
	d := startDaemon(t, token)
	gate := d.ollama.Block("tiny-a")
	defer gate.Release()
	tb := open(t, d)
	tb.login()
	running := d.submit(t, chat("tiny-a", "first"))
	<-gate.Arrived()
	queued := d.submit(t, chat("tiny-a", "second"))
	tb.waitJS(rowState(queued, "queued"), 2*time.Second)
	tb.waitJS(rowState(running, "working"), 2*time.Second)

	buttons := eval[[]string](tb, fmt.Sprintf(`[...document.querySelectorAll("%s button[data-action]")].map(b => b.dataset.action)`, row(queued)))
	if strings.Join(buttons, ",") != "open,cancel" {
		t.Fatalf("a queued row's buttons: %v", buttons)
	}
	// By keyboard: the action is a button, focused and pressed with Enter.
	tb.run(chromedp.Focus(chromedp.CSS(row(queued)+` button[data-action="cancel"]`)), chromedp.KeyEvent("\r"))
	tb.waitJS(rowState(queued, "cancelled"), 2*time.Second)
	if s := d.jobState(t, queued); s != "cancelled" {
		t.Fatalf("job %s is %s after the click", queued, s)
	}
	// A cancelled job offers retry instead; the running one is untouched.
	tb.waitJS(fmt.Sprintf(`document.querySelector(%q) !== null`, row(queued)+` button[data-action="retry"]`), time.Second)
	tb.waitJS(rowState(running, "working"), time.Second)

	// Retry from the page puts it back in the queue.
	tb.run(chromedp.Click(chromedp.CSS(row(queued) + ` button[data-action="retry"]`)))
	tb.waitJS(rowState(queued, "queued"), 2*time.Second)
	gate.Release()
	tb.waitJS(rowState(queued, "done"), 5*time.Second)
	tb.checkConsole()
}

// TestOpenAJobsTimeline: the detail shows the request, the result and the
// event timeline from /jobs/{id}/events.
func TestOpenAJobsTimeline(t *testing.T) {
	d := startDaemon(t, token)
	tb := open(t, d)
	tb.login()
	id := d.submit(t, chat("tiny-b", "what is a GPU?"))
	tb.waitJS(rowState(id, "done"), 5*time.Second)
	tb.run(chromedp.Click(chromedp.CSS(row(id) + ` button[data-action="open"]`)))
	tb.waitJS(`!document.querySelector("#detail").hidden`, 2*time.Second)
	tb.waitJS(fmt.Sprintf(`document.querySelector("#detail-id").textContent === %q`, id), 2*time.Second)

	types := eval[[]string](tb, `[...document.querySelectorAll("#timeline tr")].map(r => r.dataset.type)`)
	for _, want := range []string{"job.submitted", "job.started", "artifact.stored", "job.succeeded"} {
		if !strings.Contains(strings.Join(types, " "), want) {
			t.Fatalf("timeline %v lacks %s", types, want)
		}
	}
	prompt := eval[string](tb, `document.querySelector("#detail-request pre.prompt").textContent`)
	result := eval[string](tb, `document.querySelector("#detail-result").textContent`)
	if prompt != "what is a GPU?" {
		t.Fatalf("request shown as %q", prompt)
	}
	if result == "" {
		t.Fatal("no result text")
	}
	artifacts := eval[string](tb, `document.querySelector("#detail-artifacts").textContent`)
	if !strings.Contains(artifacts, "application/json") {
		t.Fatalf("artifacts: %q", artifacts)
	}
	// Escape closes it, from the keyboard.
	tb.run(chromedp.KeyEvent("\x1b"))
	tb.waitJS(`document.querySelector("#detail").hidden`, time.Second)
	tb.checkConsole()
}

// TestJobDataIsRenderedAsText: a prompt and an error text made of HTML
// show as text; no element is created from them and nothing runs.
func TestJobDataIsRenderedAsText(t *testing.T) {
	const xss = `<img src=x onerror=alert(1)>`
	const xssErr = `<img src=y onerror=alert(2)><script>alert(3)</script>`
	d := startDaemon(t, token)
	tb := open(t, d)
	tb.login()
	d.ollama.FailNext(1, ollamatest.HTTPFault(http.StatusBadRequest, xssErr))
	id := d.submit(t, chat("tiny-a", xss))
	tb.waitJS(rowState(id, "failed"), 5*time.Second)

	errCell := eval[string](tb, fmt.Sprintf(`document.querySelector(%q).textContent`, row(id)+" td.err"))
	if !strings.Contains(errCell, "<img src=y") {
		t.Fatalf("error cell %q", errCell)
	}
	tb.run(chromedp.Click(chromedp.CSS(row(id) + ` button[data-action="open"]`)))
	tb.waitJS(fmt.Sprintf(`document.querySelector("#detail-id").textContent === %q`, id), 2*time.Second)
	prompt := eval[string](tb, `document.querySelector("#detail-request pre.prompt").textContent`)
	if prompt != xss {
		t.Fatalf("prompt shown as %q, want the text %q", prompt, xss)
	}
	imgs := eval[int](tb, `document.querySelectorAll("main img").length`)
	scripts := eval[int](tb, `document.querySelectorAll("main script").length`)
	if imgs != 0 || scripts != 0 {
		t.Fatalf("job data became elements: %d img, %d script", imgs, scripts)
	}
	field := eval[string](tb, `document.querySelector('#detail-fields [data-field="error"]').textContent`)
	if !strings.Contains(field, xssErr) {
		t.Fatalf("error field %q", field)
	}
	tb.checkConsole() // an alert() would be listed here
}

// TestInlineScriptIsBlockedByCSP: the policy is enforced by the browser: a
// script injected inline does not run, and the violation is reported.
func TestInlineScriptIsBlockedByCSP(t *testing.T) {
	d := startDaemon(t, token)
	tb := open(t, d)
	tb.login()
	ran := eval[bool](tb, `(() => {
		const s = document.createElement("script");
		s.textContent = "window.__inlineRan = true";
		document.body.append(s);
		return window.__inlineRan === true;
	})()`)
	if ran {
		t.Fatal("an inline script ran despite the Content-Security-Policy")
	}
	// The report comes through the DevTools protocol, after the script.
	for deadline := time.Now().Add(5 * time.Second); ; {
		if strings.Contains(strings.Join(tb.consoleProblems(), "\n"), "Content Security Policy") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no CSP violation reported: %v", tb.consoleProblems())
		}
		tb.waitJS(`new Promise(r => setTimeout(() => r(true), 20))`, time.Second) // let the event loop turn
	}
}

// TestFiltersAndPaging: the state filter narrows the rows; pages of 25
// move with older/newer.
func TestFiltersAndPaging(t *testing.T) {
	d := startDaemon(t, token)
	gate := d.ollama.Block("tiny-b")
	defer gate.Release()
	tb := open(t, d)
	tb.login()
	var ids []string
	for i := range 30 {
		ids = append(ids, d.submit(t, chat("tiny-b", fmt.Sprintf("job %d", i))))
	}
	// Newest first: the last one on page one, the first ones on page two.
	tb.waitJS(fmt.Sprintf(`document.querySelector(%q) !== null`, row(ids[29])), 2*time.Second)
	tb.waitJS(`document.querySelectorAll("#rows tr").length === 25`, 2*time.Second)
	tb.run(chromedp.Click(chromedp.CSS(`#older`)))
	tb.waitJS(fmt.Sprintf(`document.querySelector(%q) !== null && document.querySelectorAll("#rows tr").length === 5`, row(ids[0])), 2*time.Second)
	tb.run(chromedp.Click(chromedp.CSS(`#newer`)))
	tb.waitJS(fmt.Sprintf(`document.querySelector(%q) !== null`, row(ids[29])), 2*time.Second)

	tb.run(chromedp.SetValue(chromedp.CSS(`#filters select[name="state"]`), "working"),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`document.querySelector("#filters select").dispatchEvent(new Event("change", {bubbles: true}))`)(ctx, t)
			return err
		}))
	tb.waitJS(`document.querySelectorAll("#rows tr").length === 1 && document.querySelector("#rows tr").dataset.state === "working"`, 2*time.Second)
	// The queue panel counts the rest, with positions.
	tb.waitJS(`document.querySelector("#stat-queued").textContent === "29"`, 2*time.Second)
	// "Next up" is the forecast's order: the oldest first (same model and
	// priority), eight of them, numbered from 2 behind the running job.
	tb.waitJS(fmt.Sprintf(`[...document.querySelectorAll("#next li")].map(li => li.querySelector(".pos")?.textContent + " " + li.dataset.jobId).join(",") === %q`,
		fmt.Sprintf("#2 %s,#3 %s,#4 %s,#5 %s,#6 %s,#7 %s,#8 %s,#9 %s", ids[1], ids[2], ids[3], ids[4], ids[5], ids[6], ids[7], ids[8])), 3*time.Second)
	tb.checkConsole()
}

// TestWebhookDeliveriesShowInTheDetail: a job's detail lists each
// delivery's outcome per job event, as the log records them.
func TestWebhookDeliveriesShowInTheDetail(t *testing.T) {
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	d := startDaemon(t, token)
	tb := open(t, d)
	tb.login()
	id := d.submit(t, chat("tiny-a", "hook me", fmt.Sprintf(`"state_webhook_url":%q`, recv.URL+"/hook")))
	tb.waitJS(rowState(id, "done"), 5*time.Second)
	tb.run(chromedp.Click(chromedp.CSS(row(id) + ` button[data-action="open"]`)))
	// The detail follows the job's events: the deliveries show as they land.
	tb.waitJS(`[...document.querySelectorAll('#detail-webhooks [data-webhook="webhook.delivered"]')].some(li => li.textContent.includes("job.succeeded"))`, 10*time.Second)
	text := eval[string](tb, `document.querySelector("#detail-webhooks").textContent`)
	if !strings.Contains(text, recv.URL) || !strings.Contains(text, "HTTP 204") {
		t.Fatalf("webhooks shown as %q", text)
	}
	tb.checkConsole()
}

// TestDegradedTargetShowsWithItsReason: when Ollama stops answering, the
// header says degraded and a banner gives the reason (the page re-reads
// /healthz every 5 s: no event announces it); it clears when Ollama is
// back.
func TestDegradedTargetShowsWithItsReason(t *testing.T) {
	d := startDaemonEnv(t, token, []string{"FOREMAN_POLL_INTERVAL=100ms"})
	tb := open(t, d)
	tb.login()
	tb.waitJS(`document.querySelector("#health").textContent === "healthy" && document.querySelector("#health-reasons").hidden`, 2*time.Second)
	d.ollama.SetDown(true)
	tb.waitJS(`document.querySelector("#health").textContent === "degraded" && !document.querySelector("#health-reasons").hidden`, 8*time.Second)
	reason := eval[string](tb, `document.querySelector("#health-reasons").textContent`)
	if !strings.Contains(reason, "unreachable") {
		t.Fatalf("banner %q", reason)
	}
	d.ollama.SetDown(false)
	tb.waitJS(`document.querySelector("#health").textContent === "healthy" && document.querySelector("#health-reasons").hidden`, 8*time.Second)
	tb.checkConsole()
}

// TestFollowsAcrossADaemonRestart: the live feed says it is cut while
// foreman restarts, reconnects by itself from the next offset, and what
// happened meanwhile shows without a reload.
func TestFollowsAcrossADaemonRestart(t *testing.T) {
	d := startDaemon(t, token)
	tb := open(t, d)
	tb.login()
	before := d.submit(t, chat("tiny-a", "before"))
	tb.waitJS(rowState(before, "done"), 5*time.Second)
	d.stop()
	tb.waitJS(`document.querySelector("#live").textContent === "reconnecting"`, 5*time.Second)
	d.start(t)
	tb.waitJS(`document.querySelector("#live").textContent === "live"`, 15*time.Second)
	after := d.submit(t, chat("tiny-b", "after"))
	tb.waitJS(rowState(after, "done"), 5*time.Second)
	tb.waitJS(rowState(before, "done"), time.Second)
	tb.checkConsole()
}

// TestWorksBehindAPathPrefix: behind a reverse proxy that serves foreman
// under /foreman/, the page reaches the API beside it, not at the root.
func TestWorksBehindAPathPrefix(t *testing.T) {
	d := startDaemon(t, token)
	target, _ := url.Parse(d.url)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1 // streams (GET /events) pass as they come
	front := httptest.NewServer(http.StripPrefix("/foreman", proxy))
	// Closed after the tab (cleanups run last first): Close waits for the
	// page's open GET /events.
	t.Cleanup(front.Close)
	tb := openAt(t, d, front.URL+"/foreman/ui/")
	tb.login()
	id := d.submit(t, chat("tiny-a", "through the proxy"))
	tb.waitJS(rowState(id, "done"), 5*time.Second)
	tb.checkConsole()
}

// TestOneColumnOnAPhone: under 700 px the panels stack.
func TestOneColumnOnAPhone(t *testing.T) {
	d := startDaemon(t, token)
	tb := open(t, d)
	tb.run(chromedp.EmulateViewport(390, 800))
	tb.login()
	cols := eval[string](tb, `getComputedStyle(document.querySelector("main")).gridTemplateColumns`)
	if strings.Count(cols, "px") != 1 {
		t.Fatalf("grid columns at 390px: %q, want one", cols)
	}
	// Dark when the system is.
	light := eval[string](tb, `getComputedStyle(document.body).backgroundColor`)
	if _, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatal(err)
	}
	tb.waitJS(fmt.Sprintf(`getComputedStyle(document.body).backgroundColor !== %q`, light), time.Second)
	dark := eval[string](tb, `getComputedStyle(document.body).backgroundColor`)
	if dark != "rgb(15, 18, 22)" {
		t.Fatalf("background %s in light mode, %s in dark", light, dark)
	}
	tb.checkConsole()
}
