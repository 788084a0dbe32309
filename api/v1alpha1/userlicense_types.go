package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// UserLicenseSpec is one user: where they use the services and the licenses
// assigned to them directly.
type UserLicenseSpec struct {
	// userPrincipalName is the user's sign-in name (ann@contoso.com). It is
	// how LicenseGroup members refer to the user, and cannot be changed:
	// delete and re-create the UserLicense to rename a user.
	// +required
	// +kubebuilder:validation:MaxLength=113
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9._%+'!#^~-]+@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="userPrincipalName is immutable; delete and re-create the UserLicense to rename a user"
	UserPrincipalName string `json:"userPrincipalName"`

	// usageLocation is the ISO 3166-1 alpha-2 country where the user uses
	// the services (DE, US, ...). Required before any license takes effect.
	// +optional
	// +kubebuilder:validation:Pattern=`^[A-Z]{2}$`
	UsageLocation string `json:"usageLocation,omitempty"`

	// licenses are assigned to this user directly. Direct assignments get
	// scarce seats before group assignments.
	// +optional
	// +listType=map
	// +listMapKey=sku
	// +kubebuilder:validation:MaxItems=64
	Licenses []LicenseAssignment `json:"licenses,omitempty"`
}

// LicenseStatus is the effective state of one SKU requested for the user.
type LicenseStatus struct {
	// sku is the LicenseSku name.
	// +kubebuilder:validation:MaxLength=253
	SKU string `json:"sku"`

	// skuPartNumber is the SKU's part number, when the SKU exists.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	SkuPartNumber string `json:"skuPartNumber,omitempty"`

	// state is Active when the user holds a seat and the enabled plans are
	// in effect; Disabled when the user keeps the seat but every
	// subscription of the SKU is Suspended or LockedOut, so the services
	// are off (reason SubscriptionInactive); Error when the license is not
	// assigned (reason says why).
	// +kubebuilder:validation:Enum=Active;Disabled;Error
	State string `json:"state"`

	// reason says why the license is Disabled or in Error
	// (InsufficientSeats, SkuNotFound, ...).
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Reason string `json:"reason,omitempty"`

	// message says what to do about the error. On an Active license it
	// notes what was ignored (a source naming an unknown service plan).
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Message string `json:"message,omitempty"`

	// waitingSince is when the user started waiting for a seat (reason
	// InsufficientSeats). Kept while the user keeps waiting: whoever has
	// waited longest gets the next free seat among equals.
	// +optional
	WaitingSince *metav1.Time `json:"waitingSince,omitempty"`

	// assignedBy lists the sources asking for this SKU: Direct and
	// Group/<name>, sorted (the first 16; message says how many more).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	AssignedBy []string `json:"assignedBy,omitempty"`

	// disabledPlans are the service plans of the SKU that are off for this
	// user, sorted, as Microsoft Entra's licenseAssignmentStates and
	// assignLicense carry them. The enabled plans are the SKU's plans minus
	// these: the union over the valid sources of what each enables.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=128
	DisabledPlans []string `json:"disabledPlans,omitempty"`

	// lastTransitionTime is when state or reason last changed.
	// +optional
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
}

// UserLicenseStatus is the user's effective licenses, written by the controller.
type UserLicenseStatus struct {
	// observedGeneration is the metadata.generation this status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// licenses has one entry per requested SKU, sorted by sku. A user
	// requesting more SKUs than a status can list (MaxUserLicenseStatuses,
	// or a status too large to store) keeps its held licenses listed and
	// the rest unlisted and unassigned; requestedLicenses counts them all
	// and the Ready condition says so.
	// +optional
	// +listType=map
	// +listMapKey=sku
	// +kubebuilder:validation:MaxItems=100
	Licenses []LicenseStatus `json:"licenses,omitempty"`

	// activeLicenses is the number of licenses in effect (state Active).
	// +optional
	ActiveLicenses int32 `json:"activeLicenses"`

	// requestedLicenses is the number of SKUs requested for the user,
	// in effect or not, listed or not.
	// +optional
	RequestedLicenses int32 `json:"requestedLicenses"`

	// groups are the LicenseGroups the user is a member of, sorted (the
	// first 100; the Ready condition gives the number when there are more).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	Groups []string `json:"groups,omitempty"`

	// conditions: Ready (the summary), DuplicatePlans (a warning), Stalled
	// (present only when True: a license cannot take effect until some
	// spec changes), and Synced when a DirectoryConnection syncs the tenant.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// UserLicense is one user of the tenant: usage location and direct licenses.
// Its status holds the effective licenses from direct and group assignments.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ul;ulic,categories=licensing
// +kubebuilder:selectablefield:JSONPath=`.spec.userPrincipalName`
// +kubebuilder:printcolumn:name="UPN",type=string,JSONPath=`.spec.userPrincipalName`
// +kubebuilder:printcolumn:name="Location",type=string,JSONPath=`.spec.usageLocation`
// +kubebuilder:printcolumn:name="Active",type=integer,JSONPath=`.status.activeLicenses`
// +kubebuilder:printcolumn:name="Licenses",type=integer,JSONPath=`.status.requestedLicenses`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type UserLicense struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the user, written by you.
	// +required
	Spec UserLicenseSpec `json:"spec"`

	// status is the user's effective licenses, written by the controller.
	// +optional
	Status UserLicenseStatus `json:"status,omitempty"`
}

// UserLicenseList contains a list of UserLicense.
// +kubebuilder:object:root=true
type UserLicenseList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []UserLicense `json:"items"`
}

func init() {
	SchemeBuilder.Register(&UserLicense{}, &UserLicenseList{})
}
