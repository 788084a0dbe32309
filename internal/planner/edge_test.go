package planner

import (
	"fmt"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// TestPlanLongLists covers lists longer than the planner's compact
// per-request fields hold: a current status with hundreds of entries
// (the holder's entry far down) and a SKU assigned by hundreds of groups.
func TestPlanLongLists(t *testing.T) {
	holder := user("ann@contoso.com", lic("visio"))
	for i := range 300 {
		holder.Status.Licenses = append(holder.Status.Licenses, licv1.LicenseStatus{
			SKU: fmt.Sprintf("gone-%03d", i), State: licv1.LicenseStateActive, LastTransitionTime: t0})
	}
	holder.Status.Licenses = append(holder.Status.Licenses, licv1.LicenseStatus{SKU: "visio", State: licv1.LicenseStateActive, LastTransitionTime: t0})
	var groups []*licv1.LicenseGroup
	var want []string
	for i := range 300 {
		name := fmt.Sprintf("g%03d", i)
		groups = append(groups, group(name, int32(i), members("bob@contoso.com"), lic("visio")))
		want = append(want, "Group/"+name)
	}
	tn := tenant{
		skus:   []*licv1.LicenseSku{sku("visio", "VISIO", 1)},
		groups: groups,
		users:  []*licv1.UserLicense{holder, user("bob@contoso.com")},
	}
	o := run(t, tn.input(t1))
	l := o.license("ann", "visio")
	expectLicense(t, l, active, "", []string{"Direct"}, nil)
	if !l.LastTransitionTime.Equal(&t0) {
		t.Errorf("holder's time not kept: %v", l.LastTransitionTime)
	}
	if r := o.userResult("ann"); len(r.Releases) != 300 || r.Grants != nil {
		t.Errorf("releases/grants = %d/%v", len(r.Releases), r.Grants)
	}
	// Lists are bounded: assignedBy names the first 16 sources, status.groups
	// the first 100 groups, and the messages say how many there are.
	expectLicense(t, o.license("bob", "visio"), failed, licv1.ReasonInsufficientSeats, want[:licv1.MaxAssignedBy], nil,
		"300 sources assign it: assignedBy lists the first 16")
	if g := o.user("bob").Groups; len(g) != licv1.MaxUserGroups || g[99] != "g099" {
		t.Errorf("bob lists %d groups, the last %q", len(g), g[len(g)-1])
	}
	expectCondition(t, o.user("bob").Conditions, licv1.ConditionReady, metav1.ConditionFalse, licv1.ReasonLicenseErrors,
		"member of 300 groups: status.groups lists the first 100")
	checkInvariants(t, o.in, o.res)
	checkIdempotent(t, o.in, o.res)
}

// TestPlanDuplicateNames: objects sharing a name (an API server never
// returns them, but Plan must stay deterministic and sane).
func TestPlanDuplicateNames(t *testing.T) {
	small := sku("visio", "VISIO", 1, plans("X", "Y")...)
	small.UID = "b"
	big := sku("visio", "VISIO_BIG", 10, plans("X", "Y")...)
	big.UID = "a" // lower UID: in effect
	g1 := group("design", 1, members("ann@contoso.com"), licOff("visio", "X"))
	g2 := group("design", 7, members("ann@contoso.com", "bob@contoso.com"), lic("visio"))
	tn := tenant{
		skus:   []*licv1.LicenseSku{small, big},
		groups: []*licv1.LicenseGroup{g1, g2},
		users:  []*licv1.UserLicense{user("ann@contoso.com"), user("bob@contoso.com")},
	}
	o := run(t, tn.input(t1))
	// The group name is one source; both objects' plans and members count.
	l := o.license("ann", "visio")
	expectLicense(t, l, active, "", []string{"Group/design"}, []string{})
	if l.SkuPartNumber != "VISIO_BIG" {
		t.Errorf("SKU in effect: %s", l.SkuPartNumber)
	}
	if g := o.user("ann").Groups; !slices.Equal(g, []string{"design"}) {
		t.Errorf("groups = %v", g)
	}
	if st := o.res.SKUs[1].Status; st.Assigned != 2 || st.Seats != 10 {
		t.Errorf("sku in effect: %+v", st)
	}
	if st := o.res.SKUs[0].Status; st.Assigned != 0 || st.Requested != 0 || st.Seats != 1 {
		t.Errorf("shadowed sku counts users: %+v", st)
	}
	checkInvariants(t, o.in, o.res)
	checkPermutations(t, o.in, o.res, 1)
}

// TestPlanConvergesWhenTheSKUArrives: references are status errors that
// resolve by themselves once the missing object is applied (GitOps order).
func TestPlanConvergesWhenTheSKUArrives(t *testing.T) {
	tn := tenant{
		groups: []*licv1.LicenseGroup{group("staff", 0, members("ann@contoso.com"), lic("m365-e3"))},
		users:  []*licv1.UserLicense{user("ann@contoso.com")},
	}
	first := run(t, tn.input(t0))
	expectLicense(t, first.license("ann", "m365-e3"), failed, licv1.ReasonSkuNotFound, nil, nil)
	expectCondition(t, first.group("staff").Conditions, licv1.ConditionReady, metav1.ConditionFalse, licv1.ReasonLicenseErrors, "SkuNotFound")

	in := applied(first.in, first.res, t1)
	in.SKUs = []*licv1.LicenseSku{sku("m365-e3", "SPE_E3", 5, plans("EXCHANGE")...)}
	second := run(t, in)
	l := second.license("ann", "m365-e3")
	expectLicense(t, l, active, "", nil, []string{})
	if !l.LastTransitionTime.Equal(&t1) {
		t.Errorf("lastTransitionTime = %v, want %v", l.LastTransitionTime, t1)
	}
	if r := second.userResult("ann"); !slices.Equal(r.Grants, []string{"m365-e3"}) {
		t.Errorf("grants = %v", r.Grants)
	}
	expectCondition(t, second.user("ann").Conditions, licv1.ConditionReady, metav1.ConditionTrue, licv1.ReasonAllLicensesActive)
	if c := condition(second.user("ann").Conditions, licv1.ConditionReady); !c.LastTransitionTime.Equal(&t1) {
		t.Errorf("Ready lastTransitionTime = %v, want %v", c.LastTransitionTime, t1)
	}
	expectCondition(t, second.group("staff").Conditions, licv1.ConditionReady, metav1.ConditionTrue, licv1.ReasonAllLicensesActive)
}

// TestPlanRewritesWhatChanged: after converging, every kind of change to
// what a status shows is seen, and the rest of the status is kept.
func TestPlanRewritesWhatChanged(t *testing.T) {
	base := func() tenant {
		return tenant{
			skus: []*licv1.LicenseSku{sku("visio", "VISIO", 1, plans("A", "B")...), sku("e3", "SPE_E3", 10, plans("X", "Y")...)},
			groups: []*licv1.LicenseGroup{
				group("design", 0, members("ann@contoso.com", "bob@contoso.com"), lic("visio"), licOff("e3", "Y")),
			},
			users: []*licv1.UserLicense{user("ann@contoso.com"), user("bob@contoso.com")},
		}
	}
	tests := []struct {
		name   string
		change func(in *Input)
		check  func(t *testing.T, o outcome)
	}{{
		name:   "disabled plans",
		change: func(in *Input) { in.Groups[0].Spec.Licenses[1].DisabledPlans = []string{"X"} },
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("ann", "e3"), active, "", nil, []string{"X"})
		},
	}, {
		name:   "part number",
		change: func(in *Input) { in.SKUs[1].Spec.SkuPartNumber = "SPE_E3_NEW" },
		check: func(t *testing.T, o outcome) {
			if got := o.license("ann", "e3").SkuPartNumber; got != "SPE_E3_NEW" {
				t.Errorf("part number %q", got)
			}
		},
	}, {
		name: "sources",
		change: func(in *Input) {
			in.Groups = append(in.Groups, group("all", 0, members("ann@contoso.com"), lic("e3")))
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("ann", "e3"), active, "", []string{"Group/all", "Group/design"}, []string{})
			if g := o.user("ann").Groups; !slices.Equal(g, []string{"all", "design"}) {
				t.Errorf("groups = %v", g)
			}
		},
	}, {
		name:   "failure message",
		change: func(in *Input) { in.SKUs[0].Spec.Subscriptions[0].Seats = 0 },
		check: func(t *testing.T, o outcome) {
			// bob waited for "all 1 seats"; the SKU now has none.
			expectLicense(t, o.license("bob", "visio"), failed, licv1.ReasonInsufficientSeats, nil, nil, "VISIO has no seat")
			if w := o.license("bob", "visio").WaitingSince; w == nil || !w.Equal(&t0) {
				t.Errorf("waitingSince = %v, want %v (kept while waiting)", w, t0)
			}
		},
	}, {
		name:   "generation",
		change: func(in *Input) { in.Users[1].Generation = 3 },
		check: func(t *testing.T, o outcome) {
			st := o.user("bob")
			if st.ObservedGeneration != 3 {
				t.Errorf("observedGeneration = %d", st.ObservedGeneration)
			}
			l := o.license("bob", "visio")
			if w := l.WaitingSince; w == nil || !w.Equal(&t0) || !l.LastTransitionTime.Equal(&t0) {
				t.Errorf("times not kept on rewrite: waitingSince %v, lastTransitionTime %v", w, l.LastTransitionTime)
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first := run(t, base().input(t0))
			expectLicense(t, first.license("bob", "visio"), failed, licv1.ReasonInsufficientSeats, nil, nil)
			in := applied(first.in, first.res, t1)
			tc.change(&in)
			o := run(t, in)
			changed := false
			for _, r := range o.res.Users {
				changed = changed || r.Changed
			}
			if !changed {
				t.Fatalf("no user status changed")
			}
			tc.check(t, o)
			checkInvariants(t, o.in, o.res)
		})
	}
}

