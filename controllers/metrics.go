package controllers

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/version"
)

// Label values shared by the help texts below. docs/metrics.md lists every
// metric; keep the two in step.
const (
	skuLabelsHelp = " Labels: namespace (the tenant namespace), sku (the LicenseSku's name), sku_part_number (its spec.skuPartNumber)."
	kindsHelp     = "LicenseSku, LicenseGroup, UserLicense"
)

// reasonsHelp lists the reasons a license in state Error carries.
var reasonsHelp = strings.Join([]string{licv1.ReasonInsufficientSeats, licv1.ReasonMutuallyExclusivePlans,
	licv1.ReasonMissingDependency, licv1.ReasonUsageLocationRequired, licv1.ReasonProhibitedInUsageLocation,
	licv1.ReasonSkuNotFound, licv1.ReasonUnknownServicePlan, licv1.ReasonDuplicateUserPrincipalName,
	licv1.ReasonTooManyLicenses}, ", ")

// Prometheus metrics, served on the manager's (secure) metrics endpoint.
// The per-tenant gauges are set from every plan of a namespace by
// recordTenantMetrics (tenant_metrics.go); only the leader plans, so a
// standby replica exports none of them.
var (
	skuSeats = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "license_operator_sku_seats",
		Help: "Usable seats of a LicenseSku: the seats of its Enabled and Warning subscriptions (status.seats)." + skuLabelsHelp,
	}, []string{"namespace", "sku", "sku_part_number"})
	skuAssigned = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "license_operator_sku_assigned",
		Help: "Users holding a seat of a LicenseSku, Active or Disabled (status.assigned)." + skuLabelsHelp,
	}, []string{"namespace", "sku", "sku_part_number"})
	skuRequested = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "license_operator_sku_requested",
		Help: "Users requesting a LicenseSku directly or through a group, served or not (status.requested)." + skuLabelsHelp,
	}, []string{"namespace", "sku", "sku_part_number"})
	skuWaiting = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "license_operator_sku_waiting",
		Help: "Users waiting for a seat of a LicenseSku: licenses in state Error with reason InsufficientSeats." + skuLabelsHelp,
	}, []string{"namespace", "sku", "sku_part_number"})
	skuOldestWaiting = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "license_operator_sku_oldest_waiting_since_seconds",
		Help: "Unix time of the earliest waitingSince among the users waiting for a seat of a LicenseSku; absent when nobody waits (time() minus it is the longest wait)." + skuLabelsHelp,
	}, []string{"namespace", "sku", "sku_part_number"})
	skuOverallocated = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "license_operator_sku_overallocated",
		Help: "1 when a LicenseSku has more holders than usable seats (condition Overallocated=True: it grants nothing new), else 0." + skuLabelsHelp,
	}, []string{"namespace", "sku", "sku_part_number"})
	skuDisabled = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "license_operator_sku_disabled",
		Help: "Users holding a seat of a LicenseSku whose license is Disabled (reason SubscriptionInactive: every subscription Suspended or LockedOut, the services are off)." + skuLabelsHelp,
	}, []string{"namespace", "sku", "sku_part_number"})
	assignmentErrors = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "license_operator_assignment_errors",
		Help: "(user, SKU) licenses in state Error. Labels: namespace (the tenant namespace), reason (" + reasonsHelp + ").",
	}, []string{"namespace", "reason"})
	planDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "license_operator_plan_duration_seconds",
		Help:    "Time to plan one namespace (pure computation, no I/O). Labels: namespace (the tenant namespace).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"namespace"})
	statusWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "license_operator_status_writes_total",
		Help: "Status writes issued. Labels: kind (" + kindsHelp + "), result (success; conflict: the object changed since it was planned, the tenant is planned again; notfound: deleted meanwhile; throttled: 429; rejected: any other refusal of the API server; unknown: no answer (timeout, reset), counted as applied until the cache shows otherwise).",
	}, []string{"kind", "result"})
	statusWriteDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "license_operator_status_write_duration_seconds",
		Help:    "Round trip of one status write to the API server, whatever its result. Labels: kind (" + kindsHelp + ").",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
	}, []string{"kind"})
	eventsQueued = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "license_operator_events_queued",
		Help: "Events waiting in the event lane to be posted (they trail the status writes). No labels.",
	})
	eventsDropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "license_operator_events_dropped_total",
		Help: "Events dropped because the event lane's queue was full (events are best-effort; statuses hold the state). No labels.",
	})

	statusRetriesPending = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "license_operator_status_retries_pending",
		Help: "Objects of a tenant whose last status write failed (refused or no answer) and that are retried with backoff while the rest of the tenant goes on. Labels: namespace (the tenant namespace).",
	}, []string{"namespace"})
	releaseSteps = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "license_operator_release_steps_total",
		Help: "Users written twice in one plan: first their releases without the grants whose seats were not free yet, then their full status. No labels.",
	})
	grantsHeldBack = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "license_operator_grants_held_back_total",
		Help: "Planned grants not written by a plan because a seat they need was not confirmed free (a release failed, had no answer, or waits for a retry); a later plan writes them. No labels.",
	})
	planYields = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "license_operator_plan_yields_total",
		Help: "Plans whose writes were cut short. Labels: reason (changed (the tenant changed; re-planned at once), fairness (another tenant waited for a busy worker; re-queued behind it)).",
	}, []string{"reason"})
	panicsRecovered = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "license_operator_panics_recovered_total",
		Help: "Panics recovered instead of crashing the manager. Labels: in (plan, write, reconcile (the tenant's reconcile failed and is retried with backoff), event_lane (the event was dropped)).",
	}, []string{"in"})
	buildInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "license_operator_build_info",
		Help: "Always 1: the build of the running manager. Labels: version (release tag, or devel), commit (git revision), goversion (Go toolchain).",
	}, []string{"version", "commit", "goversion"})
)

func init() {
	metrics.Registry.MustRegister(skuSeats, skuAssigned, skuRequested, skuWaiting, skuOldestWaiting, skuOverallocated, skuDisabled,
		assignmentErrors, planDuration, statusWrites, statusWriteDuration, eventsQueued, eventsDropped, buildInfo,
		statusRetriesPending, releaseSteps, grantsHeldBack, planYields, panicsRecovered)
	// Counters by a fixed set of reasons start at zero, so that rate() and
	// increase() see their first event and the series are documented by a
	// scrape of a fresh manager (docs/metrics.md is checked against one).
	for _, reason := range []yieldReason{yieldChanged, yieldFairness} {
		planYields.WithLabelValues(string(reason))
	}
	for _, in := range []string{"plan", "write", "reconcile", "event_lane"} {
		panicsRecovered.WithLabelValues(in)
	}
	v := version.Get()
	buildInfo.WithLabelValues(v.Version, v.Commit, v.GoVersion).Set(1)
}
