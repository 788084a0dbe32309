package v1alpha1

// LicenseAssignment assigns one LicenseSku, with the service plans the
// assignment leaves off (disabledPlans) or turns on (enabledPlans).
// +kubebuilder:validation:XValidation:rule="!(has(self.disabledPlans) && has(self.enabledPlans))",message="set either disabledPlans or enabledPlans, not both"
type LicenseAssignment struct {
	// sku is the name of a LicenseSku in the same namespace (metadata.name,
	// not the part number). A missing SKU is reported in status with reason
	// SkuNotFound and is picked up as soon as the SKU is created.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	SKU string `json:"sku"`

	// disabledPlans lists service plans of the SKU to switch off for this
	// assignment; every other plan of the SKU is enabled, including plans
	// added to the SKU later. A name the SKU does not have is reported in
	// status with reason UnknownServicePlan.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=128
	// +kubebuilder:validation:items:Pattern=`^[A-Za-z0-9_.-]{1,64}$`
	DisabledPlans []string `json:"disabledPlans,omitempty"`

	// enabledPlans is an allow-list: exactly these service plans of the SKU
	// are enabled, and plans added to the SKU later stay off. Mutually
	// exclusive with disabledPlans.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=128
	// +kubebuilder:validation:items:Pattern=`^[A-Za-z0-9_.-]{1,64}$`
	EnabledPlans []string `json:"enabledPlans,omitempty"`
}
