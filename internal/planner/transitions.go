package planner

import (
	"fmt"
	"slices"
	"strings"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// TransitionKind is what happened to one license of a user.
type TransitionKind string

const (
	// TransitionAssigned: the license became Active, from not held or from
	// Disabled (event LicenseAssigned).
	TransitionAssigned TransitionKind = "Assigned"
	// TransitionRemoved: a held license (Active or Disabled) lost its seat,
	// or a listed license disappeared (event LicenseRemoved).
	TransitionRemoved TransitionKind = "Removed"
	// TransitionFailed: a license entered Error or changed its reason, or
	// became Disabled (event LicenseAssignmentFailed).
	TransitionFailed TransitionKind = "Failed"
)

// Transition is one change of a user's license between two statuses, for
// the controller's Kubernetes Events: the assignment history.
type Transition struct {
	SKU  string
	Kind TransitionKind
	// Reason is the failure reason (Failed, and Removed because of a failure).
	Reason string
	// Message is a complete sentence for the event.
	Message string
	// Sources is the assignedBy list of the entry the transition is about.
	Sources []string
}

// Transitions lists the changes from old to new, sorted by SKU; for one SKU
// a Removed comes before the Failed that caused it. Either status may be
// nil (no licenses). It is pure: equal inputs give equal outputs.
func Transitions(old, new *licv1.UserLicenseStatus) []Transition {
	olds, news := licensesBySKU(old), licensesBySKU(new)
	names := make([]string, 0, len(olds)+len(news))
	for n := range olds {
		names = append(names, n)
	}
	for n := range news {
		if _, ok := olds[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)

	var out []Transition
	for _, name := range names {
		o, n := olds[name], news[name]
		oHeld, nHeld := o != nil && holdsSeat(o.State), n != nil && holdsSeat(n.State)
		oActive := o != nil && o.State == licv1.LicenseStateActive
		nActive := n != nil && n.State == licv1.LicenseStateActive
		switch {
		case o != nil && n == nil:
			out = append(out, Transition{SKU: name, Kind: TransitionRemoved, Sources: o.AssignedBy,
				Message: fmt.Sprintf("license %s removed: no source assigns it any more", name)})
		case oHeld && !nHeld:
			out = append(out, Transition{SKU: name, Kind: TransitionRemoved, Reason: n.Reason, Sources: o.AssignedBy,
				Message: fmt.Sprintf("license %s removed: %s", name, n.Reason)})
		}
		switch {
		case n != nil && n.State == licv1.LicenseStateError && (o == nil || o.State != licv1.LicenseStateError || o.Reason != n.Reason):
			out = append(out, Transition{SKU: name, Kind: TransitionFailed, Reason: n.Reason, Sources: n.AssignedBy,
				Message: fmt.Sprintf("license %s failed: %s: %s", name, n.Reason, n.Message)})
		case n != nil && n.State == licv1.LicenseStateDisabled && (o == nil || o.State != licv1.LicenseStateDisabled):
			out = append(out, Transition{SKU: name, Kind: TransitionFailed, Reason: n.Reason, Sources: n.AssignedBy,
				Message: fmt.Sprintf("license %s disabled: %s: %s", name, n.Reason, n.Message)})
		}
		if nActive && !oActive {
			out = append(out, Transition{SKU: name, Kind: TransitionAssigned, Sources: n.AssignedBy,
				Message: fmt.Sprintf("license %s%s assigned by %s", name, partSuffix(n.SkuPartNumber), strings.Join(n.AssignedBy, ", "))})
		}
	}
	return out
}

// licensesBySKU indexes the entries of a status by SKU (first entry wins).
func licensesBySKU(st *licv1.UserLicenseStatus) map[string]*licv1.LicenseStatus {
	if st == nil {
		return nil
	}
	m := make(map[string]*licv1.LicenseStatus, len(st.Licenses))
	for i := range st.Licenses {
		if _, ok := m[st.Licenses[i].SKU]; !ok {
			m[st.Licenses[i].SKU] = &st.Licenses[i]
		}
	}
	return m
}

func partSuffix(part string) string {
	if part == "" {
		return ""
	}
	return " (" + part + ")"
}
