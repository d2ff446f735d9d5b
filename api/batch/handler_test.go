package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/foreman-dev/foreman/eventlog"
	"github.com/foreman-dev/foreman/projections"
)

type bundle struct {
	t   *testing.T
	log *eventlog.Log
	p   *projections.Projections
	srv *httptest.Server
}

func setup(t *testing.T) *bundle {
	t.Helper()
	l, err := eventlog.Open(eventlog.Config{Dir: "data", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := projections.Open(context.Background(), l, l)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); p.Run(ctx) }()
	h, err := New(Config{Log: l, Views: p, MaxFileBytes: 1 << 20, Caller: func(context.Context) string { return "alice" }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); cancel(); wg.Wait(); l.Close() })
	return &bundle{t: t, log: l, p: p, srv: srv}
}

func (b *bundle) upload(purpose, name, data string) (*http.Response, map[string]any) {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", name)
	io.WriteString(fw, data)
	mw.WriteField("purpose", purpose)
	mw.Close()
	return b.do("POST", "/v1/files", mw.FormDataContentType(), &body)
}

func (b *bundle) do(method, path, ct string, body io.Reader) (*http.Response, map[string]any) {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.srv.URL+path, body)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &m); err != nil {
			b.t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	} else {
		m = map[string]any{"raw": string(raw)}
	}
	return resp, m
}

func (b *bundle) json(method, path, body string) (*http.Response, map[string]any) {
	return b.do(method, path, "application/json", strings.NewReader(body))
}

const twoLines = `{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m"}}
{"custom_id":"b","method":"POST","url":"/v1/chat/completions","body":{"model":"m"}}
`

func TestFilesRoundTrip(t *testing.T) {
	b := setup(t)
	resp, f := b.upload("batch", "in.jsonl", twoLines)
	if resp.StatusCode != 200 || f["object"] != "file" || f["purpose"] != "batch" || f["bytes"] != float64(len(twoLines)) || f["filename"] != "in.jsonl" {
		t.Fatalf("upload: %d %v", resp.StatusCode, f)
	}
	id := f["id"].(string)
	if !strings.HasPrefix(id, "file-") {
		t.Fatalf("id %s", id)
	}
	if _, got := b.do("GET", "/v1/files/"+id+"/content", "", nil); got["raw"] != twoLines {
		t.Fatalf("content %q", got["raw"])
	}
	if _, got := b.do("GET", "/v1/files/"+id, "", nil); got["id"] != id {
		t.Fatalf("get %v", got)
	}
	b.upload("batch", "second.jsonl", twoLines)
	_, list := b.do("GET", "/v1/files?limit=1", "", nil)
	if data := list["data"].([]any); len(data) != 1 || list["has_more"] != true || data[0].(map[string]any)["filename"] != "second.jsonl" {
		t.Fatalf("list: %v", list)
	}
	_, list = b.do("GET", "/v1/files?after="+list["last_id"].(string), "", nil)
	if data := list["data"].([]any); len(data) != 1 || list["has_more"] != false || data[0].(map[string]any)["id"] != id {
		t.Fatalf("second page: %v", list)
	}
	if resp, got := b.do("DELETE", "/v1/files/"+id, "", nil); resp.StatusCode != 200 || got["deleted"] != true {
		t.Fatalf("delete: %d %v", resp.StatusCode, got)
	}
	if resp, got := b.do("GET", "/v1/files/"+id, "", nil); resp.StatusCode != 404 || got["error"].(map[string]any)["type"] != "invalid_request_error" {
		t.Fatalf("after delete: %d %v", resp.StatusCode, got)
	}
}

func TestUploadRefusals(t *testing.T) {
	b := setup(t)
	for _, tc := range []struct {
		purpose, data string
		status        int
		param         string
	}{
		{"fine-tune", twoLines, 400, "purpose"},
		{"", twoLines, 400, "purpose"},
		{"batch", strings.Repeat("x", 1<<20+1), 413, "file"},
	} {
		resp, got := b.upload(tc.purpose, "f.jsonl", tc.data)
		e, _ := got["error"].(map[string]any)
		if resp.StatusCode != tc.status || e == nil || e["param"] != tc.param {
			t.Errorf("purpose %q: %d %v", tc.purpose, resp.StatusCode, got)
		}
	}
	if files := b.p.Files(); len(files) != 0 {
		t.Fatalf("refused uploads left files: %+v", files)
	}
}

func TestCreateGetListCancel(t *testing.T) {
	b := setup(t)
	_, f := b.upload("batch", "in.jsonl", twoLines)
	fid := f["id"].(string)
	for _, tc := range []struct{ body, param string }{
		{`{"input_file_id":"` + fid + `","endpoint":"/v1/moderations","completion_window":"24h"}`, "endpoint"},
		{`{"input_file_id":"` + fid + `","endpoint":"/v1/chat/completions","completion_window":"forever"}`, "completion_window"},
		{`{"input_file_id":"file-nope","endpoint":"/v1/chat/completions","completion_window":"24h"}`, "input_file_id"},
		{`{"endpoint":"/v1/chat/completions","completion_window":"24h"}`, "input_file_id"},
	} {
		resp, got := b.json("POST", "/v1/batches", tc.body)
		if e, _ := got["error"].(map[string]any); resp.StatusCode/100 != 4 || e["param"] != tc.param {
			t.Errorf("%s: %d %v", tc.body, resp.StatusCode, got)
		}
	}
	resp, got := b.json("POST", "/v1/batches", `{"input_file_id":"`+fid+`","endpoint":"/v1/chat/completions","completion_window":"24h","metadata":{"k":"v"}}`)
	if resp.StatusCode != 200 || got["status"] != "validating" || got["object"] != "batch" || got["input_file_id"] != fid ||
		got["priority"] != float64(DefaultPriority) || got["metadata"].(map[string]any)["k"] != "v" || got["output_file_id"] != nil {
		t.Fatalf("create: %d %v", resp.StatusCode, got)
	}
	id := got["id"].(string)
	if got["expires_at"].(float64)-got["created_at"].(float64) != 86400 {
		t.Fatalf("expires_at %v", got)
	}
	if _, g := b.json("GET", "/v1/batches/"+id, ""); g["id"] != id {
		t.Fatalf("get: %v", g)
	}
	if _, l := b.json("GET", "/v1/batches", ""); len(l["data"].([]any)) != 1 || l["first_id"] != id {
		t.Fatalf("list: %v", l)
	}
	if resp, g := b.do("DELETE", "/v1/files/"+fid, "", nil); resp.StatusCode != 409 {
		t.Fatalf("deleting a running batch's input: %d %v", resp.StatusCode, g)
	}
	if resp, g := b.json("POST", "/v1/batches/"+id+"/cancel", ""); resp.StatusCode != 200 || g["status"] != "cancelling" || g["cancelling_at"] == nil {
		t.Fatalf("cancel: %d %v", resp.StatusCode, g)
	}
	if resp, _ := b.json("GET", "/v1/batches/batch_nope", ""); resp.StatusCode != 404 {
		t.Fatalf("unknown batch: %d", resp.StatusCode)
	}
}
