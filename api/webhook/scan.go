package webhook

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/foreman-dev/foreman/eventlog"
)

// Scans stop early with these: memory holds Config.Queued deliveries, or
// the receiver being caught up has a full queue again.
var (
	errFull         = errors.New("webhook: deliveries in memory at their bound")
	errReceiverFull = errors.New("webhook: the receiver's queue is full")
)

// replayTask is one webhook.replay_requested being read through.
type replayTask struct {
	offset   uint64 // the request's offset: the tag of its deliveries
	from, to uint64
	job      []byte // only this job's events, when set
	pos      uint64 // next offset to read; past to when read through
}

func (r *replayTask) matches(e eventlog.Event) bool {
	return delivered(e.Type) && (len(r.job) != 16 || string(e.Job[:]) == string(r.job))
}

// scanner reads the log into the receivers' queues, within the bounds of
// the config. Only Run's goroutine uses it.
type scanner struct {
	d      *Dispatcher
	seen   uint64 // the main read has reached this offset
	oldest uint64 // events up to here were in the log before Run: they may have been attempted
	saved  uint64 // the cursor last saved
	// replays being read, by request offset; kept while a receiver is
	// behind on one.
	replays map[uint64]*replayTask
}

// fill reads what there is room for: first the backlogs of receivers
// that were behind, then replays, then new events.
func (s *scanner) fill(ctx context.Context) error {
	err := s.catchUp(ctx)
	for pass := 0; err == nil && pass < 2; pass++ { // a replay met by the main read is started at once
		if err = s.readReplays(ctx); err == nil {
			n := len(s.replays)
			err = s.readMain(ctx)
			if len(s.replays) == n {
				break
			}
		}
	}
	s.dropReadReplays()
	if errors.Is(err, errFull) {
		return nil // a worker kicks the scanner when it makes room
	}
	return err
}

// offer queues the delivery of e under tag (0, or the replay's offset)
// unless it is settled or held already. When only is set, the scan is
// catching up that receiver and skips the others. Otherwise a receiver
// with a full queue is marked behind at e, and its events are left in the
// log until catchUp reads them.
func (s *scanner) offer(e eventlog.Event, tag uint64, check bool, only *receiver) error {
	d := s.d
	url := d.url(e)
	if url == "" {
		return nil
	}
	key := receiverKey(url)
	if only != nil && key != only.key {
		return nil
	}
	d.mu.Lock()
	r := d.receivers[key]
	if r != nil && only == nil {
		if _, behind := r.behind[tag]; behind {
			d.mu.Unlock()
			return nil
		}
	}
	if r != nil && len(r.queue) >= d.perRecv {
		if only != nil {
			d.mu.Unlock()
			return errReceiverFull
		}
		r.behind[tag] = e.Offset
		d.mu.Unlock()
		return nil
	}
	if d.held >= d.cfg.Queued {
		d.mu.Unlock()
		return errFull
	}
	held := d.live[liveKey{e.Offset, tag}]
	d.mu.Unlock()
	if held {
		return nil
	}
	attempts := 0
	if check {
		done, n, err := s.progress(e, tag)
		if err != nil || done {
			return err
		}
		attempts = n
	}
	d.mu.Lock()
	d.addLocked(&delivery{event: e, url: url, attempts: attempts, replay: tag}, d.receiverLocked(key))
	d.mu.Unlock()
	return nil
}

// progress reads from the job's history whether the delivery of e under
// tag is settled, and how many attempts it has had.
func (s *scanner) progress(e eventlog.Event, tag uint64) (done bool, attempts int, err error) {
	hist, err := s.d.cfg.Log.JobEvents(e.Job)
	if errors.Is(err, eventlog.ErrNotFound) {
		return true, 0, nil // expired
	}
	if err != nil {
		return false, 0, err
	}
	for _, h := range hist {
		if h.Offset <= e.Offset || (h.Type != eventlog.WebhookAttempted && h.Type != eventlog.WebhookDelivered && h.Type != eventlog.WebhookGaveUp) {
			continue
		}
		var p eventlog.WebhookAttempt
		if h.Decode(&p) != nil || p.Event != e.Offset || p.Replay != tag {
			continue
		}
		if h.Type != eventlog.WebhookAttempted {
			return true, 0, nil
		}
		attempts = max(attempts, p.Attempt)
	}
	return false, attempts, nil
}

// readMain reads the events appended since the last read.
func (s *scanner) readMain(ctx context.Context) error {
	return s.d.cfg.Log.Scan(ctx, s.seen+1, 0, func(e eventlog.Event) error {
		switch {
		case e.Type == eventlog.WebhookReplay:
			s.addReplay(e)
		case delivered(e.Type):
			if err := s.offer(e, 0, e.Offset <= s.oldest, nil); err != nil {
				return err
			}
		}
		s.seen = e.Offset
		return nil
	})
}

