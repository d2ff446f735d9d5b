package worker

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/foreman-dev/foreman/projections"
)

// simModel is a model's cost in the simulation, from the real Ollama kit
// with OLLAMA_MAX_LOADED_MODELS=1 (../shared/real-ollama/README.md): a swap
// to a tiny model costs ~285 ms, to tiny-big ~520 ms; scaled ×10 for
// production-sized models, where a swap is seconds.
type simModel struct {
	name     string
	run, swp time.Duration
}

var simModels = []simModel{
	{"tiny-a", 400 * time.Millisecond, 2850 * time.Millisecond},
	{"tiny-b", 600 * time.Millisecond, 2850 * time.Millisecond},
	{"tiny-big", 1500 * time.Millisecond, 5200 * time.Millisecond},
}

// simResult is what one policy did with one workload.
type simResult struct {
	swaps             int
	makespan          time.Duration
	meanWait, maxWait time.Duration
}

// simulate runs n jobs (models drawn at random, all queued at t0, as a
// batch submitted by several programs at once) through the real Scheduler
// with a simulated clock, one at a time, as the worker does.
func simulate(policy Policy, n int, seed uint64) simResult {
	rng := rand.New(rand.NewPCG(seed, 0))
	costs := map[string]simModel{}
	var queue []projections.Job
	for i := range n {
		m := simModels[rng.IntN(len(simModels))]
		costs[m.name] = m
		queue = append(queue, projections.Job{ID: ulid.ULID{byte(i >> 8), byte(i)}, Model: m.name, State: projections.Queued,
			QueueOffset: uint64(i + 1), QueuedAt: t0.UnixNano()})
	}
	s := NewScheduler(policy)
	now, loaded := t0, ""
	var res simResult
	var total time.Duration
	for len(queue) > 0 {
		var l []string
		if loaded != "" {
			l = []string{loaded}
		}
		j, ok, _ := s.Pick(projections.NewQueue(queue...), l, now)
		if !ok {
			panic("nothing runnable")
		}
		queue = slices.DeleteFunc(queue, func(q projections.Job) bool { return q.ID == j.ID })
		wait := now.Sub(t0)
		total += wait
		res.maxWait = max(res.maxWait, wait)
		c := costs[j.Model]
		if j.Model != loaded {
			res.swaps++
			now = now.Add(c.swp)
			loaded = j.Model
		}
		now = now.Add(c.run)
	}
	res.makespan = now.Sub(t0)
	res.meanWait = total / time.Duration(n)
	return res
}

// BenchmarkScheduling compares drain-by-model (default starvation bound)
// with FIFO, Ollama's own order, on the same random interleaved batches:
// model swaps, makespan and waits (simulated seconds).
func BenchmarkScheduling(b *testing.B) {
	for _, n := range []int{30, 300} {
		for _, p := range []struct {
			name   string
			policy Policy
		}{
			{"fifo", Policy{FIFO: true}},
			{"drain", Policy{MaxSkips: DefaultMaxSkips, MaxWait: DefaultMaxWait}},
		} {
			b.Run(fmt.Sprintf("jobs=%d/%s", n, p.name), func(b *testing.B) {
				var sum simResult
				runs := 0
				for b.Loop() {
					r := simulate(p.policy, n, uint64(runs%16))
					sum.swaps += r.swaps
					sum.makespan += r.makespan
					sum.meanWait += r.meanWait
					sum.maxWait += r.maxWait
					runs++
				}
				k := float64(runs)
				b.ReportMetric(float64(sum.swaps)/k, "swaps")
				b.ReportMetric(sum.makespan.Seconds()/k, "makespan-s")
				b.ReportMetric(sum.meanWait.Seconds()/k, "mean-wait-s")
				b.ReportMetric(sum.maxWait.Seconds()/k, "max-wait-s")
			})
		}
	}
}

// TestDrainByModelSwapsLessThanFIFO holds the benchmark's claim on fixed
// seeds: fewer swaps and a shorter makespan, and the starvation bound kept.
func TestDrainByModelSwapsLessThanFIFO(t *testing.T) {
	for seed := range uint64(8) {
		fifo := simulate(Policy{FIFO: true}, 60, seed)
		drain := simulate(Policy{MaxSkips: DefaultMaxSkips, MaxWait: DefaultMaxWait}, 60, seed)
		if drain.swaps >= fifo.swaps || drain.makespan >= fifo.makespan {
			t.Errorf("seed %d: drain %+v vs fifo %+v", seed, drain, fifo)
		}
	}
}

// BenchmarkPick measures one pick and the removal of the picked job from
// a queue projection of depth jobs over three models and two priorities,
// with a model loaded: the worker's cost per job, which must not grow with
// the queue.
func BenchmarkPick(b *testing.B) {
	for _, depth := range []int{1000, 20000, 100000} {
		b.Run(fmt.Sprintf("depth=%d", depth), func(b *testing.B) {
			jobs := make([]projections.Job, depth+b.N)
			for i := range jobs {
				jobs[i] = projections.Job{ID: ulid.ULID{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}, Model: simModels[i%3].name,
					Priority: i % 2, State: projections.Queued, QueueOffset: uint64(i + 1), QueuedAt: t0.UnixNano()}
			}
			q := projections.NewQueue(jobs...)
			s := NewScheduler(Policy{MaxSkips: DefaultMaxSkips, MaxWait: DefaultMaxWait})
			loaded := []string{"tiny-b"}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				e, ok, _ := s.Pick(q, loaded, t0)
				if !ok {
					b.Fatal("nothing to pick")
				}
				q.Remove(e.ID)
			}
		})
	}
}
