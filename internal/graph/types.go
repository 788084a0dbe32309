package graph

// The JSON shapes of the Microsoft Graph v1.0 resources used here, as in
// the Graph reference (api-reference/v1.0/resources/*.md). Only the
// properties license-operator reads are declared; others are ignored.

// SubscribedSku is a commercial subscription the organisation acquired
// (GET /subscribedSkus).
type SubscribedSku struct {
	ID               string             `json:"id"`
	SkuID            string             `json:"skuId"`
	SkuPartNumber    string             `json:"skuPartNumber"`
	AppliesTo        string             `json:"appliesTo,omitempty"`
	CapabilityStatus string             `json:"capabilityStatus,omitempty"`
	ConsumedUnits    int64              `json:"consumedUnits"`
	PrepaidUnits     LicenseUnitsDetail `json:"prepaidUnits"`
	ServicePlans     []ServicePlanInfo  `json:"servicePlans"`
	SubscriptionIDs  []string           `json:"subscriptionIds,omitempty"`
}

// LicenseUnitsDetail is the number of units of a SKU in each state.
type LicenseUnitsDetail struct {
	Enabled   int64 `json:"enabled"`
	Suspended int64 `json:"suspended"`
	Warning   int64 `json:"warning"`
	LockedOut int64 `json:"lockedOut"`
}

// ServicePlanInfo is one service plan of a SKU.
type ServicePlanInfo struct {
	ServicePlanID      string `json:"servicePlanId"`
	ServicePlanName    string `json:"servicePlanName"`
	ProvisioningStatus string `json:"provisioningStatus,omitempty"`
	AppliesTo          string `json:"appliesTo,omitempty"`
}

// AssignedLicense is a license assigned to a user or group: the SKU and
// the IDs of its service plans that are off.
type AssignedLicense struct {
	SkuID string `json:"skuId"`
	// DisabledPlans is always serialised, as [] when empty: assignLicense
	// takes the list as it is.
	DisabledPlans []string `json:"disabledPlans"`
}

// LicenseAssignmentState is one license of a user and where it comes
// from: AssignedByGroup is empty for a direct assignment, else the ID of
// the group it is inherited from.
type LicenseAssignmentState struct {
	AssignedByGroup     string   `json:"assignedByGroup,omitempty"`
	DisabledPlans       []string `json:"disabledPlans"`
	Error               string   `json:"error,omitempty"`
	LastUpdatedDateTime string   `json:"lastUpdatedDateTime,omitempty"`
	SkuID               string   `json:"skuId"`
	// State is Active, ActiveWithError, Disabled or Error.
	State string `json:"state,omitempty"`
}

// Direct reports whether the license is assigned to the user directly.
func (s LicenseAssignmentState) Direct() bool { return s.AssignedByGroup == "" }

// Licence assignment errors of licenseAssignmentState.error, also used as
// the reasons of failed assignLicense calls.
const (
	ErrCountViolation                     = "CountViolation"
	ErrMutuallyExclusiveViolation         = "MutuallyExclusiveViolation"
	ErrDependencyViolation                = "DependencyViolation"
	ErrProhibitedInUsageLocationViolation = "ProhibitedInUsageLocationViolation"
	ErrUniquenessViolation                = "UniquenessViolation"
	ErrOther                              = "Other"
)

// User is the part of a user resource license-operator reads.
type User struct {
	ID                      string                   `json:"id"`
	UserPrincipalName       string                   `json:"userPrincipalName"`
	DisplayName             string                   `json:"displayName,omitempty"`
	UsageLocation           string                   `json:"usageLocation,omitempty"`
	AccountEnabled          *bool                    `json:"accountEnabled,omitempty"`
	AssignedLicenses        []AssignedLicense        `json:"assignedLicenses,omitempty"`
	LicenseAssignmentStates []LicenseAssignmentState `json:"licenseAssignmentStates,omitempty"`
}

// UserSelect is the $select of every user listing: licenseAssignmentStates
// is returned only when selected.
const UserSelect = "id,userPrincipalName,displayName,usageLocation,accountEnabled,assignedLicenses,licenseAssignmentStates"

// Group is the part of a group resource license-operator reads.
type Group struct {
	ID               string            `json:"id"`
	DisplayName      string            `json:"displayName,omitempty"`
	Description      string            `json:"description,omitempty"`
	AssignedLicenses []AssignedLicense `json:"assignedLicenses,omitempty"`
}

// GroupSelect is the $select of the group listing.
const GroupSelect = "id,displayName,description,assignedLicenses"

// DirectoryObject is a member of a group: a user, a group, a device, ...
// told apart by ODataType ("#microsoft.graph.user").
type DirectoryObject struct {
	ODataType         string `json:"@odata.type,omitempty"`
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	DisplayName       string `json:"displayName,omitempty"`
}

// ODataTypeUser is the @odata.type of a user.
const ODataTypeUser = "#microsoft.graph.user"

// MemberSelect is the $select of the member listing.
const MemberSelect = "id,userPrincipalName,displayName"

// LicenseDetails is one license of a user with its service plans
// (GET /users/{id}/licenseDetails).
type LicenseDetails struct {
	ID            string            `json:"id"`
	SkuID         string            `json:"skuId"`
	SkuPartNumber string            `json:"skuPartNumber"`
	ServicePlans  []ServicePlanInfo `json:"servicePlans"`
}

// AssignLicenseRequest is the body of POST /users/{id}/assignLicense. Both
// lists are always present (as [] when empty), as the API expects.
type AssignLicenseRequest struct {
	AddLicenses    []AssignedLicense `json:"addLicenses"`
	RemoveLicenses []string          `json:"removeLicenses"`
}

// Normalize replaces nil lists by empty ones, so that the JSON carries [].
func (r *AssignLicenseRequest) Normalize() {
	if r.AddLicenses == nil {
		r.AddLicenses = []AssignedLicense{}
	}
	if r.RemoveLicenses == nil {
		r.RemoveLicenses = []string{}
	}
	for i := range r.AddLicenses {
		if r.AddLicenses[i].DisabledPlans == nil {
			r.AddLicenses[i].DisabledPlans = []string{}
		}
	}
}
