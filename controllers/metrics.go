package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Prometheus metrics, served on the manager's (secure) metrics endpoint.
var (
	skuSeats = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "license_operator_sku_seats",
		Help: "Usable seats of a LicenseSku (Enabled and Warning subscriptions).",
	}, []string{"namespace", "sku", "sku_part_number"})
	skuAssigned = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "license_operator_sku_assigned",
		Help: "Users holding a seat of a LicenseSku.",
	}, []string{"namespace", "sku", "sku_part_number"})
	skuRequested = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "license_operator_sku_requested",
		Help: "Users requesting a LicenseSku, served or not.",
	}, []string{"namespace", "sku", "sku_part_number"})
	assignmentErrors = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "license_operator_assignment_errors",
		Help: "(user, SKU) assignments in state Error, by reason.",
	}, []string{"namespace", "reason"})
	planDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "license_operator_plan_duration_seconds",
		Help:    "Time to plan one namespace (pure computation, no I/O).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"namespace"})
	statusWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "license_operator_status_writes_total",
		Help: "Status patches issued, by kind and result (success, conflict, error).",
	}, []string{"kind", "result"})
	eventsQueued = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "license_operator_events_queued",
		Help: "Events waiting in the event lane to be posted (they trail the status writes).",
	})
	eventsDropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "license_operator_events_dropped_total",
		Help: "Events dropped because the event lane's queue was full (events are best-effort; statuses hold the state).",
	})
)

func init() {
	metrics.Registry.MustRegister(skuSeats, skuAssigned, skuRequested, assignmentErrors, planDuration, statusWrites, eventsQueued, eventsDropped)
}
