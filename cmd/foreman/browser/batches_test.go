//go:build browser

package browser

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"testing"
	"time"
)

// TestBatchesShowWithProgress: a batch created through the OpenAI Batch
// API shows with its status and a progress bar that fills as its lines
// run, live.
func TestBatchesShowWithProgress(t *testing.T) {
	d := startDaemon(t, token)
	gate := d.ollama.Block("tiny-a")
	defer gate.Release()
	tb := open(t, d)
	tb.login()
	tb.waitJS(`!document.querySelector("#batches-panel").hidden`, 5*time.Second)

	var lines bytes.Buffer
	for i := range 3 {
		fmt.Fprintf(&lines, `{"custom_id":"line-%d","method":"POST","url":"/v1/chat/completions","body":{"model":"tiny-a","messages":[{"role":"user","content":"hi %d"}]}}`+"\n", i, i)
	}
	file := d.uploadBatchFile(t, lines.Bytes())
	var batch struct {
		ID string `json:"id"`
	}
	d.call(t, "POST", "/v1/batches", fmt.Sprintf(`{"input_file_id":%q,"endpoint":"/v1/chat/completions","completion_window":"24h"}`, file), http.StatusOK, &batch)
	li := fmt.Sprintf(`#batches li[data-batch-id='%s']`, batch.ID)
	<-gate.Arrived() // the first line runs; Ollama holds it
	tb.waitJS(fmt.Sprintf(`document.querySelector("%s")?.dataset.status === "in_progress" && document.querySelector("%s progress").max === 3 && document.querySelector("%s progress").value === 0`, li, li, li), 5*time.Second)
	gate.Release()
	tb.waitJS(fmt.Sprintf(`document.querySelector("%s")?.dataset.status === "completed" && document.querySelector("%s progress").value === 3`, li, li), 10*time.Second)
	tb.checkConsole()
}

// uploadBatchFile stores a JSONL input through POST /v1/files and returns
// its id.
func (d *daemon) uploadBatchFile(t *testing.T, jsonl []byte) string {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("purpose", "batch")
	fw, _ := mw.CreateFormFile("file", "input.jsonl")
	fw.Write(jsonl)
	mw.Close()
	req, _ := http.NewRequest("POST", d.url+"/v1/files", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+d.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var f struct {
		ID string `json:"id"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &f) != nil {
		t.Fatalf("POST /v1/files: %d %s", resp.StatusCode, raw)
	}
	return f.ID
}
