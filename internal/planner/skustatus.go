package planner

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// skuResult computes the desired status of one LicenseSku. An object
// shadowed by another of the same name (impossible from an API server) is
// reported as if nobody requested it.
func (p *planner) skuResult(i int32) SkuResult {
	obj := p.in.SKUs[i]
	if obj == nil {
		return SkuResult{}
	}
	var s skuInfo
	if id := p.skuOwner[i]; id >= 0 {
		s = *p.skus[id]
	} else {
		s.capacity, s.inactive, s.warning = capacity(&obj.Spec)
	}
	name := obj.Spec.SkuPartNumber
	if name == "" {
		name = obj.Name
	}
	assigned := s.holders + s.granted
	st := licv1.LicenseSkuStatus{
		ObservedGeneration: obj.Generation,
		Seats:              s.capacity,
		Assigned:           assigned,
		Requested:          s.requested,
		Waiting:            s.waiting,
		Available:          max(s.capacity-assigned, 0),
	}

	over := cond{metav1.ConditionFalse, licv1.ReasonWithinCapacity,
		fmt.Sprintf("%d of %d usable seats are assigned", assigned, s.capacity)}
	if assigned > s.capacity {
		excess := assigned - s.capacity
		over = cond{metav1.ConditionTrue, licv1.ReasonOverallocated,
			fmt.Sprintf("%s hold seats of %s but only %d are usable: no new seat is granted until assignments drop below capacity; purchase %s or remove %s",
				plural(assigned, "user", "users"), name, s.capacity, plural(excess, "seat", "seats"), plural(excess, "assignment", "assignments"))}
	}
	seats := cond{metav1.ConditionFalse, licv1.ReasonWithinCapacity, "no user waits for a seat of " + name}
	if s.waiting > 0 {
		need := assigned + s.waiting - s.capacity
		seats = cond{metav1.ConditionTrue, licv1.ReasonInsufficientSeats,
			fmt.Sprintf("%s for a seat of %s: purchase %s or remove %s",
				plural(s.waiting, "user waits", "users wait"), name, plural(need, "more seat", "more seats"), plural(need, "assignment", "assignments"))}
	}

	var ready cond
	switch {
	case s.inactive && s.requested > 0:
		ready = cond{metav1.ConditionFalse, licv1.ReasonSubscriptionsInactive,
			fmt.Sprintf("every subscription of %s is Suspended or LockedOut: its %s keep their seats but the services are off (state Disabled), and nobody new gets a seat: reactivate a subscription or purchase a new one",
				name, plural(s.holders, "holder", "holders"))}
	case assigned > s.capacity:
		ready = cond{metav1.ConditionFalse, licv1.ReasonOverallocated, over.message}
	case s.waiting > 0:
		ready = cond{metav1.ConditionFalse, licv1.ReasonInsufficientSeats, seats.message}
	default:
		msg := fmt.Sprintf("%d of %d seats of %s are assigned and no user waits", assigned, s.capacity, name)
		if len(s.warning) > 0 {
			msg += fmt.Sprintf("; subscription %s is in its grace period (Warning): renew it before its seats become unusable",
				strings.Join(s.warning, ", "))
		}
		ready = cond{metav1.ConditionTrue, licv1.ReasonSeatsAvailable, msg}
	}
	st.Conditions = p.conditions(obj.Status.Conditions, obj.Generation,
		typed{licv1.ConditionReady, ready},
		typed{licv1.ConditionInsufficientSeats, seats},
		typed{licv1.ConditionOverallocated, over})

	if equalSkuStatus(&obj.Status, &st) {
		return SkuResult{Status: &obj.Status}
	}
	return SkuResult{Status: &st, Changed: true}
}
