package controllers

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/planner"
)

func metricsSku(name, part string) *licv1.LicenseSku {
	return &licv1.LicenseSku{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "metrics-ns"},
		Spec: licv1.LicenseSkuSpec{SkuPartNumber: part}}
}

func license(sku, state, reason string, waitingSince *time.Time) licv1.LicenseStatus {
	l := licv1.LicenseStatus{SKU: sku, State: state, Reason: reason}
	if waitingSince != nil {
		l.WaitingSince = &metav1.Time{Time: *waitingSince}
	}
	return l
}

// The per-SKU gauges come from the plan's statuses: waiting users and the
// earliest waitingSince per SKU, holders Disabled, Overallocated from the
// SKU's condition, errors by reason; a second plan replaces the first's
// series, so a SKU or reason that is gone leaves no stale series.
func TestRecordTenantMetrics(t *testing.T) {
	const ns = "metrics-ns"
	early := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	late := early.Add(2 * time.Hour)
	in := planner.Input{SKUs: []*licv1.LicenseSku{metricsSku("e3", "SPE_E3"), metricsSku("p1", "EXCHANGESTANDARD")}}
	res := &planner.Result{
		SKUs: []planner.SkuResult{
			{Status: &licv1.LicenseSkuStatus{Seats: 5, Assigned: 6, Requested: 6, Conditions: []metav1.Condition{
				{Type: licv1.ConditionOverallocated, Status: metav1.ConditionTrue, Reason: licv1.ReasonOverallocated}}}},
			{Status: &licv1.LicenseSkuStatus{Seats: 2, Assigned: 2, Requested: 5}},
		},
		Users: []planner.UserResult{
			{Status: &licv1.UserLicenseStatus{Licenses: []licv1.LicenseStatus{
				license("p1", licv1.LicenseStateError, licv1.ReasonInsufficientSeats, &late),
				license("e3", licv1.LicenseStateDisabled, licv1.ReasonSubscriptionInactive, nil)}}},
			{Status: &licv1.UserLicenseStatus{Licenses: []licv1.LicenseStatus{
				license("p1", licv1.LicenseStateError, licv1.ReasonInsufficientSeats, &early),
				license("nope", licv1.LicenseStateError, licv1.ReasonSkuNotFound, nil)}}},
			{Status: &licv1.UserLicenseStatus{Licenses: []licv1.LicenseStatus{
				license("p1", licv1.LicenseStateError, licv1.ReasonInsufficientSeats, nil),
				license("e3", licv1.LicenseStateActive, "", nil)}}},
		},
	}
	recordTenantMetrics(ns, in, res)

	e3 := []string{ns, "e3", "SPE_E3"}
	p1 := []string{ns, "p1", "EXCHANGESTANDARD"}
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"seats e3", testutil.ToFloat64(skuSeats.WithLabelValues(e3...)), 5},
		{"assigned e3", testutil.ToFloat64(skuAssigned.WithLabelValues(e3...)), 6},
		{"requested p1", testutil.ToFloat64(skuRequested.WithLabelValues(p1...)), 5},
		{"waiting p1", testutil.ToFloat64(skuWaiting.WithLabelValues(p1...)), 3},
		{"waiting e3", testutil.ToFloat64(skuWaiting.WithLabelValues(e3...)), 0},
		{"oldest waiting p1", testutil.ToFloat64(skuOldestWaiting.WithLabelValues(p1...)), float64(early.Unix())},
		{"overallocated e3", testutil.ToFloat64(skuOverallocated.WithLabelValues(e3...)), 1},
		{"overallocated p1", testutil.ToFloat64(skuOverallocated.WithLabelValues(p1...)), 0},
		{"disabled e3", testutil.ToFloat64(skuDisabled.WithLabelValues(e3...)), 1},
		{"errors InsufficientSeats", testutil.ToFloat64(assignmentErrors.WithLabelValues(ns, licv1.ReasonInsufficientSeats)), 3},
		{"errors SkuNotFound", testutil.ToFloat64(assignmentErrors.WithLabelValues(ns, licv1.ReasonSkuNotFound)), 1},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// Nobody waits for e3: no oldest-waiting series (a 0 would read as 1970).
	if n := seriesIn(t, skuOldestWaiting, ns); n != 1 {
		t.Errorf("oldest waiting series = %d, want 1 (p1 only)", n)
	}

	// Seats bought: nobody waits, SkuNotFound is fixed, p1 is deleted.
	recordTenantMetrics(ns, planner.Input{SKUs: in.SKUs[:1]}, &planner.Result{
		SKUs:  res.SKUs[:1],
		Users: []planner.UserResult{{Status: &licv1.UserLicenseStatus{Licenses: []licv1.LicenseStatus{license("e3", licv1.LicenseStateActive, "", nil)}}}},
	})
	if n := seriesIn(t, skuOldestWaiting, ns); n != 0 {
		t.Errorf("oldest waiting series after the wait = %d, want 0", n)
	}
	if n := seriesIn(t, skuSeats, ns); n != 1 {
		t.Errorf("seat series after p1 was deleted = %d, want 1", n)
	}
	if n := seriesIn(t, assignmentErrors, ns); n != 0 {
		t.Errorf("assignment error series with no error left = %d, want 0", n)
	}
}

// seriesIn counts the series of c in namespace ns (other tests of the
// package record other namespaces in the same gauges).
func seriesIn(t *testing.T, c prometheus.Collector, ns string) int {
	t.Helper()
	ch := make(chan prometheus.Metric, 100)
	go func() { c.Collect(ch); close(ch) }()
	n := 0
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil {
			t.Fatal(err)
		}
		for _, l := range d.GetLabel() {
			if l.GetName() == "namespace" && l.GetValue() == ns {
				n++
			}
		}
	}
	return n
}

// writeCount is the number of status writes of kind observed so far.
func writeCount(t *testing.T, kind string) uint64 {
	t.Helper()
	var m dto.Metric
	if err := statusWriteDuration.WithLabelValues(kind).(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

// Status writes through InstrumentStatusWrites are timed per kind, failed
// ones too; other writes are not.
func TestInstrumentStatusWrites(t *testing.T) {
	s := runtime.NewScheme()
	if err := licv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	sku := metricsSku("timed", "SPE_E3")
	c := InstrumentStatusWrites(fake.NewClientBuilder().WithScheme(s).WithObjects(sku).WithStatusSubresource(sku).Build())
	ctx := context.Background()
	skus, users := writeCount(t, "LicenseSku"), writeCount(t, "UserLicense")

	sku.Status.Seats = 3
	if err := c.Status().Update(ctx, sku); err != nil {
		t.Fatal(err)
	}
	if err := c.Status().Update(ctx, metricsSku("missing", "X")); err == nil {
		t.Fatal("updating the status of a missing object succeeded")
	}
	if err := c.Status().Patch(ctx, sku, client.MergeFrom(sku.DeepCopy())); err != nil {
		t.Fatal(err)
	}
	sku.Spec.DisplayName = "not a status write"
	if err := c.Update(ctx, sku); err != nil {
		t.Fatal(err)
	}
	if d := writeCount(t, "LicenseSku") - skus; d != 3 {
		t.Errorf("LicenseSku status writes timed = %d, want 3 (update, failed update, patch)", d)
	}
	if d := writeCount(t, "UserLicense") - users; d != 0 {
		t.Errorf("UserLicense status writes timed = %d, want 0", d)
	}
}
