package server

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// outcome is what the metrics and logs record of one request.
type outcome struct {
	service, action, principal, code string
	status                           int
	// audit is the request's audit record in the making.
	audit *requestAudit
}

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "persona_requests_total",
			Help: "API requests by service, action and HTTP status.",
		}, []string{"service", "action", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "persona_request_duration_seconds",
			Help:    "API request latency by service.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"service"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

func (m *metrics) observe(o *outcome, d time.Duration) {
	m.requests.WithLabelValues(o.service, actionLabel(o.action), strconv.Itoa(o.status)).Inc()
	m.duration.WithLabelValues(o.service).Observe(d.Seconds())
}

// actionLabel is action as a label value: only the actions of the services Persona routes are labels; anything
// else a caller sends (any Action, before or after authentication fails) is "unknown", so that no caller can grow
// the label set, and the memory it costs, without bound.
func actionLabel(action string) string {
	if action == "" {
		return "none"
	}
	if serviceForAction(action) == "" && !jsonOperation(action) {
		return "unknown"
	}
	return action
}
