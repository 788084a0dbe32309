package controllers

import (
	"testing"
	"unsafe"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

func decodedUser() *licv1.UserLicense {
	// Fresh strings, as a decoder makes them.
	s := func(v string) string { return string([]byte(v)) }
	return &licv1.UserLicense{
		ObjectMeta: metav1.ObjectMeta{
			Name: "ann", Namespace: s("contoso"), Labels: map[string]string{s("dept"): s("sales")},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		},
		Spec: licv1.UserLicenseSpec{UserPrincipalName: "ann@contoso.com", UsageLocation: s("DE")},
		Status: licv1.UserLicenseStatus{
			Licenses: []licv1.LicenseStatus{{
				SKU: s("m365-e3"), State: s("Active"), AssignedBy: []string{s("Group/all")}, EnabledPlans: []string{s("TEAMS1")},
			}},
			Conditions: []metav1.Condition{{Type: s("Ready"), Reason: s("AllLicensesActive"), Message: s("all licenses are active")}},
		},
	}
}

func TestCacheTransformInternsWithoutChangingObjects(t *testing.T) {
	transform := CacheTransform()
	a, b := decodedUser(), decodedUser()
	want := decodedUser()
	want.ManagedFields = nil

	for _, u := range []*licv1.UserLicense{a, b} {
		out, err := transform(u)
		if err != nil {
			t.Fatal(err)
		}
		if !equality.Semantic.DeepEqual(out, want) {
			t.Fatalf("transform changed the object:\n got %+v\nwant %+v", out, want)
		}
	}
	same := func(x, y string) bool { return unsafe.StringData(x) == unsafe.StringData(y) }
	pairs := map[string][2]string{
		"message":      {a.Status.Conditions[0].Message, b.Status.Conditions[0].Message},
		"enabled plan": {a.Status.Licenses[0].EnabledPlans[0], b.Status.Licenses[0].EnabledPlans[0]},
		"assigned by":  {a.Status.Licenses[0].AssignedBy[0], b.Status.Licenses[0].AssignedBy[0]},
		"namespace":    {a.Namespace, b.Namespace},
		"label value":  {a.Labels["dept"], b.Labels["dept"]},
	}
	for what, p := range pairs {
		if !same(p[0], p[1]) {
			t.Errorf("%s is not shared between the two cached objects", what)
		}
	}
}
