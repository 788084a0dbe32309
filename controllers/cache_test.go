package controllers

import (
	"fmt"
	"reflect"
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
				SKU: s("m365-e3"), State: s("Active"), AssignedBy: []string{s("Group/all")}, DisabledPlans: []string{s("TEAMS1")},
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
		"enabled plan": {a.Status.Licenses[0].DisabledPlans[0], b.Status.Licenses[0].DisabledPlans[0]},
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

func TestCacheTransformSharesListsAndCutsSpareCapacity(t *testing.T) {
	transform := CacheTransform()
	a, b := decodedUser(), decodedUser()
	// As the JSON decoder leaves them: room for more than was decoded.
	for _, u := range []*licv1.UserLicense{a, b} {
		u.Status.Licenses = append(make([]licv1.LicenseStatus, 0, 16), u.Status.Licenses...)
		u.Status.Licenses[0].DisabledPlans = append(make([]string, 0, 8), "TEAMS1", "EXCHANGE_S_STANDARD")
		u.Status.Groups = append(make([]string, 0, 4), "all")
		u.Labels = map[string]string{"dept": "sales", "site": "berlin"}
	}
	want := b.DeepCopy()
	want.ManagedFields = nil
	for _, u := range []*licv1.UserLicense{a, b} {
		if _, err := transform(u); err != nil {
			t.Fatal(err)
		}
	}
	if !equality.Semantic.DeepEqual(b, want) {
		t.Fatalf("transform changed the object:\n got %+v\nwant %+v", b, want)
	}
	if c := cap(a.Status.Licenses); c != 1 {
		t.Errorf("licenses keep capacity %d for 1 entry", c)
	}
	if c := cap(a.Status.Groups); c != 1 {
		t.Errorf("groups keep capacity %d for 1 entry", c)
	}
	pa, pb := a.Status.Licenses[0].DisabledPlans, b.Status.Licenses[0].DisabledPlans
	if &pa[0] != &pb[0] || cap(pa) != 2 {
		t.Errorf("identical disabledPlans are not one exact-length list (cap %d)", cap(pa))
	}
	if &a.Status.Licenses[0].AssignedBy[0] != &b.Status.Licenses[0].AssignedBy[0] {
		t.Errorf("identical assignedBy lists are not shared")
	}
	if reflect.ValueOf(a.Labels).UnsafePointer() != reflect.ValueOf(b.Labels).UnsafePointer() {
		t.Errorf("identical label sets are not shared")
	}
	// Different lists stay different.
	c := decodedUser()
	c.Status.Licenses[0].DisabledPlans = []string{"TEAMS1", "SWAY"}
	c.Labels = map[string]string{"dept": "sales", "site": "paris"}
	if _, err := transform(c); err != nil {
		t.Fatal(err)
	}
	if got := c.Status.Licenses[0].DisabledPlans; got[1] != "SWAY" {
		t.Errorf("a different list was replaced: %q", got)
	}
	if c.Labels["site"] != "paris" {
		t.Errorf("a different label set was replaced: %v", c.Labels)
	}
}

func TestSharerIsBounded(t *testing.T) {
	s := newSharer(2)
	for i := range 10 {
		s.strings([]string{fmt.Sprint(i)})
	}
	if n := len(s.lists); n != 2 {
		t.Fatalf("sharer holds %d lists, want its bound 2", n)
	}
	// Beyond the bound lists pass through, still correct.
	if got := s.strings([]string{"x", "y"}); len(got) != 2 || got[0] != "x" || got[1] != "y" {
		t.Fatalf("a list beyond the bound came back as %q", got)
	}
}
