package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/foreman-dev/foreman/eventlog/ship"
)

// registerShipMetrics exports the shipper's progress beside the log's
// offsets: foreman_eventlog_last_offset - foreman_ship_offset is how far
// the stream is behind (docs/metrics.md).
func registerShipMetrics(reg prometheus.Registerer, s *ship.Shipper) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "foreman_ship_offset",
			Help: "Offset at or below which every event is in the JetStream stream (the retention watermark of FOREMAN_NATS_URL)."},
			func() float64 { return float64(s.Shipped()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "foreman_ship_connected",
			Help: "1 while the shipper is connected to NATS and shipping, else 0."},
			func() float64 {
				if s.Connected() {
					return 1
				}
				return 0
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "foreman_ship_messages_sent_total",
			Help: "Messages published to the stream since start, re-sends included."},
			func() float64 { return float64(s.Sent()) }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
