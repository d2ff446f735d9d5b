package eventlog

import (
	"bytes"
	"io"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/oklog/ulid/v2"
)

// A file larger than a part is stored as parts and read back whole.
func TestFileWriterAndReader(t *testing.T) {
	l := openMem(t, vfs.NewMem())
	defer l.Close()
	id := ulid.Make()
	data := bytes.Repeat([]byte("0123456789abcdef"), FilePartSize/16*2+100)
	w := l.NewFileWriter(id)
	for p := data; len(p) > 0; {
		k := min(len(p), 1000003)
		if _, err := w.Write(p[:k]); err != nil {
			t.Fatal(err)
		}
		p = p[k:]
	}
	up, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if up.Parts != 3 || up.Bytes != int64(len(data)) {
		t.Fatalf("stored %d parts, %d bytes", up.Parts, up.Bytes)
	}
	got, err := io.ReadAll(l.NewFileReader(id, up.Parts))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes (want %d): %v", len(got), len(data), err)
	}
	if _, err := io.ReadAll(l.NewFileReader(id, up.Parts+1)); err == nil {
		t.Fatal("a missing part must be an error")
	}
}
