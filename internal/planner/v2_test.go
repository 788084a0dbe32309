package planner

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// TestAllocationV2 has one case per problem that allocation v2 fixes
// (issue 11), written from the admin's side; each failed with the first
// planner. They use only state and reason, so that they also run against
// it.
func TestAllocationV2(t *testing.T) {
	// E3's Exchange conflicts with Exchange Online (Plan 1)'s.
	e3 := func(seats int64) *licv1.LicenseSku {
		return sku("m365-e3", "SPE_E3", seats, conflicts(plan("EXCHANGE_S_ENTERPRISE"), "EXCHANGE_S_STANDARD"), plan("TEAMS1"))
	}
	exo := func() *licv1.LicenseSku { return sku("exo-p1", "EXCHANGESTANDARD", 10, plan("EXCHANGE_S_STANDARD")) }
	waiting := func(u *licv1.UserLicense, skuName string, since metav1.Time) *licv1.UserLicense {
		u.Status.Licenses = append(u.Status.Licenses, licv1.LicenseStatus{SKU: skuName, State: licv1.LicenseStateError,
			Reason: licv1.ReasonInsufficientSeats, Message: "waits", WaitingSince: &since, LastTransitionTime: since})
		return u
	}
	tests := []struct {
		name   string
		tenant tenant
		check  func(t *testing.T, o outcome)
	}{{
		name: "a SKU waiting for a seat blocks nothing: kim gets Exchange Plan 1 while E3 has no free seat",
		tenant: tenant{
			skus:   []*licv1.LicenseSku{e3(1), exo()},
			groups: []*licv1.LicenseGroup{group("mail", 0, members("kim@contoso.com"), lic("exo-p1"))},
			users:  []*licv1.UserLicense{holding(user("bob@contoso.com", lic("m365-e3")), "m365-e3"), user("kim@contoso.com", lic("m365-e3"))},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("kim", "exo-p1"), active, "", nil, nil)
			// E3 now conflicts with the Exchange Plan 1 kim holds (rule 7:
			// the first reason that holds).
			expectLicense(t, o.license("kim", "m365-e3"), failed, licv1.ReasonMutuallyExclusivePlans, nil, nil)
		},
	}, {
		name: "a held license is not taken away by a new conflicting assignment: ann keeps Exchange Plan 1",
		tenant: tenant{
			skus:   []*licv1.LicenseSku{e3(10), exo()},
			groups: []*licv1.LicenseGroup{group("mail", 0, members("ann@contoso.com"), lic("exo-p1"))},
			users:  []*licv1.UserLicense{holding(user("ann@contoso.com", lic("m365-e3")), "exo-p1")},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("ann", "exo-p1"), active, "", nil, nil)
			expectLicense(t, o.license("ann", "m365-e3"), failed, licv1.ReasonMutuallyExclusivePlans, nil, nil)
			if r := o.userResult("ann"); r.Releases != nil {
				t.Errorf("ann releases %v", r.Releases)
			}
		},
	}, {
		name: "lowering a group's priority does not revoke what its members hold",
		tenant: tenant{
			skus: []*licv1.LicenseSku{e3(10), exo()},
			groups: []*licv1.LicenseGroup{
				group("mail", 0, members("ann@contoso.com"), lic("exo-p1")), // was 50, now below office
				group("office", 10, members("ann@contoso.com"), lic("m365-e3")),
			},
			users: []*licv1.UserLicense{holding(user("ann@contoso.com"), "exo-p1")},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("ann", "exo-p1"), active, "", nil, nil)
			expectLicense(t, o.license("ann", "m365-e3"), failed, licv1.ReasonMutuallyExclusivePlans, nil, nil)
		},
	}, {
		name: "an add-on whose prerequisite comes only from a SKU waiting for a seat waits too, and takes no seat",
		tenant: tenant{
			skus: []*licv1.LicenseSku{e3(1), sku("copilot", "COPILOT", 5, requires(plan("COPILOT_CHAT"), "TEAMS1"))},
			users: []*licv1.UserLicense{
				holding(user("bob@contoso.com", lic("m365-e3")), "m365-e3"),
				user("ann@contoso.com", lic("m365-e3"), lic("copilot")),
			},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("ann", "m365-e3"), failed, licv1.ReasonInsufficientSeats, nil, nil)
			expectLicense(t, o.license("ann", "copilot"), failed, licv1.ReasonMissingDependency, nil, nil)
			if st := o.sku("copilot"); st.Assigned != 0 {
				t.Errorf("copilot assigned %d, want 0", st.Assigned)
			}
		},
	}, {
		name: "a freed seat goes to whoever has waited longest, not to the smallest name",
		tenant: tenant{
			skus:   []*licv1.LicenseSku{sku("visio", "VISIO", 1)},
			groups: []*licv1.LicenseGroup{group("designers", 0, members("ann@contoso.com", "zed@contoso.com"), lic("visio"))},
			users: []*licv1.UserLicense{
				waiting(user("ann@contoso.com"), "visio", t1),
				waiting(user("zed@contoso.com"), "visio", t0),
			},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("zed", "visio"), active, "", nil, nil)
			expectLicense(t, o.license("ann", "visio"), failed, licv1.ReasonInsufficientSeats, nil, nil)
		},
	}, {
		name: "userPrincipalNames compare case-insensitively: group members match, and two spellings are one user with one seat",
		tenant: tenant{
			skus:   []*licv1.LicenseSku{sku("visio", "VISIO", 5)},
			groups: []*licv1.LicenseGroup{group("designers", 0, members("Ann.Lee@X.com"), lic("visio"))},
			users: []*licv1.UserLicense{
				withName(user("ann.lee@x.com"), "ann-lee"),
				withName(user("ANN.LEE@X.COM", lic("visio")), "ann-lee-upper"),
			},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("ann-lee", "visio"), active, "", nil, nil)
			expectLicense(t, o.license("ann-lee-upper", "visio"), failed, licv1.ReasonDuplicateUserPrincipalName, nil, nil)
			if g := o.group("designers"); g.Members != 1 || len(g.UnresolvedMembers) != 0 {
				t.Errorf("members %d, unresolved %v", g.Members, g.UnresolvedMembers)
			}
			if st := o.sku("visio"); st.Assigned != 1 {
				t.Errorf("visio assigned %d, want 1", st.Assigned)
			}
		},
	}, {
		name: "a new UserLicense repeating a UPN under a lower name does not take over the holder's seat",
		tenant: tenant{
			skus: []*licv1.LicenseSku{sku("visio", "VISIO", 1)},
			users: []*licv1.UserLicense{
				holding(withName(user("kim@contoso.com", lic("visio")), "kim"), "visio"),
				withName(user("kim@contoso.com", lic("visio")), "a-kim"),
			},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("kim", "visio"), active, "", nil, nil)
			expectLicense(t, o.license("a-kim", "visio"), failed, licv1.ReasonDuplicateUserPrincipalName, nil, nil)
		},
	}, {
		name: "a group naming an unknown plan does not fail a license that a valid assignment asks for",
		tenant: tenant{
			skus:   []*licv1.LicenseSku{e3(10)},
			groups: []*licv1.LicenseGroup{group("sales", 0, members("ann@contoso.com"), licOff("m365-e3", "SWAY"))},
			users:  []*licv1.UserLicense{user("ann@contoso.com", lic("m365-e3"))},
		},
		check: func(t *testing.T, o outcome) {
			l := o.license("ann", "m365-e3")
			expectLicense(t, l, active, "", nil, nil, "Group/sales is ignored", `"SWAY"`)
			expectCondition(t, o.group("sales").Conditions, licv1.ConditionReady, metav1.ConditionFalse, licv1.ReasonUnknownServicePlan)
		},
	}, {
		name: "holders of a SKU whose only subscription is LockedOut keep the seat, Disabled, and are not Ready",
		tenant: tenant{
			skus:  []*licv1.LicenseSku{withSubs(sku("visio", "VISIO", 0), sub("main", 5, licv1.SubscriptionLockedOut))},
			users: []*licv1.UserLicense{holding(user("ann@contoso.com", lic("visio")), "visio"), user("bob@contoso.com", lic("visio"))},
		},
		check: func(t *testing.T, o outcome) {
			// (Literals: the first planner's API has no such constants.)
			expectLicense(t, o.license("ann", "visio"), "Disabled", "SubscriptionInactive", nil, nil, "LockedOut")
			expectCondition(t, o.user("ann").Conditions, licv1.ConditionReady, metav1.ConditionFalse, "LicensesDisabled")
			expectLicense(t, o.license("bob", "visio"), failed, licv1.ReasonInsufficientSeats, nil, nil)
			if st := o.sku("visio"); st.Assigned != 1 || st.Seats != 0 {
				t.Errorf("visio seats/assigned %d/%d, want 0/1", st.Seats, st.Assigned)
			}
			if r := o.userResult("ann"); r.Releases != nil {
				t.Errorf("a Disabled holder releases %v", r.Releases)
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := run(t, tc.tenant.input(t1))
			tc.check(t, o)
		})
	}
}
