package projections

import "github.com/foreman-dev/foreman/eventlog"

// Replay folds a job's history, up to and including offset upTo (0: all),
// into its view as it was then. It is how a webhook tells the state after
// an old event. It returns nil if the job did not exist at that point.
func Replay(history []eventlog.Event, upTo uint64) (*Job, error) {
	var j *Job
	for _, e := range history {
		if upTo != 0 && e.Offset > upTo {
			break
		}
		var err error
		if j, err = apply(j, e); err != nil {
			return nil, err
		}
	}
	return j, nil
}
