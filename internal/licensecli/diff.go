package licensecli

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/planner"
)

// ChangeKind is what happens to one (user, SKU) when manifests are applied.
type ChangeKind string

// Change kinds, from the user's point of view.
const (
	// GainsSeat: the license becomes Active.
	GainsSeat ChangeKind = "GainsSeat"
	// LosesSeat: an Active license stops being Active (or is no longer requested).
	LosesSeat ChangeKind = "LosesSeat"
	// StartsWaiting: the license enters Error with reason InsufficientSeats.
	StartsWaiting ChangeKind = "StartsWaiting"
	// StopsWaiting: a waiting license is no longer requested (a waiting
	// license that fails for another reason instead is ReasonChanged: a new
	// error is not hidden as the end of a wait).
	StopsWaiting ChangeKind = "StopsWaiting"
	// ReasonChanged: the license's error appears, disappears or changes
	// reason (neither Active nor waiting before and after).
	ReasonChanged ChangeKind = "ReasonChanged"
	// PlansChanged: the license stays Active with other enabled plans.
	PlansChanged ChangeKind = "PlansChanged"
	// ServicesOff: the user keeps the seat but the license becomes
	// Disabled (every subscription of the SKU is inactive).
	ServicesOff ChangeKind = "ServicesOff"
	// ServicesOn: a Disabled license becomes Active again.
	ServicesOn ChangeKind = "ServicesOn"
)

// Text is the kind for a table: "gains seat".
func (k ChangeKind) Text() string {
	switch k {
	case GainsSeat:
		return "gains seat"
	case LosesSeat:
		return "loses seat"
	case StartsWaiting:
		return "starts waiting"
	case StopsWaiting:
		return "stops waiting"
	case ReasonChanged:
		return "error changes"
	case PlansChanged:
		return "plans change"
	case ServicesOff:
		return "services off"
	case ServicesOn:
		return "services on"
	}
	return string(k)
}