// TestPlanSelectorIntersection: a selector with several matchLabels
// selects the users carrying all of them (the index intersects its lists).
func TestPlanSelectorIntersection(t *testing.T) {
	tn := tenant{
		skus: []*licv1.LicenseSku{sku("e3", "SPE_E3", 10)},
		groups: []*licv1.LicenseGroup{
			withSelector(group("berlin-sales", 0, nil, lic("e3")), matchLabels("dept", "sales", "site", "berlin")),
			withSelector(group("sales-in", 0, nil, lic("e3")), &metav1.LabelSelector{
				MatchLabels: map[string]string{"dept": "sales"},
				MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: "site", Operator: metav1.LabelSelectorOpIn, Values: []string{"berlin", "paris"}},
					{Key: "level", Operator: metav1.LabelSelectorOpExists},
				}}),
		},
		users: []*licv1.UserLicense{
			withLabels(user("ann@contoso.com"), "dept", "sales", "site", "berlin", "level", "1"),
			withLabels(user("bob@contoso.com"), "dept", "sales", "site", "paris", "level", "2"),
			withLabels(user("cid@contoso.com"), "dept", "hr", "site", "berlin", "level", "1"),
			withLabels(user("dan@contoso.com"), "dept", "sales", "site", "berlin"),
			withLabels(user("eve@contoso.com"), "dept", "sales", "site", "rome", "level", "1"),
		},
	}
	o := run(t, tn.input(t1))
	want := map[string][]string{
		"ann": {"berlin-sales", "sales-in"}, "bob": {"sales-in"}, "cid": nil, "dan": {"berlin-sales"}, "eve": nil,
	}
	for name, groups := range want {
		if got := o.user(name).Groups; !slices.Equal(got, groups) {
			t.Errorf("%s groups = %v, want %v", name, got, groups)
		}
	}
}
