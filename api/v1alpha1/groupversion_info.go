// Package v1alpha1 contains the API of license-operator: LicenseSku (a
// purchased product with seats and service plans), LicenseGroup (users who
// get licenses through group membership) and UserLicense (one per user, with
// usage location and direct assignments).
//
// +kubebuilder:object:generate=true
// +groupName=licensing.licenseops.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is group version used to register these objects.
	GroupVersion = schema.GroupVersion{Group: "licensing.licenseops.dev", Version: "v1alpha1"}

	// SchemeBuilder is used to add go types to the GroupVersionKind scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types in this group-version to the given scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
