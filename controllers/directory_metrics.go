package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metrics of the directory sync, served with the others.
var (
	directoryUsers = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "license_operator_directory_users",
		Help: "Users of a DirectoryConnection's namespace by outcome of the last sync (in_sync, drifted, failed, not_found, unmanaged).",
	}, []string{"namespace", "connection", "state"})
	directorySyncs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "license_operator_directory_syncs_total",
		Help: "Syncs with Microsoft Entra, by result (success, failed, stopped: held back by the removal threshold).",
	}, []string{"namespace", "connection", "result"})
	directorySyncDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "license_operator_directory_sync_duration_seconds",
		Help:    "Duration of a sync: reading Entra, comparing, writing licenses and conditions.",
		Buckets: prometheus.ExponentialBuckets(0.1, 2, 14),
	}, []string{"namespace", "connection"})
	directoryLastSync = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "license_operator_directory_last_sync_timestamp_seconds",
		Help: "Unix time of the last completed sync.",
	}, []string{"namespace", "connection"})
	directoryLicenseWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "license_operator_directory_license_writes_total",
		Help: "assignLicense calls by outcome (success, or Graph's error reason such as CountViolation).",
	}, []string{"namespace", "connection", "result"})
	graphRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "license_operator_graph_requests_total",
		Help: "HTTP requests to Microsoft Graph by operation and status code (429: throttled; error: no response).",
	}, []string{"namespace", "connection", "operation", "code"})
)

func init() {
	metrics.Registry.MustRegister(directoryUsers, directorySyncs, directorySyncDuration, directoryLastSync, directoryLicenseWrites, graphRequests)
}

func forgetDirectoryMetrics(ns, name string) {
	labels := map[string]string{"namespace": ns, "connection": name}
	directoryUsers.DeletePartialMatch(labels)
	directorySyncs.DeletePartialMatch(labels)
	directorySyncDuration.DeletePartialMatch(labels)
	directoryLastSync.DeletePartialMatch(labels)
	directoryLicenseWrites.DeletePartialMatch(labels)
	graphRequests.DeletePartialMatch(labels)
}
