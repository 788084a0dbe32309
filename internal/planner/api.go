package planner

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// Input is one namespace's objects as observed, including their current
// status (which says who holds seats now). Plan never modifies them.
type Input struct {
	SKUs   []*licv1.LicenseSku
	Groups []*licv1.LicenseGroup
	Users  []*licv1.UserLicense
	// Now stamps new transitions (waitingSince, lastTransitionTime and
	// condition times). Times already in a status are kept when the state
	// they describe did not change. Plan never reads the clock: a zero Now
	// stamps the Unix epoch.
	Now metav1.Time
}

// Result is the desired status of every input object. Each slice is parallel
// to the matching Input slice (Result.Users[i] belongs to Input.Users[i]);
// a nil input object gets a zero entry.
//
// Everything in a Result is read-only: to save memory, statuses share
// slices (assignedBy, enabledPlans, groups, conditions, Grants) with each
// other and, when unchanged, with the input objects. Deep-copy a status
// before modifying it or before handing it to a client that decodes a
// response into it (encoding/json reuses the slices it decodes into).
type Result struct {
	SKUs   []SkuResult
	Groups []GroupResult
	Users  []UserResult
}

// SkuResult is the desired status of one LicenseSku.
type SkuResult struct {
	// Status is the desired status. When Changed is false it is the input
	// object's own status (shared, not copied): callers must not modify it.
	Status  *licv1.LicenseSkuStatus
	Changed bool
}

// GroupResult is the desired status of one LicenseGroup.
type GroupResult struct {
	Status  *licv1.LicenseGroupStatus
	Changed bool
}

// UserResult is the desired status of one UserLicense.
type UserResult struct {
	Status  *licv1.UserLicenseStatus
	Changed bool
	// Releases are the SKUs the user holds now (Active in the current
	// status) and will not hold in the desired one; Grants the reverse.
	// Controllers write every status with releases before any status with
	// grants, so no reader ever sees more holders than capacity.
	Releases []string
	Grants   []string
}
