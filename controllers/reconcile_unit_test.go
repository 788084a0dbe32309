package controllers

import (
	"context"
	"errors"
	"io"
	"net/url"
	"slices"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// Pure pieces of the write path, as tables.

func entry(sku, state, reason string) licv1.LicenseStatus {
	return licv1.LicenseStatus{SKU: sku, State: state, Reason: reason}
}

func skusOf(ls []licv1.LicenseStatus) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.SKU+"="+l.State)
	}
	return out
}

func TestSeatChanges(t *testing.T) {
	from := &licv1.UserLicenseStatus{Licenses: []licv1.LicenseStatus{
		entry("a", licv1.LicenseStateActive, ""), entry("b", licv1.LicenseStateDisabled, licv1.ReasonSubscriptionInactive),
		entry("c", licv1.LicenseStateError, licv1.ReasonInsufficientSeats), entry("d", licv1.LicenseStateActive, ""),
	}}
	to := &licv1.UserLicenseStatus{Licenses: []licv1.LicenseStatus{
		entry("b", licv1.LicenseStateActive, ""), entry("c", licv1.LicenseStateActive, ""),
		entry("d", licv1.LicenseStateError, licv1.ReasonMutuallyExclusivePlans), entry("e", licv1.LicenseStateDisabled, licv1.ReasonSubscriptionInactive),
	}}
	releases, grants := seatChanges(from, to)
	// Disabled holds a seat like Active: b is kept, e is taken.
	if !slices.Equal(releases, []string{"a", "d"}) || !slices.Equal(grants, []string{"c", "e"}) {
		t.Fatalf("releases %v grants %v, want [a d] [c e]", releases, grants)
	}
}

func TestHoldBack(t *testing.T) {
	ready := metav1.Condition{Type: licv1.ConditionReady, Status: metav1.ConditionTrue, Reason: licv1.ReasonAllLicensesActive, ObservedGeneration: 3}
	observed := &licv1.UserLicenseStatus{
		ObservedGeneration: 3, RequestedLicenses: 2, Groups: []string{"old"}, Conditions: []metav1.Condition{ready},
		Licenses: []licv1.LicenseStatus{
			entry("a", licv1.LicenseStateActive, ""),
			entry("w", licv1.LicenseStateError, licv1.ReasonInsufficientSeats),
		},
	}
	planned := &licv1.UserLicenseStatus{
		ObservedGeneration: 4, RequestedLicenses: 3, ActiveLicenses: 3, Groups: []string{"new"},
		Licenses: []licv1.LicenseStatus{
			entry("b", licv1.LicenseStateActive, ""), // new, not listed before
			entry("k", licv1.LicenseStateActive, ""), // granted, fits
			entry("w", licv1.LicenseStateActive, ""), // was waiting
		},
	}
	got := holdBack(observed, planned, []string{"b", "w"})
	if want := []string{"k=Active", "w=Error"}; !slices.Equal(skusOf(got.Licenses), want) {
		t.Fatalf("licenses %v, want %v (b left out, w as observed, a released)", skusOf(got.Licenses), want)
	}
	if got.ActiveLicenses != 1 {
		t.Fatalf("activeLicenses %d, want 1", got.ActiveLicenses)
	}
	if got.ObservedGeneration != 3 || got.RequestedLicenses != 2 || !slices.Equal(got.Groups, []string{"old"}) || len(got.Conditions) != 1 || got.Conditions[0] != ready {
		t.Fatalf("everything but the licenses must stay as observed: %+v", got)
	}
	if holdBack(observed, planned, nil) != planned {
		t.Fatal("nothing held back: the planned status itself")
	}
}

func TestUncertainView(t *testing.T) {
	base := &licv1.UserLicense{ObjectMeta: metav1.ObjectMeta{Name: "ann", ResourceVersion: "7"}, Status: licv1.UserLicenseStatus{
		Licenses: []licv1.LicenseStatus{
			entry("a", licv1.LicenseStateActive, ""),
			entry("c", licv1.LicenseStateError, licv1.ReasonInsufficientSeats),
		},
	}}
	sent := &licv1.UserLicenseStatus{Licenses: []licv1.LicenseStatus{
		entry("b", licv1.LicenseStateActive, ""), entry("c", licv1.LicenseStateActive, ""), entry("d", licv1.LicenseStateError, licv1.ReasonSkuNotFound),
	}}
	v := uncertainView(base, sent)
	// Grants taken (b, c), the release of a not done, d (no seat) ignored.
	if want := []string{"a=Active", "b=Active", "c=Active"}; !slices.Equal(skusOf(v.Status.Licenses), want) {
		t.Fatalf("view %v, want %v", skusOf(v.Status.Licenses), want)
	}
	if v.ResourceVersion != "7" || v.Status.ActiveLicenses != 3 {
		t.Fatalf("view rv %s active %d", v.ResourceVersion, v.Status.ActiveLicenses)
	}
	if len(base.Status.Licenses) != 2 {
		t.Fatal("the base must not be modified")
	}
}

