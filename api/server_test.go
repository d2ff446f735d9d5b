package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/julienschmidt/httprouter"
)

type fakeHealth bool

func (f fakeHealth) Degraded() bool { return bool(f) }

type fakeBackup struct{ dir string }

func (f *fakeBackup) Backup(_ context.Context, dir string) error {
	if strings.HasSuffix(dir, "exists") {
		return errors.New("destination exists")
	}
	f.dir = dir
	return nil
}

func do(t testing.TB, h http.Handler, method, path, token, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func errorOf(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
		t.Fatalf("not an Ollama error body: %q", w.Body.String())
	}
	return e.Error
}

func TestHealthzIsOpenAndReportsDegraded(t *testing.T) {
	for _, degraded := range []bool{false, true} {
		s := New(Config{Tokens: map[string]string{"a": "secret"}, Health: fakeHealth(degraded)})
		w := do(t, s, "GET", "/healthz", "", "")
		var got struct {
			Status   string `json:"status"`
			Degraded bool   `json:"degraded"`
		}
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &got) != nil || got.Status != "ok" || got.Degraded != degraded {
			t.Fatalf("healthz %d %q", w.Code, w.Body.String())
		}
	}
}

func TestAuth(t *testing.T) {
	fb := &fakeBackup{}
	bk := t.TempDir()
	s := New(Config{Tokens: map[string]string{"ci": "tok-ci", "ops": "tok-ops"}, Backup: fb, BackupDir: bk})
	body := `{"name":"b1"}`
	if w := do(t, s, "POST", "/admin/backup", "", body); w.Code != 401 || !strings.Contains(errorOf(t, w), "missing") {
		t.Fatalf("no token: %d %s", w.Code, w.Body.String())
	}
	if w := do(t, s, "POST", "/admin/backup", "wrong", body); w.Code != 401 || !strings.Contains(errorOf(t, w), "invalid") {
		t.Fatalf("bad token: %d %s", w.Code, w.Body.String())
	}
	if w := do(t, s, "POST", "/admin/backup", "tok-ops", body); w.Code != 200 || fb.dir != filepath.Join(bk, "b1") {
		t.Fatalf("good token: %d %s", w.Code, w.Body.String())
	}
}

func TestCallerNamesTheToken(t *testing.T) {
	a := newAuth(map[string]string{"ci": "tok-ci", "ops": "tok-ops"})
	var got string
	h := a.require(func(_ http.ResponseWriter, r *http.Request, _ httprouter.Params) { got = Caller(r.Context()) })
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer tok-ci")
	h(httptest.NewRecorder(), r, nil)
	if got != "ci" {
		t.Fatalf("caller %q", got)
	}
}
