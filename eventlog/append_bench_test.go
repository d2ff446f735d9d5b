package eventlog

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
)

// BenchmarkDurableAppend measures synced appends on the real disk with 1, 8
// and 64 concurrent appenders: events/s, p50/p99 latency, and fsyncs (commit
// groups) per event, which shows the group commit at work.
func BenchmarkDurableAppend(b *testing.B) {
	for _, appenders := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("appenders=%d", appenders), func(b *testing.B) {
			l, err := Open(Config{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			rec := submit(ulid.Make(), "tiny-a")
			lat := make([][]time.Duration, appenders)
			before := l.Stats()
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for w := range appenders {
				n := b.N / appenders
				if w < b.N%appenders {
					n++
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range n {
						t0 := time.Now()
						if _, err := l.Append(context.Background(), rec); err != nil {
							b.Error(err)
							return
						}
						lat[w] = append(lat[w], time.Since(t0))
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			all := slices.Concat(lat...)
			slices.Sort(all)
			st := l.Stats()
			events, commits := st.Events-before.Events, st.Commits-before.Commits
			b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(commits)/float64(max(events, 1)), "fsyncs/event")
			b.ReportMetric(float64(pct(all, 50).Microseconds()), "p50-µs")
			b.ReportMetric(float64(pct(all, 99).Microseconds()), "p99-µs")
		})
	}
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[(len(sorted)-1)*p/100]
}
