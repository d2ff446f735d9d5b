package eventlog

import (
	"context"
	"errors"
	"fmt"
)

// ErrLost matches every *LossError.
var ErrLost = errors.New("eventlog: acknowledged events are missing")

// LossError says that the log ends before the ack record (acked.go): the
// events From..To were acknowledged and are gone, most likely dropped by
// Pebble as a torn tail of a damaged or truncated WAL.
type LossError struct {
	From, To uint64
}

func (e *LossError) Error() string {
	return fmt.Sprintf("eventlog: events %d..%d (%d) were acknowledged but the log ends at %d (a damaged or truncated WAL?)",
		e.From, e.To, e.To-e.From+1, e.From-1)
}

// Is makes errors.Is(err, ErrLost) true for any *LossError.
func (e *LossError) Is(target error) bool { return target == ErrLost }

// Loss is the loss found at Open, when the log was opened read-only or by
// RepairLoss; nil when the log holds everything acknowledged. A writable
// Open refuses a log with a loss.
func (l *Log) Loss() *LossError { return l.loss }

// LogLost marks an offset whose acknowledged event was lost; see RepairLoss.
const LogLost Type = "log.lost"

// Lost is the payload of log.lost (under the zero job id): the whole range
// lost, repeated at each of its offsets.
type Lost struct {
	From uint64 `msgpack:"from"`
	To   uint64 `msgpack:"to"`
	By   string `msgpack:"by,omitempty"`
}

// lostChunk bounds the log.lost events of one append.
const lostChunk = 1024

// RepairLoss accepts a loss explicitly: it opens the log in cfg.Dir despite
// the loss and fills every lost offset with a log.lost event naming the
// range, so that offsets are never reused for other events, consumers
// that saw the lost ones skip them, and history shows the gap. It returns
// the loss repaired, nil when there was none. The ack record is only
// raised past the range once it is filled, so a crash midway is noticed
// again at the next Open.
func RepairLoss(ctx context.Context, cfg Config, by string) (*LossError, error) {
	cfg.acceptLoss = true
	l, err := Open(cfg)
	if err != nil {
		return nil, err
	}
	loss := l.Loss()
	if loss == nil {
		return nil, l.Close()
	}
	for from := loss.From; from <= loss.To; from += lostChunk {
		recs := make([]Record, min(lostChunk, loss.To-from+1))
		for i := range recs {
			recs[i] = Record{Type: LogLost, Payload: &Lost{From: loss.From, To: loss.To, By: by}}
		}
		if _, err := l.Append(ctx, recs...); err != nil {
			l.Close()
			return nil, fmt.Errorf("repair: record the loss: %w", err)
		}
	}
	if err := l.Close(); err != nil {
		return nil, err
	}
	return loss, nil
}