func TestSeatLedger(t *testing.T) {
	l := seatLedger{"a": {capacity: 2, upper: 1}, "b": {capacity: 1, upper: 1}}
	fit, rest := l.reserve([]string{"a", "b", "gone"})
	if !slices.Equal(fit, []string{"a", "gone"}) || !slices.Equal(rest, []string{"b"}) {
		t.Fatalf("fit %v rest %v", fit, rest)
	}
	if _, rest := l.reserve([]string{"a"}); len(rest) != 1 {
		t.Fatal("a is full: 2 of 2")
	}
	l.released([]string{"b"})
	if fit, _ := l.reserve([]string{"b"}); len(fit) != 1 {
		t.Fatal("b's seat was confirmed free")
	}
}

func TestClassify(t *testing.T) {
	gr := schema.GroupResource{Group: licv1.GroupVersion.Group, Resource: "userlicenses"}
	for _, tc := range []struct {
		name string
		err  error
		want outcome
	}{
		{"answered", nil, outcomeWritten},
		{"conflict", apierrors.NewConflict(gr, "ann", errors.New("changed")), outcomeConflict},
		{"not found", apierrors.NewNotFound(gr, "ann"), outcomeGone},
		{"invalid", apierrors.NewInvalid(schema.GroupKind{Kind: "UserLicense"}, "ann", nil), outcomeRejected},
		{"forbidden", apierrors.NewForbidden(gr, "ann", errors.New("no")), outcomeRejected},
		{"too large", apierrors.NewRequestEntityTooLargeError("too large"), outcomeRejected},
		{"throttled", apierrors.NewTooManyRequests("slow down", 1), outcomeThrottled},
		{"504: may still be processing", apierrors.NewTimeoutError("timeout", 1), outcomeUnknown},
		{"500", apierrors.NewInternalError(errors.New("etcd")), outcomeUnknown},
		{"client timeout", &url.Error{Op: "Put", Err: context.DeadlineExceeded}, outcomeUnknown},
		{"reset", &url.Error{Op: "Put", Err: io.ErrUnexpectedEOF}, outcomeUnknown},
		{"deadline", context.DeadlineExceeded, outcomeUnknown},
	} {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, outcomeLabels[got], outcomeLabels[tc.want])
		}
	}
}

func TestTenantActivity(t *testing.T) {
	a := newTenantActivity()
	a.workers = 2
	queued := 0 // requests ready in the work queue
	a.setQueue(func() int { return queued })
	queued = 2 // big1 and big2 were created
	a.changed("big1")
	a.changed("big2")
	queued--
	s1 := a.begin("big1")
	if got := a.yield("big1", s1); got != yieldNone {
		t.Fatalf("big2 waits but a worker is free for it: %q", got)
	}
	queued--
	s2 := a.begin("big2")
	if got := a.yield("big1", s1); got != yieldNone {
		t.Fatalf("nobody waits: %q", got)
	}
	a.changed("small")
	queued++
	if got := a.yield("big1", s1); got != yieldFairness {
		t.Fatalf("small waits while both workers are busy: %q", got)
	}
	if got := a.yield("big2", s2); got != yieldNone {
		t.Fatalf("big1 already gives its worker to small: big2 goes on, got %q", got)
	}
	a.end("big1")
	queued++ // big1 goes back to the queue, behind small
	queued--
	s3 := a.begin("small")
	queued--
	s1 = a.begin("big1")
	if got := a.yield("big2", s2); got != yieldNone {
		t.Fatalf("small is running, nobody waits: %q", got)
	}
	a.changed("big1")
	queued++ // big1's change queues it while it runs
	if got := a.yield("big1", s1); got != yieldChanged {
		t.Fatalf("big1 changed: %q", got)
	}
	if got := a.yield("big2", s2); got != yieldNone {
		t.Fatalf("big1's change arrived while it runs: it does not wait for a worker: %q", got)
	}
	// A tenant requeued without a change (after a conflict or a failed
	// write) waits for a worker just the same.
	if got := a.yield("small", s3); got != yieldNone {
		t.Fatalf("small: nobody waits: %q", got)
	}
	a.end("small")
	queued++ // RequeueAfter elapsed: small is ready again, with no new change
	if got := a.yield("big2", s2); got != yieldFairness {
		t.Fatalf("small waits in the queue after a requeue: %q", got)
	}
}

func TestTenantActivityWithoutQueue(t *testing.T) {
	a := newTenantActivity()
	a.workers = 1
	s := a.begin("big")
	a.changed("small")
	if got := a.yield("big", s); got != yieldNone {
		t.Fatalf("without the queue's length nothing is known to wait: %q", got)
	}
}
