package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SubscriptionState is the lifecycle state of a subscription. Only Enabled
// and Warning subscriptions contribute usable seats.
// +kubebuilder:validation:Enum=Enabled;Warning;Suspended;LockedOut
type SubscriptionState string

const (
	// SubscriptionEnabled: active and paid; its seats are usable.
	SubscriptionEnabled SubscriptionState = "Enabled"
	// SubscriptionWarning: expired but in its grace period; seats stay usable.
	SubscriptionWarning SubscriptionState = "Warning"
	// SubscriptionSuspended: disabled; its seats are not usable.
	SubscriptionSuspended SubscriptionState = "Suspended"
	// SubscriptionLockedOut: deprovisioning; its seats are not usable.
	SubscriptionLockedOut SubscriptionState = "LockedOut"
)

// Subscription is one purchase of the SKU: a number of seats and a state.
type Subscription struct {
	// name identifies the subscription within the SKU (for example the
	// contract or order number, lowercase).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// seats is the number of licenses bought with this subscription.
	// +required
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000000
	Seats int64 `json:"seats"`

	// state is the subscription's lifecycle state: Enabled and Warning
	// (grace period) count toward usable seats, Suspended and LockedOut do not.
	// +optional
	// +kubebuilder:default=Enabled
	State SubscriptionState `json:"state,omitempty"`
}

// ServicePlan is one service of the SKU (Exchange Online, Teams, ...), which
// an assignment can switch off or on.
// +kubebuilder:validation:XValidation:rule="!has(self.requires) || !(self.name in self.requires)",message="a service plan cannot require itself",fieldPath=".requires"
// +kubebuilder:validation:XValidation:rule="!has(self.conflictsWith) || !(self.name in self.conflictsWith)",message="a service plan cannot conflict with itself",fieldPath=".conflictsWith"
type ServicePlan struct {
	// name is the service plan name, as Microsoft spells it
	// (EXCHANGE_S_ENTERPRISE, TEAMS1, ...). Unique within the SKU.
	// +required
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_.-]{1,64}$`
	Name string `json:"name"`

	// displayName is the human name of the plan.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName,omitempty"`

	// requires lists plans (of this SKU or any other) that must be enabled
	// for the same user for this plan to work; otherwise the SKU fails with
	// reason MissingDependency.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:Pattern=`^[A-Za-z0-9_.-]{1,64}$`
	Requires []string `json:"requires,omitempty"`

	// conflictsWith lists plans that may not be enabled for the same user
	// together with this one (either side may declare it). The lower-ranked
	// SKU fails with reason MutuallyExclusivePlans.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:Pattern=`^[A-Za-z0-9_.-]{1,64}$`
	ConflictsWith []string `json:"conflictsWith,omitempty"`

	// unavailableIn lists ISO 3166-1 alpha-2 usage locations where the plan
	// is not offered. A user located there gets reason
	// ProhibitedInUsageLocation unless the plan is disabled for them.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=250
	// +kubebuilder:validation:items:Pattern=`^[A-Z]{2}$`
	UnavailableIn []string `json:"unavailableIn,omitempty"`
}

// LicenseSkuSpec is a purchased product: its seats, summed over
// subscriptions, and its service plans.
type LicenseSkuSpec struct {
	// skuPartNumber is the product's part number, e.g. SPE_E3 for
	// Microsoft 365 E3.
	// +required
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_.-]{1,64}$`
	SkuPartNumber string `json:"skuPartNumber"`

	// displayName is the product's name, e.g. "Microsoft 365 E3".
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName,omitempty"`

	// subscriptions are the purchases of this product. Usable seats are the
	// sum over Enabled and Warning subscriptions.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	Subscriptions []Subscription `json:"subscriptions"`

	// servicePlans are the services the product includes.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=128
	ServicePlans []ServicePlan `json:"servicePlans,omitempty"`
}

// LicenseSkuStatus is the seat accounting of the SKU, written by the controller.
type LicenseSkuStatus struct {
	// observedGeneration is the metadata.generation this status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// seats is the usable capacity: seats of Enabled and Warning subscriptions.
	// +optional
	Seats int64 `json:"seats"`

	// assigned is the number of users holding a seat.
	// +optional
	Assigned int64 `json:"assigned"`

	// requested is the number of users asking for this SKU (directly or
	// through a group), whether they got a seat or not.
	// +optional
	Requested int64 `json:"requested"`

	// waiting is the number of users queued for a seat (reason InsufficientSeats).
	// +optional
	Waiting int64 `json:"waiting"`

	// available is seats - assigned, never below 0.
	// +optional
	Available int64 `json:"available"`

	// conditions: Ready, InsufficientSeats, Overallocated.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// LicenseSku is a purchased license product (Microsoft 365 E3, Exchange
// Online Plan 1, ...) with its seats and service plans.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=sku;skus,categories=licensing
// +kubebuilder:printcolumn:name="Part Number",type=string,JSONPath=`.spec.skuPartNumber`
// +kubebuilder:printcolumn:name="Seats",type=integer,JSONPath=`.status.seats`
// +kubebuilder:printcolumn:name="Assigned",type=integer,JSONPath=`.status.assigned`
// +kubebuilder:printcolumn:name="Available",type=integer,JSONPath=`.status.available`
// +kubebuilder:printcolumn:name="Waiting",type=integer,JSONPath=`.status.waiting`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type LicenseSku struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the purchased product, written by you.
	// +required
	Spec LicenseSkuSpec `json:"spec"`

	// status is the seat accounting, written by the controller.
	// +optional
	Status LicenseSkuStatus `json:"status,omitempty"`
}

// LicenseSkuList contains a list of LicenseSku.
// +kubebuilder:object:root=true
type LicenseSkuList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []LicenseSku `json:"items"`
}

func init() {
	SchemeBuilder.Register(&LicenseSku{}, &LicenseSkuList{})
}