// addReplay starts reading a replay request's range.
func (s *scanner) addReplay(e eventlog.Event) {
	var p eventlog.Replay
	if err := e.Decode(&p); err != nil {
		s.d.cfg.Logger.Warn("ignoring an unreadable replay request", "offset", e.Offset, "err", err)
		return
	}
	to := p.To
	if to == 0 || to >= e.Offset {
		to = e.Offset - 1
	}
	from := max(p.From, s.d.cfg.Log.LowWatermark(), 1)
	s.replays[e.Offset] = &replayTask{offset: e.Offset, from: from, to: to, job: append([]byte(nil), p.Job...), pos: from}
}

// readReplays reads on through each replay's range, oldest request first.
func (s *scanner) readReplays(ctx context.Context) error {
	offs := slices.Sorted(maps.Keys(s.replays))
	for _, off := range offs {
		task := s.replays[off]
		if task.pos > task.to {
			continue
		}
		err := s.d.cfg.Log.Scan(ctx, task.pos, task.to, func(e eventlog.Event) error {
			if task.matches(e) {
				if err := s.offer(e, task.offset, true, nil); err != nil {
					return err
				}
			}
			task.pos = e.Offset + 1
			return nil
		})
		if err != nil {
			return err
		}
		task.pos = task.to + 1
	}
	return nil
}

// catchUp reads the backlog of each receiver that was behind and has room
// again, up to where the read that left it behind has got.
func (s *scanner) catchUp(ctx context.Context) error {
	d := s.d
	type mark struct {
		r        *receiver
		tag, pos uint64
	}
	var marks []mark
	d.mu.Lock()
	for _, r := range d.receivers {
		if len(r.queue) < d.perRecv {
			for tag, pos := range r.behind {
				marks = append(marks, mark{r, tag, pos})
			}
		}
	}
	d.mu.Unlock()
	for _, m := range marks {
		to, task := s.seen, s.replays[m.tag]
		if m.tag != 0 {
			if task == nil { // cannot happen: a task stays while a receiver is behind on it
				to = 0
			} else {
				to = min(task.to, task.pos-1)
			}
		}
		stop := m.pos
		var err error
		if m.pos <= to {
			err = d.cfg.Log.Scan(ctx, m.pos, to, func(e eventlog.Event) error {
				if (m.tag == 0 && delivered(e.Type)) || (task != nil && task.matches(e)) {
					// Events of this receiver after its mark were never
					// queued, unless the log held them before Run began.
					if err := s.offer(e, m.tag, m.tag != 0 || e.Offset <= s.oldest, m.r); err != nil {
						stop = e.Offset
						return err
					}
				}
				return nil
			})
		}
		d.mu.Lock()
		if err == nil {
			delete(m.r.behind, m.tag)
			d.forgetLocked(m.r)
		} else {
			m.r.behind[m.tag] = stop
		}
		d.mu.Unlock()
		switch {
		case err == nil || errors.Is(err, errReceiverFull):
		default:
			return err
		}
	}
	return nil
}

// dropReadReplays forgets the replays read through that no receiver is
// behind on.
func (s *scanner) dropReadReplays() {
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	for off, task := range s.replays {
		if task.pos <= task.to {
			continue
		}
		behind := false
		for _, r := range d.receivers {
			if _, ok := r.behind[off]; ok {
				behind = true
				break
			}
		}
		if !behind {
			delete(s.replays, off)
		}
	}
}

// saveCursor records that everything below what is held, behind or being
// replayed is settled.
func (s *scanner) saveCursor() {
	d := s.d
	c := s.seen
	d.mu.Lock()
	for _, r := range d.receivers {
		for _, t := range r.queue {
			c = min(c, t.event.Offset-1)
		}
		for tag, pos := range r.behind {
			c = min(c, cmpTag(tag, pos))
		}
	}
	for off, task := range s.replays {
		if task.pos <= task.to {
			c = min(c, off-1)
		}
	}
	d.mu.Unlock()
	if c == s.saved {
		return
	}
	if err := d.cfg.Log.SetCursor(CursorName, c); err != nil {
		d.cfg.Logger.Warn("could not save the webhook cursor", "err", err)
		return
	}
	s.saved = c
}

// cmpTag is the cursor a behind mark allows: below the first event left
// in the log, or below the replay request that will read it again.
func cmpTag(tag, pos uint64) uint64 {
	if tag == 0 {
		return pos - 1
	}
	return tag - 1
}
