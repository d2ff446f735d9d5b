//go:build browser

package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// TestArtifactDownloadSendsTheToken: an artifact too large to come inline
// (over 256 KiB, given by URL) is downloaded from the detail with the
// token in a header, never in a URL; the file is the artifact's bytes.
func TestArtifactDownloadSendsTheToken(t *testing.T) {
	d := startDaemon(t, token)
	tb := open(t, d)
	tb.login()
	// A generate answer carries the prompt's token ids (context): a long
	// prompt makes a result over the inline limit without a long run.
	prompt := strings.Repeat("word ", 80000)
	id := d.submit(t, fmt.Sprintf(`{"model":"tiny-a","prompt":%q,"stream":false,"options":{"num_predict":8}}`, prompt))
	tb.waitJS(rowState(id, "done"), 10*time.Second)
	var view struct {
		Artifacts []struct {
			Name string `json:"name"`
			Size int64  `json:"size"`
			URL  string `json:"url"`
		} `json:"artifacts"`
	}
	d.call(t, "GET", "/jobs/"+id, "", http.StatusOK, &view)
	if len(view.Artifacts) != 1 || view.Artifacts[0].URL == "" {
		t.Fatalf("want one artifact given by URL (over 256 KiB): %+v", view.Artifacts)
	}
	want := d.artifact(t, view.Artifacts[0].URL)

	dir := t.TempDir()
	if _, err := chromedp.CallBrowser(tb.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir, EventsEnabled: new(true)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	tb.run(chromedp.Click(chromedp.CSS(row(id) + ` button[data-action="open"]`)))
	tb.waitJS(`document.querySelector('#detail-artifacts button[data-action="download"]') !== null`, 5*time.Second)
	tb.run(chromedp.Click(chromedp.CSS(`#detail-artifacts button[data-action="download"]`)))
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("no finished download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			break
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("the download was cancelled")
		}
	}
	got, err := os.ReadFile(filepath.Join(dir, id+"-"+view.Artifacts[0].Name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("downloaded %d bytes, the artifact has %d", len(got), len(want))
	}
	if !json.Valid(got) {
		t.Fatal("the download is not the JSON result")
	}
	tb.checkConsole()
}

// artifact fetches an artifact's bytes with the token.
func (d *daemon) artifact(t *testing.T, url string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+d.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	return b
}
