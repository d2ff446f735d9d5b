package batch

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxLineBytes bounds one input line; OpenAI's own bound on a request.
const MaxLineBytes = 32 << 20

// inputLine is one line of a batch's input file.
type inputLine struct {
	CustomID string          `json:"custom_id"`
	Method   string          `json:"method"`
	URL      string          `json:"url"`
	Body     json.RawMessage `json:"body"`
}

// lineScanner reads a JSONL file line by line, skipping blank lines; n is
// the physical line number (1-based), ord the ordinal among non-blank ones.
type lineScanner struct {
	r    *bufio.Reader
	n    int
	ord  int
	line []byte
	err  error
}

func newLineScanner(r io.Reader) *lineScanner {
	return &lineScanner{r: bufio.NewReaderSize(r, 1<<20)}
}

var errLineTooLong = errors.New("line too long")

// next advances to the next non-blank line.
func (s *lineScanner) next() bool {
	for s.err == nil {
		line, err := s.read()
		if err != nil && !errors.Is(err, io.EOF) {
			s.err = err
			return false
		}
		if len(line) == 0 && errors.Is(err, io.EOF) {
			s.err = io.EOF
			return false
		}
		s.n++
		if t := bytes.TrimSpace(line); len(t) > 0 {
			s.ord++
			s.line = t
			return true
		}
		if errors.Is(err, io.EOF) {
			s.err = io.EOF
		}
	}
	return false
}

// read returns one line without its newline; a line over MaxLineBytes is
// an error that stops the scan.
func (s *lineScanner) read() ([]byte, error) {
	var buf []byte
	for {
		frag, err := s.r.ReadSlice('\n')
		if len(buf)+len(frag) > MaxLineBytes {
			return nil, fmt.Errorf("line %d: %w (over %d bytes)", s.n+1, errLineTooLong, MaxLineBytes)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			buf = append(buf, frag...)
			continue
		}
		if buf != nil {
			frag = append(buf, frag...)
		}
		return bytes.TrimSuffix(frag, []byte("\n")), err
	}
}

// Err is the scan's error, nil at a clean end.
func (s *lineScanner) Err() error {
	if errors.Is(s.err, io.EOF) {
		return nil
	}
	return s.err
}
