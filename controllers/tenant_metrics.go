package controllers

import (
	"context"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/planner"
)

// tenantGauges are the gauges recordTenantMetrics owns, all labelled by
// namespace first: each plan replaces its namespace's series, so a deleted
// SKU or a reason that no longer occurs disappears.
var tenantGauges = []*prometheus.GaugeVec{skuSeats, skuAssigned, skuRequested, skuWaiting, skuOldestWaiting,
	skuOverallocated, skuDisabled, assignmentErrors}

// recordTenantMetrics publishes the plan's seat figures: per SKU the seats,
// holders, requests, users waiting for a seat and since when, whether it is
// overallocated and how many holders are Disabled; per reason the licenses
// in Error.
func recordTenantMetrics(ns string, in planner.Input, res *planner.Result) {
	for _, v := range tenantGauges {
		v.DeletePartialMatch(prometheus.Labels{"namespace": ns})
	}
	type waiting struct {
		users  int
		oldest time.Time
	}
	waitingBySku := map[string]*waiting{}
	disabledBySku := map[string]int{}
	byReason := map[string]int{}
	for _, u := range res.Users {
		for _, l := range u.Status.Licenses {
			switch l.State {
			case licv1.LicenseStateError:
				byReason[l.Reason]++
				if l.Reason != licv1.ReasonInsufficientSeats {
					continue
				}
				w := waitingBySku[l.SKU]
				if w == nil {
					w = &waiting{}
					waitingBySku[l.SKU] = w
				}
				w.users++
				if l.WaitingSince != nil && (w.oldest.IsZero() || l.WaitingSince.Time.Before(w.oldest)) {
					w.oldest = l.WaitingSince.Time
				}
			case licv1.LicenseStateDisabled:
				disabledBySku[l.SKU]++
			}
		}
	}
	for i, s := range res.SKUs {
		sku := in.SKUs[i]
		labels := []string{ns, sku.Name, sku.Spec.SkuPartNumber}
		skuSeats.WithLabelValues(labels...).Set(float64(s.Status.Seats))
		skuAssigned.WithLabelValues(labels...).Set(float64(s.Status.Assigned))
		skuRequested.WithLabelValues(labels...).Set(float64(s.Status.Requested))
		skuDisabled.WithLabelValues(labels...).Set(float64(disabledBySku[sku.Name]))
		overallocated := 0.0
		if meta.IsStatusConditionTrue(s.Status.Conditions, licv1.ConditionOverallocated) {
			overallocated = 1
		}
		skuOverallocated.WithLabelValues(labels...).Set(overallocated)
		w := waitingBySku[sku.Name]
		if w == nil {
			skuWaiting.WithLabelValues(labels...).Set(0)
			continue
		}
		skuWaiting.WithLabelValues(labels...).Set(float64(w.users))
		if !w.oldest.IsZero() {
			skuOldestWaiting.WithLabelValues(labels...).Set(float64(w.oldest.Unix()))
		}
	}
	reasons := make([]string, 0, len(byReason))
	for reason := range byReason {
		reasons = append(reasons, reason)
	}
	sort.Strings(reasons)
	for _, reason := range reasons {
		assignmentErrors.WithLabelValues(ns, reason).Set(float64(byReason[reason]))
	}
}

// InstrumentStatusWrites returns c with its status writes timed in
// license_operator_status_write_duration_seconds{kind}. The manager wraps
// the TenantReconciler's client with it.
func InstrumentStatusWrites(c client.Client) client.Client {
	return timedClient{Client: c}
}

type timedClient struct{ client.Client }

func (c timedClient) Status() client.SubResourceWriter {
	return timedStatusWriter{w: c.Client.Status(), c: c.Client}
}

type timedStatusWriter struct {
	w client.SubResourceWriter
	c client.Client
}

func (t timedStatusWriter) observe(obj runtime.Object, start time.Time) {
	kind := "unknown"
	if gvk, err := t.c.GroupVersionKindFor(obj); err == nil {
		kind = gvk.Kind
	}
	statusWriteDuration.WithLabelValues(kind).Observe(time.Since(start).Seconds())
}

func (t timedStatusWriter) Create(ctx context.Context, obj client.Object, sub client.Object, opts ...client.SubResourceCreateOption) error {
	defer t.observe(obj, time.Now())
	return t.w.Create(ctx, obj, sub, opts...)
}

func (t timedStatusWriter) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	defer t.observe(obj, time.Now())
	return t.w.Update(ctx, obj, opts...)
}

func (t timedStatusWriter) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	defer t.observe(obj, time.Now())
	return t.w.Patch(ctx, obj, patch, opts...)
}

func (t timedStatusWriter) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.SubResourceApplyOption) error {
	start := time.Now()
	err := t.w.Apply(ctx, obj, opts...)
	kind := "unknown"
	if k, ok := obj.(interface{ GetKind() *string }); ok && k.GetKind() != nil {
		kind = *k.GetKind()
	}
	statusWriteDuration.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	return err
}
