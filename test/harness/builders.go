package harness

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// Sku is a LicenseSku with one Enabled subscription "main" of seats seats.
func Sku(ns, name, part string, seats int64, plans ...licv1.ServicePlan) *licv1.LicenseSku {
	return &licv1.LicenseSku{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: licv1.LicenseSkuSpec{
			SkuPartNumber: part,
			Subscriptions: []licv1.Subscription{{Name: "main", Seats: seats}},
			ServicePlans:  plans,
		},
	}
}

// Group is a LicenseGroup of the named members (userPrincipalNames) giving
// each of skus.
func Group(ns, name string, priority int32, members []string, skus ...string) *licv1.LicenseGroup {
	g := &licv1.LicenseGroup{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       licv1.LicenseGroupSpec{Members: members, Priority: priority},
	}
	for _, s := range skus {
		g.Spec.Licenses = append(g.Spec.Licenses, licv1.LicenseAssignment{SKU: s})
	}
	return g
}

// User is a UserLicense name with userPrincipalName name@contoso.com, the
// usage location and the direct assignments of skus.
func User(ns, name, location string, direct ...string) *licv1.UserLicense {
	u := &licv1.UserLicense{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       licv1.UserLicenseSpec{UserPrincipalName: name + "@contoso.com", UsageLocation: location},
	}
	for _, s := range direct {
		u.Spec.Licenses = append(u.Spec.Licenses, licv1.LicenseAssignment{SKU: s})
	}
	return u
}