// phrase is the kind as a verb phrase for n users: "2 gain a seat".
func (k ChangeKind) phrase(n int) string {
	one, many := string(k), string(k)
	switch k {
	case GainsSeat:
		one, many = "gains a seat", "gain a seat"
	case LosesSeat:
		one, many = "loses a seat", "lose a seat"
	case StartsWaiting:
		one, many = "starts waiting", "start waiting"
	case StopsWaiting:
		one, many = "stops waiting", "stop waiting"
	case ReasonChanged:
		one, many = "changes error", "change error"
	case PlansChanged:
		one, many = "changes plans", "change plans"
	case ServicesOff:
		one, many = "keeps a seat with services off", "keep a seat with services off"
	case ServicesOn:
		one, many = "gets services back on", "get services back on"
	}
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Text is the change for a table: the kind, with a new or cleared error
// named as such.
func (c *Change) Text() string {
	if c.Kind == ReasonChanged {
		switch {
		case c.Before == "-":
			return "new error"
		case c.After == "-":
			return "error cleared"
		}
	}
	return c.Kind.Text()
}

// changeOrder orders change kinds in summaries.
var changeOrder = []ChangeKind{GainsSeat, LosesSeat, ServicesOff, ServicesOn, StartsWaiting, StopsWaiting, ReasonChanged, PlansChanged}

// Change is one (user, SKU) whose outcome differs from the live status.
type Change struct {
	SKU  string     `json:"sku"`
	User string     `json:"user"`
	Name string     `json:"name"`
	Kind ChangeKind `json:"kind"`
	// Before and After are "-" (not requested), "Active", "Disabled", or
	// the reason of the error ("InsufficientSeats", "SkuNotFound", ...).
	Before string `json:"before"`
	After  string `json:"after"`
	// Message is the error message after the change, if any.
	Message string `json:"message,omitempty"`
	// Plans added (+) and removed (-) for PlansChanged.
	Plans string `json:"plans,omitempty"`
}

// SeatChange is a SKU whose seat figures or state change.
type SeatChange struct {
	SKU           string   `json:"sku"`
	SkuPartNumber string   `json:"skuPartNumber"`
	Usable        [2]int64 `json:"usable"`
	Assigned      [2]int64 `json:"assigned"`
	Requested     [2]int64 `json:"requested"`
	Waiting       [2]int64 `json:"waiting"`
	StateBefore   string   `json:"stateBefore"`
	StateAfter    string   `json:"stateAfter"`
}

// Overlay puts the manifests' objects over the live ones, as `kubectl
// apply` would: an object of the manifests replaces the spec and labels of
// the live object of the same kind and name and keeps its status (the
// current holders of seats); a new object has an empty status. Live
// objects the manifests do not mention are kept. It returns warnings
// about changes the API server would refuse.
func Overlay(live, files *Tenant) (*Tenant, []string) {
	out := &Tenant{Namespace: files.Namespace}
	var warnings []string
	if live == nil {
		live = &Tenant{Namespace: files.Namespace}
	}

	out.SKUs = overlayKind(live.SKUs, files.SKUs, func(f, l *licv1.LicenseSku) *licv1.LicenseSku {
		o := f.DeepCopy()
		o.Status = licv1.LicenseSkuStatus{}
		if l != nil {
			o.Generation = l.Generation
			o.Status = *l.Status.DeepCopy()
		}
		return o
	})
	out.Groups = overlayKind(live.Groups, files.Groups, func(f, l *licv1.LicenseGroup) *licv1.LicenseGroup {
		o := f.DeepCopy()
		o.Status = licv1.LicenseGroupStatus{}
		if l != nil {
			o.Generation = l.Generation
			o.Status = *l.Status.DeepCopy()
		}
		return o
	})
	out.Users = overlayKind(live.Users, files.Users, func(f, l *licv1.UserLicense) *licv1.UserLicense {
		o := f.DeepCopy()
		o.Status = licv1.UserLicenseStatus{}
		if l != nil {
			if l.Spec.UserPrincipalName != f.Spec.UserPrincipalName {
				warnings = append(warnings, fmt.Sprintf(
					"UserLicense %s changes spec.userPrincipalName from %s to %s: the API server refuses this (immutable); delete and re-create the UserLicense instead. Planned with the live value.",
					f.Name, l.Spec.UserPrincipalName, f.Spec.UserPrincipalName))
				o.Spec.UserPrincipalName = l.Spec.UserPrincipalName
			}
			o.Generation = l.Generation
			o.Status = *l.Status.DeepCopy()
		}
		return o
	})
	SortTenant(out)
	return out, warnings
}

// overlayKind merges the manifests' objects of one kind over the live ones
// by name: merge(file, live) builds each manifest object (live is nil for a
// new one); live objects the manifests do not mention are kept as they are.
func overlayKind[T metav1.Object](live, files []T, merge func(file, live T) T) []T {
	byName := make(map[string]T, len(live))
	for _, l := range live {
		byName[l.GetName()] = l
	}
	out := make([]T, 0, len(files)+len(live))
	for _, f := range files {
		l := byName[f.GetName()] // the zero T (nil) when new
		delete(byName, f.GetName())
		out = append(out, merge(f, l))
	}
	for _, l := range live {
		if _, ok := byName[l.GetName()]; ok {
			out = append(out, l)
		}
	}
	return out
}

// Diff compares the planned statuses of t (res is planner.Plan of t) with
// the statuses t's objects carry (the live ones after Overlay): the
// changes per (user, SKU) and per SKU, sorted by SKU and user.
func Diff(t *Tenant, res *planner.Result) ([]Change, []SeatChange) {
	var changes []Change
	for i, u := range t.Users {
		after := res.Users[i].Status
		olds := byLicense(u.Status.Licenses)
		news := byLicense(after.Licenses)
		names := make([]string, 0, len(olds)+len(news))
		for n := range olds {
			names = append(names, n)
		}
		for n := range news {
			if olds[n] == nil {
				names = append(names, n)
			}
		}
		for _, sku := range names {
			o, n := olds[sku], news[sku]
			kind, ok := classify(o, n)
			if !ok {
				continue
			}
			c := Change{SKU: sku, User: u.Spec.UserPrincipalName, Name: u.Name, Kind: kind,
				Before: outcome(o), After: outcome(n)}
			if n != nil && n.State == licv1.LicenseStateError {
				c.Message = n.Message
			}
			if kind == PlansChanged {
				// Disabled lists in reverse: a plan no longer disabled is enabled (+).
				c.Plans = planDelta(n.DisabledPlans, o.DisabledPlans)
				c.Before, c.After = outcome(o), outcome(n)+" ("+c.Plans+")"
			}
			changes = append(changes, c)
		}
	}
	sort.Slice(changes, func(i, j int) bool {
		a, b := changes[i], changes[j]
		if a.SKU != b.SKU {
			return a.SKU < b.SKU
		}
		if a.User != b.User {
			return a.User < b.User
		}
		return a.Name < b.Name
	})

	var seats []SeatChange
	for i, s := range t.SKUs {
		after := SeatRowOf(s, res.SKUs[i].Status)
		// Before is the live status as it is (a new SKU has none: "-").
		before := SeatRowOf(s, &s.Status)
		before.State, _ = readyState(s.Status.Conditions, 0, 0)
		if before.State == StatePending {
			before.State = "-"
		}
		c := SeatChange{
			SKU: s.Name, SkuPartNumber: s.Spec.SkuPartNumber,
			Usable:      [2]int64{s.Status.Seats, after.UsableSeats},
			Assigned:    [2]int64{before.Assigned, after.Assigned},
			Requested:   [2]int64{before.Requested, after.Requested},
			Waiting:     [2]int64{before.Waiting, after.Waiting},
			StateBefore: before.State, StateAfter: after.State,
		}
		if c.Usable[0] != c.Usable[1] || c.Assigned[0] != c.Assigned[1] || c.Requested[0] != c.Requested[1] ||
			c.Waiting[0] != c.Waiting[1] || c.StateBefore != c.StateAfter {
			seats = append(seats, c)
		}
	}
	return changes, seats
}

func byLicense(ls []licv1.LicenseStatus) map[string]*licv1.LicenseStatus {
	m := make(map[string]*licv1.LicenseStatus, len(ls))
	for i := range ls {
		m[ls[i].SKU] = &ls[i]
	}
	return m
}

// classify decides the change from o to n (either may be nil: not requested).
func classify(o, n *licv1.LicenseStatus) (ChangeKind, bool) {
	oHolds, nHolds := holds(o), holds(n)
	oWait, nWait := waiting(o), waiting(n)
	switch {
	case !oHolds && nHolds:
		return GainsSeat, true
	case oHolds && !nHolds:
		return LosesSeat, true
	case oHolds && nHolds && o.State != n.State && n.State == licv1.LicenseStateDisabled:
		return ServicesOff, true
	case oHolds && nHolds && o.State != n.State:
		return ServicesOn, true
	case !oWait && nWait:
		return StartsWaiting, true
	case oWait && !nWait && n != nil && n.State == licv1.LicenseStateError:
		return ReasonChanged, true
	case oWait && !nWait:
		return StopsWaiting, true
	case outcome(o) != outcome(n):
		return ReasonChanged, true
	case oHolds && nHolds && !slices.Equal(o.DisabledPlans, n.DisabledPlans):
		return PlansChanged, true
	}
	return "", false
}

// holds: the license occupies a seat (Active or Disabled).
func holds(l *licv1.LicenseStatus) bool { return l != nil && HoldsSeat(l.State) }

func waiting(l *licv1.LicenseStatus) bool {
	return l != nil && l.State == licv1.LicenseStateError && l.Reason == licv1.ReasonInsufficientSeats
}

// outcome renders a license outcome: "-", "Active" or the error reason.
func outcome(l *licv1.LicenseStatus) string {
	switch {
	case l == nil:
		return "-"
	case l.State == licv1.LicenseStateActive, l.State == licv1.LicenseStateDisabled:
		return l.State
	case l.Reason != "":
		return l.Reason
	default:
		return l.State
	}
}

// planDelta renders the plans added and removed: "+TEAMS1 -SWAY".
func planDelta(before, after []string) string {
	var parts []string
	for _, p := range after {
		if !slices.Contains(before, p) {
			parts = append(parts, "+"+p)
		}
	}
	for _, p := range before {
		if !slices.Contains(after, p) {
			parts = append(parts, "-"+p)
		}
	}
	return strings.Join(parts, " ")
}

// changeCounts summarises changes: "2 gain a seat, 1 starts waiting".
func changeCounts(cs []Change) string {
	counts := map[ChangeKind]int{}
	for _, c := range cs {
		counts[c.Kind]++
	}
	var parts []string
	for _, k := range changeOrder {
		if n := counts[k]; n > 0 {
			parts = append(parts, k.phrase(n))
		}
	}
	return strings.Join(parts, ", ")
}

func arrow(v [2]int64) string {
	if v[0] == v[1] {
		return itoa(v[0])
	}
	return fmt.Sprintf("%d -> %d", v[0], v[1])
}

func arrowString(a, b string) string {
	if a == b {
		return a
	}
	return a + " -> " + b
}
