package eventlog

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/oklog/ulid/v2"
)

// A stored file (the Batch API's input and output files) is a sequence of
// file.part events, each with a blob of at most FilePartSize bytes, and a
// file.uploaded that makes it exist. Neither writing nor reading ever
// holds more than one part.

// FileWriter writes a file's parts as they fill. It is not safe for
// concurrent use.
type FileWriter struct {
	log   *Log
	id    ulid.ULID
	buf   []byte
	parts int
	size  int64
	sum   hash.Hash
	err   error
}

// NewFileWriter starts writing file id's parts. Rewriting the same file id
// (an output file assembled again after a crash) overwrites its parts.
func (l *Log) NewFileWriter(id ulid.ULID) *FileWriter {
	return &FileWriter{log: l, id: id, sum: sha256.New()}
}

// Write buffers p and appends each full part, synced.
func (w *FileWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	for len(p) > 0 {
		if w.buf == nil {
			w.buf = make([]byte, 0, FilePartSize)
		}
		k := min(len(p), FilePartSize-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		if len(w.buf) == FilePartSize {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (w *FileWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	key := FilePartBlob(w.id, w.parts)
	_, err := w.log.Append(context.Background(), Record{Job: w.id, Type: FilePart,
		Payload: &Part{Index: w.parts, Size: len(w.buf), Blob: key}, Blobs: []Blob{{Key: key, Data: w.buf}}})
	if err != nil {
		w.err = fmt.Errorf("store file part %d: %w", w.parts, err)
		return w.err
	}
	w.sum.Write(w.buf)
	w.parts++
	w.size += int64(len(w.buf))
	w.buf = w.buf[:0]
	return nil
}

// Close appends the last part and returns the file's size, part count
// and digest for its file.uploaded (which the caller appends).
func (w *FileWriter) Close() (FileUpload, error) {
	if err := w.flush(); err != nil {
		return FileUpload{}, err
	}
	return FileUpload{Bytes: w.size, Parts: w.parts, SHA256: w.sum.Sum(nil)}, nil
}

// Size is the bytes written so far.
func (w *FileWriter) Size() int64 { return w.size + int64(len(w.buf)) }

// FileReader reads a stored file's parts in order, one at a time.
type FileReader struct {
	blob  func(key string) ([]byte, error)
	id    ulid.ULID
	parts int
	next  int
	cur   []byte
}

// NewFileReader reads file id, stored as parts parts.
func (l *Log) NewFileReader(id ulid.ULID, parts int) *FileReader {
	return &FileReader{blob: l.Blob, id: id, parts: parts}
}

// Read implements io.Reader.
func (r *FileReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.next >= r.parts {
			return 0, io.EOF
		}
		b, err := r.blob(FilePartBlob(r.id, r.next))
		if errors.Is(err, ErrNotFound) {
			return 0, fmt.Errorf("file %s: part %d is missing: %w", r.id, r.next, err)
		}
		if err != nil {
			return 0, err
		}
		r.cur, r.next = b, r.next+1
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}
