//go:build browser

package browser

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/foreman-dev/foreman/worker/target/ollamatest"
)

// TestScreenshot writes the dashboard's picture for the README when
// FOREMAN_UI_SCREENSHOT names the file (docs/screenshot.sh): a daemon with
// jobs done, failed, cancelled and queued for three models, a batch part
// of the way, one job running with its output streaming, and a job's
// detail open.
func TestScreenshot(t *testing.T) {
	out := os.Getenv("FOREMAN_UI_SCREENSHOT")
	if out == "" {
		t.Skip("FOREMAN_UI_SCREENSHOT unset (docs/screenshot.sh sets it)")
	}
	d := startDaemon(t, token, ollamatest.WithChunkDelay(40*time.Millisecond))
	tb := open(t, d)
	tb.login()

	d.ollama.FailNext(1, ollamatest.HTTPFault(http.StatusInternalServerError, "llama runner process has terminated: CUDA error: out of memory"))
	failed := d.submit(t, chat("tiny-big", "Summarise this 300-page contract in one paragraph.", `"options":{"num_predict":8}`))
	tb.waitJS(rowState(failed, "failed"), 10*time.Second)
	var done []string
	for i, p := range []string{"Translate 'good morning' into French.", "List three prime numbers.", "Name a colour."} {
		model := []string{"tiny-a", "tiny-b", "tiny-a"}[i]
		done = append(done, d.submit(t, chat(model, p, `"options":{"num_predict":12}`)))
	}
	tb.waitJS(rowState(done[2], "done"), 20*time.Second)

	// A batch part-way: its lines wait (priority -10) behind what comes next.
	var lines strings.Builder
	for i := range 10 {
		fmt.Fprintf(&lines, `{"custom_id":"doc-%d","method":"POST","url":"/v1/chat/completions","body":{"model":"tiny-b","max_tokens":30,"messages":[{"role":"user","content":"Classify document %d"}]}}`+"\n", i, i)
	}
	var batch struct {
		ID string `json:"id"`
	}
	d.call(t, "POST", "/v1/batches", fmt.Sprintf(`{"input_file_id":%q,"endpoint":"/v1/chat/completions","completion_window":"24h","metadata":{"name":"nightly-classify"}}`,
		d.uploadBatchFile(t, []byte(lines.String()))), http.StatusOK, &batch)
	tb.waitJS(fmt.Sprintf(`document.querySelector("#batches li[data-batch-id='%s'] progress")?.value >= 3`, batch.ID), 20*time.Second)

	running := d.submit(t, chat("tiny-a", "Write a long poem about a GPU that never sleeps.", `"priority":5,"options":{"num_predict":600}`))
	for i := range 5 {
		model := []string{"tiny-b", "tiny-b", "tiny-big", "tiny-a", "tiny-b"}[i]
		d.submit(t, chat(model, fmt.Sprintf("Queued request %d", i+1), fmt.Sprintf(`"priority":%d`, i%2)))
	}
	cancelled := d.submit(t, chat("tiny-big", "Never mind this one."))
	d.call(t, "DELETE", "/jobs/"+cancelled, "", http.StatusAccepted, nil)
	tb.waitJS(rowState(cancelled, "cancelled"), 5*time.Second)
	tb.waitJS(rowState(running, "working"), 5*time.Second)

	tb.run(chromedp.Click(chromedp.CSS(row(done[0]) + ` button[data-action="open"]`)))
	tb.waitJS(`document.querySelectorAll("#timeline tr").length >= 4`, 5*time.Second)
	tb.waitJS(`document.querySelector("#output").textContent.length > 400`, 30*time.Second)
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", out, len(png))
	tb.checkConsole()
}
