package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LicenseGroupSpec says who is in the group and which licenses every member gets.
type LicenseGroupSpec struct {
	// displayName is the human name of the group, e.g. "Contractors".
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName,omitempty"`

	// members lists users by userPrincipalName. A name without a UserLicense
	// in the namespace is reported in status.unresolvedMembers and resolved
	// as soon as the UserLicense is created.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=10000
	// +kubebuilder:validation:items:MaxLength=113
	// +kubebuilder:validation:items:Pattern=`^[A-Za-z0-9._%+'!#^~-]+@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$`
	Members []string `json:"members,omitempty"`

	// memberSelector selects members by the labels of their UserLicense
	// objects, in addition to members. An empty selector ({}) selects every
	// user in the namespace; leave it out to select none.
	// +optional
	MemberSelector *metav1.LabelSelector `json:"memberSelector,omitempty"`

	// licenses are assigned to every member, each decided on its own: one
	// SKU short of seats never blocks the group's other SKUs.
	// +optional
	// +listType=map
	// +listMapKey=sku
	// +kubebuilder:validation:MaxItems=64
	Licenses []LicenseAssignment `json:"licenses,omitempty"`

	// priority orders groups when seats are scarce: members of a higher
	// priority group get seats first (after current holders and direct
	// assignments).
	// +optional
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=-1000000
	// +kubebuilder:validation:Maximum=1000000
	Priority int32 `json:"priority,omitempty"`
}

// LicenseFailure is one member whose license from this group is not in effect.
type LicenseFailure struct {
	// user is the member's userPrincipalName.
	User string `json:"user"`
	// sku is the LicenseSku name.
	SKU string `json:"sku"`
	// reason is a CamelCase reason such as InsufficientSeats.
	Reason string `json:"reason"`
}

// LicenseGroupStatus is the outcome of the group's assignments, written by the controller.
type LicenseGroupStatus struct {
	// observedGeneration is the metadata.generation this status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// members is the number of resolved members (by name or selector).
	// +optional
	Members int32 `json:"members"`

	// licensed is the number of members holding every license of the group.
	// +optional
	Licensed int32 `json:"licensed"`

	// errors is the number of members with at least one failed license of the group.
	// +optional
	Errors int32 `json:"errors"`

	// unresolvedMembers lists entries of spec.members with no UserLicense in
	// the namespace (first 50, sorted; the Ready message gives the total).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=50
	UnresolvedMembers []string `json:"unresolvedMembers,omitempty"`

	// failures lists failed (user, sku) pairs of this group: the first 50,
	// sorted by user, sku and reason; errors gives the number of users.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=50
	Failures []LicenseFailure `json:"failures,omitempty"`

	// conditions: Ready, InsufficientSeats.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// LicenseGroup assigns licenses to its members (by name or label selector),
// like group-based licensing in Microsoft Entra ID.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=lg;lgroup,categories=licensing
// +kubebuilder:printcolumn:name="Members",type=integer,JSONPath=`.status.members`
// +kubebuilder:printcolumn:name="Licensed",type=integer,JSONPath=`.status.licensed`
// +kubebuilder:printcolumn:name="Errors",type=integer,JSONPath=`.status.errors`
// +kubebuilder:printcolumn:name="Priority",type=integer,JSONPath=`.spec.priority`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type LicenseGroup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the group's membership and licenses, written by you.
	// +optional
	Spec LicenseGroupSpec `json:"spec,omitempty"`

	// status is the outcome, written by the controller.
	// +optional
	Status LicenseGroupStatus `json:"status,omitempty"`
}

// LicenseGroupList contains a list of LicenseGroup.
// +kubebuilder:object:root=true
type LicenseGroupList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []LicenseGroup `json:"items"`
}

func init() {
	SchemeBuilder.Register(&LicenseGroup{}, &LicenseGroupList{})
}
