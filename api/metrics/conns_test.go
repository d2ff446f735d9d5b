package metrics

import "testing"

type fakeConns struct {
	open    int
	refused uint64
}

func (f *fakeConns) Open() int       { return f.open }
func (f *fakeConns) Refused() uint64 { return f.refused }

func TestConnectionMetrics(t *testing.T) {
	b := setup(t, nil)
	if v := scrapeHandler(t, b.col).value("foreman_http_connections_open"); v != -1 {
		t.Fatalf("exported before a listener is watched: %v", v)
	}
	l := &fakeConns{open: 3, refused: 7}
	if err := b.col.WatchConns(l); err != nil {
		t.Fatal(err)
	}
	s := scrapeHandler(t, b.col)
	if s.value("foreman_http_connections_open") != 3 || s.value("foreman_http_connections_refused_total") != 7 {
		t.Fatalf("open %v, refused %v", s.value("foreman_http_connections_open"), s.value("foreman_http_connections_refused_total"))
	}
}
