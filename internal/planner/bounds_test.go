package planner

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// maxStatusBytes is the most a status may take, whatever the tenant's
// objects: far below etcd's 1.5 MiB object limit, and what the manager's
// memory budget per object assumes.
const maxStatusBytes = 256 << 10

// TestStatusesBounded plans hostile tenants that any namespace editor can
// create, and checks that no status exceeds maxStatusBytes or its lists'
// MaxItems, and that the planner's own memory grows with the objects, not
// with their product (users x groups x SKUs).
func TestStatusesBounded(t *testing.T) {
	long := func(prefix string, n int) string { return prefix + strings.Repeat("x", n-len(prefix)) }
	tests := []struct {
		name   string
		tenant func() Input
	}{{
		name: "groups selecting everyone with 64 missing SKUs each",
		tenant: func() Input {
			var in Input
			for g := range 40 {
				var lics []licv1.LicenseAssignment
				for s := range 64 {
					lics = append(lics, lic(fmt.Sprintf("missing-%02d-%02d", g, s)))
				}
				in.Groups = append(in.Groups, withSelector(group(fmt.Sprintf("g%02d", g), 0, nil, lics...), &metav1.LabelSelector{}))
			}
			for u := range 200 {
				in.Users = append(in.Users, user(fmt.Sprintf("u%04d@contoso.com", u)))
			}
			return in
		},
	}, {
		name: "the largest entries the schema allows",
		tenant: func() Input {
			var in Input
			var planList []licv1.ServicePlan
			var planNames []string
			for p := range 128 {
				name := long(fmt.Sprintf("P%03d", p), 64)
				planList = append(planList, plan(name))
				planNames = append(planNames, name)
			}
			var skus []string
			for s := range 120 {
				name := long(fmt.Sprintf("s%03d-", s), 253)
				skus = append(skus, name)
				in.SKUs = append(in.SKUs, sku(name, long("PART", 64), 1000, planList...))
			}
			for g := range 300 {
				var lics []licv1.LicenseAssignment
				for _, s := range skus[:64] {
					lics = append(lics, licOff(s, planNames...))
				}
				in.Groups = append(in.Groups, withSelector(group(long(fmt.Sprintf("g%03d-", g), 253), int32(g), nil, lics...), &metav1.LabelSelector{}))
			}
			var direct []licv1.LicenseAssignment
			for _, s := range skus[56:120] {
				direct = append(direct, licOff(s, planNames[:127]...))
			}
			in.Users = append(in.Users, user("ann@contoso.com", direct...), user("bob@contoso.com"))
			return in
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.tenant()
			in.Now = t1
			res := Plan(in)
			largest := 0
			for i, r := range res.Users {
				b, _ := json.Marshal(r.Status)
				largest = max(largest, len(b))
				if len(b) > maxStatusBytes {
					t.Errorf("user %s: status of %d bytes", in.Users[i].Name, len(b))
				}
				st := r.Status
				if len(st.Licenses) > licv1.MaxUserLicenseStatuses || len(st.Groups) > licv1.MaxUserGroups {
					t.Errorf("user %s: %d licenses, %d groups listed", in.Users[i].Name, len(st.Licenses), len(st.Groups))
				}
				for _, l := range st.Licenses {
					if len(l.AssignedBy) > licv1.MaxAssignedBy || len(l.DisabledPlans) > 128 || len(l.Message) > licv1.MaxStatusMessage {
						t.Errorf("user %s %s: %d sources, %d disabled plans, message of %d bytes", in.Users[i].Name, l.SKU, len(l.AssignedBy), len(l.DisabledPlans), len(l.Message))
					}
				}
				for _, c := range st.Conditions {
					if len(c.Message) > 32768 {
						t.Errorf("user %s: condition %s message of %d bytes", in.Users[i].Name, c.Type, len(c.Message))
					}
				}
				if st.RequestedLicenses > int32(len(st.Licenses)) {
					ready := condition(st.Conditions, licv1.ConditionReady)
					if ready.Status != metav1.ConditionFalse || !strings.Contains(ready.Message, "not listed and not assigned") {
						t.Errorf("user %s: %d of %d licenses listed, but Ready says %s: %s", in.Users[i].Name, len(st.Licenses), st.RequestedLicenses, ready.Status, ready.Message)
					}
					if c := condition(st.Conditions, licv1.ConditionStalled); c.Status != metav1.ConditionTrue {
						t.Errorf("user %s: not Stalled with unlisted licenses: %+v", in.Users[i].Name, c)
					}
				}
			}
			t.Logf("largest user status: %d bytes", largest)
			for i, r := range res.Groups {
				if b, _ := json.Marshal(r.Status); len(b) > maxStatusBytes {
					t.Errorf("group %s: status of %d bytes", in.Groups[i].Name, len(b))
				}
			}
			for i, r := range res.SKUs {
				if b, _ := json.Marshal(r.Status); len(b) > maxStatusBytes {
					t.Errorf("sku %s: status of %d bytes", in.SKUs[i].Name, len(b))
				}
			}
		})
	}
}

// BenchmarkHostileTenant measures the planner on the hostile tenant of the
// operations guide: 2,000 users, 40 groups selecting everyone, 64 missing
// SKUs each. Its memory must stay proportional to the users (each lists at
// most MaxUserLicenseStatuses requests), not to users x groups x SKUs.
func BenchmarkHostileTenant(b *testing.B) {
	var in Input
	for g := range 40 {
		var lics []licv1.LicenseAssignment
		for s := range 64 {
			lics = append(lics, lic(fmt.Sprintf("missing-%02d-%02d", g, s)))
		}
		in.Groups = append(in.Groups, withSelector(group(fmt.Sprintf("g%02d", g), 0, nil, lics...), &metav1.LabelSelector{}))
	}
	for u := range 2000 {
		in.Users = append(in.Users, user(fmt.Sprintf("u%04d@contoso.com", u)))
	}
	in.Now = t1
	b.ReportAllocs()
	for b.Loop() {
		Plan(in)
	}
}
