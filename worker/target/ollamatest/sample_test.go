package ollamatest

import (
	"bufio"
	"bytes"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// samplesDir holds raw answers captured from a real Ollama v0.17.4 (copied
// from shared/real-ollama/samples; re-run its probe.sh to refresh them;
// the v1-* ones come from testdata/probe-v1.sh).
const samplesDir = "testdata/samples"

// sample is one capture: "### curl ..." then the status line, headers, a
// blank line and the body.
type sample struct {
	Command string
	Status  int
	Header  http.Header
	Body    []byte
}

func readSample(t testing.TB, name string) sample {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(samplesDir, name+".txt"))
	if err != nil {
		t.Fatalf("sample %s: %v", name, err)
	}
	rd := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw)))
	first, err := rd.ReadLine()
	if err != nil || !strings.HasPrefix(first, "### ") {
		t.Fatalf("sample %s: want ### first line, got %q (%v)", name, first, err)
	}
	status, err := rd.ReadLine()
	if err != nil {
		t.Fatalf("sample %s: status line: %v", name, err)
	}
	parts := strings.SplitN(status, " ", 3)
	code, err := strconv.Atoi(parts[1])
	if err != nil {
		t.Fatalf("sample %s: status line %q: %v", name, status, err)
	}
	h, err := rd.ReadMIMEHeader()
	if err != nil {
		t.Fatalf("sample %s: headers: %v", name, err)
	}
	body, _ := readAll(rd.R)
	if n, err := strconv.Atoi(h.Get("Content-Length")); err == nil && n <= len(body) {
		body = body[:n]
	}
	return sample{Command: strings.TrimPrefix(first, "### "), Status: code, Header: http.Header(h), Body: body}
}

func readAll(r *bufio.Reader) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(r)
	return b.Bytes(), err
}

// curlRequest turns a sample's curl command into a request on base; ok is
// false for the hand-written commands that are not curl lines.
func curlRequest(t testing.TB, cmd, base string) (*http.Request, bool) {
	t.Helper()
	if !strings.HasPrefix(cmd, "curl ") {
		return nil, false
	}
	cmd = strings.TrimPrefix(cmd, "curl ")
	var body *string
	if i := strings.Index(cmd, " -d "); i >= 0 {
		b := cmd[i+len(" -d "):]
		body, cmd = &b, cmd[:i]
	}
	method, url := http.MethodGet, ""
	header := http.Header{}
	toks := strings.Fields(cmd)
	for i := 0; i < len(toks); i++ {
		switch tok := toks[i]; tok {
		case "-X":
			method, i = toks[i+1], i+1
		case "-I":
			method = http.MethodHead
		case "--max-time":
			i++
		case "-H":
			header.Set(strings.TrimSuffix(toks[i+1], ":"), toks[i+2])
			i += 2
		default:
			url = tok
		}
	}
	if body != nil && method == http.MethodGet {
		method = http.MethodPost
	}
	path := url[strings.Index(url[len("http://"):], "/")+len("http://"):]
	var rd *strings.Reader
	if body != nil {
		rd = strings.NewReader(*body)
	} else {
		rd = strings.NewReader("")
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatalf("curl %q: %v", cmd, err)
	}
	req.Header = header
	return req, true
}

func TestReadSample(t *testing.T) {
	s := readSample(t, "err-chat-get-method")
	if s.Status != http.StatusMethodNotAllowed || s.Header.Get("Allow") != "POST" || string(s.Body) != "405 method not allowed" {
		t.Fatalf("parsed %+v", s)
	}
	req, ok := curlRequest(t, s.Command, "http://x")
	if !ok || req.Method != http.MethodGet || req.URL.String() != "http://x/api/chat" {
		t.Fatalf("curl request %v %v", req.Method, req.URL)
	}
	s = readSample(t, "v1-embeddings")
	req, _ = curlRequest(t, s.Command, "http://x")
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("curl request %v %v", req.Method, req.Header)
	}
}
