package metrics

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Conns is the HTTP listener's connection count (api.LimitedListener):
// what shows a flood of connections before it shows anywhere else.
type Conns interface {
	Open() int
	Refused() uint64
}

// WatchConns exports the listener's open connections and those refused
// over FOREMAN_MAX_CONNS or FOREMAN_MAX_CONNS_PER_ADDR. The listener is
// bound after the collector is built, hence a method and not a Config
// field.
func (c *Collector) WatchConns(l Conns) error {
	for _, col := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "foreman_http_connections_open",
			Help: "HTTP connections open now.",
		}, func() float64 { return float64(l.Open()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "foreman_http_connections_refused_total",
			Help: "HTTP connections answered 503 and closed at once, over FOREMAN_MAX_CONNS or FOREMAN_MAX_CONNS_PER_ADDR.",
		}, func() float64 { return float64(l.Refused()) }),
	} {
		if err := c.reg.Register(col); err != nil {
			return fmt.Errorf("metrics: register: %w", err)
		}
	}
	return nil
}
