package planner

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unsafe"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

const (
	active = licv1.LicenseStateActive
	failed = licv1.LicenseStateError
)

// expectLicense asserts one license entry field by field; plans are the
// disabled plans ([]string{} for none, nil to skip the check).
func expectLicense(t *testing.T, got licv1.LicenseStatus, state, reason string, by []string, plans []string, msgParts ...string) {
	t.Helper()
	if got.State != state || got.Reason != reason {
		t.Errorf("%s: state/reason = %s/%s, want %s/%s (message %q)", got.SKU, got.State, got.Reason, state, reason, got.Message)
	}
	if by != nil && !slices.Equal(got.AssignedBy, by) {
		t.Errorf("%s: assignedBy = %v, want %v", got.SKU, got.AssignedBy, by)
	}
	if plans != nil && !slices.Equal(got.DisabledPlans, plans) {
		t.Errorf("%s: disabledPlans = %v, want %v", got.SKU, got.DisabledPlans, plans)
	}
	if state == active && got.Message != "" && len(msgParts) == 0 {
		t.Errorf("%s: Active license has message %q", got.SKU, got.Message)
	}
	for _, part := range msgParts {
		if !strings.Contains(got.Message, part) {
			t.Errorf("%s: message %q does not contain %q", got.SKU, got.Message, part)
		}
	}
}

// expectCondition asserts a condition's status and reason, and that its
// message contains every part.
func expectCondition(t *testing.T, conds []metav1.Condition, typ string, status metav1.ConditionStatus, reason string, msgParts ...string) {
	t.Helper()
	c := condition(conds, typ)
	if c.Status != status || c.Reason != reason {
		t.Errorf("condition %s = %s/%s, want %s/%s (message %q)", typ, c.Status, c.Reason, status, reason, c.Message)
	}
	for _, part := range msgParts {
		if !strings.Contains(c.Message, part) {
			t.Errorf("condition %s message %q does not contain %q", typ, c.Message, part)
		}
	}
}

func expectSeats(t *testing.T, st *licv1.LicenseSkuStatus, seats, assigned, requested, waiting, available int64) {
	t.Helper()
	got := [5]int64{st.Seats, st.Assigned, st.Requested, st.Waiting, st.Available}
	want := [5]int64{seats, assigned, requested, waiting, available}
	if got != want {
		t.Errorf("seats/assigned/requested/waiting/available = %v, want %v", got, want)
	}
}

func TestPlanMembershipAndSources(t *testing.T) {
	e3 := func() *licv1.LicenseSku { return sku("m365-e3", "SPE_E3", 10, plans("EXCHANGE", "SWAY", "TEAMS")...) }
	tests := []struct {
		name   string
		tenant tenant
		check  func(t *testing.T, o outcome)
	}{{
		name: "direct and group assignment of one SKU take one seat and list both sources",
		tenant: tenant{
			skus:   []*licv1.LicenseSku{e3()},
			groups: []*licv1.LicenseGroup{group("all-staff", 0, members("ann@contoso.com"), lic("m365-e3"))},
			users:  []*licv1.UserLicense{user("ann@contoso.com", lic("m365-e3"))},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("ann", "m365-e3"), active, "", []string{"Direct", "Group/all-staff"}, []string{})
			if got := o.license("ann", "m365-e3").SkuPartNumber; got != "SPE_E3" {
				t.Errorf("skuPartNumber = %q", got)
			}
			if n := len(o.user("ann").Licenses); n != 1 {
				t.Errorf("%d license entries, want 1", n)
			}
			expectSeats(t, o.sku("m365-e3"), 10, 1, 1, 0, 9)
			expectCondition(t, o.user("ann").Conditions, licv1.ConditionReady, metav1.ConditionTrue, licv1.ReasonAllLicensesActive)
			if g := o.user("ann").Groups; !slices.Equal(g, []string{"all-staff"}) {
				t.Errorf("groups = %v", g)
			}
		},
	}, {
		name: "plans enabled by any source combine",
		tenant: tenant{
			skus:   []*licv1.LicenseSku{e3()},
			groups: []*licv1.LicenseGroup{group("sales", 0, members("ann@contoso.com"), licOff("m365-e3", "SWAY", "TEAMS"))},
			users:  []*licv1.UserLicense{user("ann@contoso.com", licOff("m365-e3", "EXCHANGE", "SWAY"))},
		},
		check: func(t *testing.T, o outcome) {
			// Direct enables TEAMS, the group EXCHANGE; both switch SWAY off.
			expectLicense(t, o.license("ann", "m365-e3"), active, "", []string{"Direct", "Group/sales"}, []string{"SWAY"})
		},
	}, {
		name: "enabledPlans is an allow-list",
		tenant: tenant{
			skus:   []*licv1.LicenseSku{e3()},
			groups: []*licv1.LicenseGroup{group("frontline", 0, members("ann@contoso.com"), licOnly("m365-e3", "TEAMS"))},
			users:  []*licv1.UserLicense{user("ann@contoso.com")},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("ann", "m365-e3"), active, "", []string{"Group/frontline"}, []string{"EXCHANGE", "SWAY"})
		},
	}, {
		name: "members come from the selector and from the list, each counted once",
		tenant: tenant{
			skus: []*licv1.LicenseSku{e3()},
			groups: []*licv1.LicenseGroup{
				withSelector(group("sales", 0, members("bob@contoso.com", "cid@contoso.com"), lic("m365-e3")), matchLabels("dept", "sales")),
				withSelector(group("everyone", 0, nil), &metav1.LabelSelector{}),
				group("nobody", 0, nil, lic("m365-e3")), // nil selector: selects none
			},
			users: []*licv1.UserLicense{
				withLabels(user("ann@contoso.com"), "dept", "sales"),
				withLabels(user("bob@contoso.com"), "dept", "sales"),
				withLabels(user("cid@contoso.com"), "dept", "hr"),
				withLabels(user("dan@contoso.com"), "dept", "hr"),
			},
		},
		check: func(t *testing.T, o outcome) {
			if g := o.group("sales"); g.Members != 3 || g.Licensed != 3 || g.Errors != 0 {
				t.Errorf("sales members/licensed/errors = %d/%d/%d, want 3/3/0", g.Members, g.Licensed, g.Errors)
			}
			if g := o.group("everyone"); g.Members != 4 {
				t.Errorf("everyone has %d members, want 4", g.Members)
			}
			expectCondition(t, o.group("everyone").Conditions, licv1.ConditionReady, metav1.ConditionTrue, licv1.ReasonAllLicensesActive)
			if g := o.group("nobody"); g.Members != 0 {
				t.Errorf("nil selector selected %d members", g.Members)
			}
			if g := o.user("ann").Groups; !slices.Equal(g, []string{"everyone", "sales"}) {
				t.Errorf("ann groups = %v", g)
			}
			if g := o.user("dan").Groups; !slices.Equal(g, []string{"everyone"}) {
				t.Errorf("dan groups = %v", g)
			}
			if n := len(o.user("dan").Licenses); n != 0 {
				t.Errorf("dan has %d licenses, want none", n)
			}
			expectCondition(t, o.user("dan").Conditions, licv1.ConditionReady, metav1.ConditionTrue, licv1.ReasonAllLicensesActive)
			expectSeats(t, o.sku("m365-e3"), 10, 3, 3, 0, 7)
		},
	}, {
		name: "matchExpressions select through In, NotIn and Exists",
		tenant: tenant{
			skus: []*licv1.LicenseSku{e3()},
			groups: []*licv1.LicenseGroup{
				withSelector(group("eu", 0, nil, lic("m365-e3")), &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: "site", Operator: metav1.LabelSelectorOpIn, Values: []string{"berlin", "paris"}},
					{Key: "contractor", Operator: metav1.LabelSelectorOpDoesNotExist},
				}}),
				withSelector(group("not-berlin", 0, nil, lic("m365-e3")), &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: "site", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"berlin"}},
				}}),
			},
			users: []*licv1.UserLicense{
				withLabels(user("ann@contoso.com"), "site", "berlin"),
				withLabels(user("bob@contoso.com"), "site", "paris", "contractor", "yes"),
				withLabels(user("cid@contoso.com"), "site", "boston"),
			},
		},
		check: func(t *testing.T, o outcome) {
			if g := o.user("ann").Groups; !slices.Equal(g, []string{"eu"}) {
				t.Errorf("ann groups = %v", g)
			}
			if g := o.user("bob").Groups; !slices.Equal(g, []string{"not-berlin"}) {
				t.Errorf("bob groups = %v", g)
			}
			if g := o.user("cid").Groups; !slices.Equal(g, []string{"not-berlin"}) {
				t.Errorf("cid groups = %v", g)
			}
		},
	}, {
		name: "an invalid selector selects nobody and says so; listed members still count",
		tenant: tenant{
			skus:   []*licv1.LicenseSku{e3()},
			groups: []*licv1.LicenseGroup{withSelector(group("broken", 0, members("bob@contoso.com"), lic("m365-e3")), matchLabels("bad key!", "x"))},
			users:  []*licv1.UserLicense{withLabels(user("ann@contoso.com"), "bad key!", "x"), user("bob@contoso.com")},
		},
		check: func(t *testing.T, o outcome) {
			if g := o.group("broken"); g.Members != 1 {
				t.Errorf("members = %d, want 1", g.Members)
			}
			expectCondition(t, o.group("broken").Conditions, licv1.ConditionReady, metav1.ConditionFalse, licv1.ReasonInvalidSelector, "memberSelector", "bad key!")
			if n := len(o.user("ann").Licenses); n != 0 {
				t.Errorf("ann got %d licenses through an invalid selector", n)
			}
		},
	}, {
		name: "listed members without a UserLicense are reported",
		tenant: tenant{
			skus:   []*licv1.LicenseSku{e3()},
			groups: []*licv1.LicenseGroup{group("sales", 0, members("zoe@contoso.com", "ann@contoso.com", "ghost@contoso.com"), lic("m365-e3"))},
			users:  []*licv1.UserLicense{user("ann@contoso.com")},
		},
		check: func(t *testing.T, o outcome) {
			g := o.group("sales")
			if !slices.Equal(g.UnresolvedMembers, []string{"ghost@contoso.com", "zoe@contoso.com"}) {
				t.Errorf("unresolvedMembers = %v", g.UnresolvedMembers)
			}
			if g.Members != 1 || g.Licensed != 1 {
				t.Errorf("members/licensed = %d/%d, want 1/1", g.Members, g.Licensed)
			}
			expectCondition(t, g.Conditions, licv1.ConditionReady, metav1.ConditionFalse, licv1.ReasonMembersNotFound,
				"2 entries", "ghost@contoso.com", "create their UserLicenses")
		},
	}, {
		name: "duplicate userPrincipalName: the holder stays the user, whatever its name; the other gets errors and no seat",
		tenant: tenant{
			skus:   []*licv1.LicenseSku{sku("m365-e3", "SPE_E3", 1, plans("EXCHANGE")...)},
			groups: []*licv1.LicenseGroup{group("staff", 0, members("ann@contoso.com"), lic("m365-e3"))},
			users: []*licv1.UserLicense{
				holding(withName(user("ann@contoso.com", lic("m365-e3")), "ann-copy"), "m365-e3"),
				withName(user("Ann@Contoso.com", lic("m365-e3")), "ann"), // lower name, holds nothing: a new duplicate never takes over
			},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("ann-copy", "m365-e3"), active, "", []string{"Direct", "Group/staff"}, nil)
			expectLicense(t, o.license("ann", "m365-e3"), failed, licv1.ReasonDuplicateUserPrincipalName, []string{"Direct"}, nil,
				"UserLicense ann-copy", "delete this UserLicense")
			expectCondition(t, o.user("ann").Conditions, licv1.ConditionReady, metav1.ConditionFalse, licv1.ReasonDuplicateUserPrincipalName)
			expectCondition(t, o.user("ann").Conditions, licv1.ConditionStalled, metav1.ConditionTrue, licv1.ReasonDuplicateUserPrincipalName)
			if g := o.user("ann").Groups; g != nil {
				t.Errorf("loser is member of %v", g)
			}
			if r := o.userResult("ann-copy"); r.Releases != nil || r.Changed && r.Grants != nil {
				t.Errorf("holder releases/grants = %v/%v", r.Releases, r.Grants)
			}
			expectSeats(t, o.sku("m365-e3"), 1, 1, 1, 0, 0)
		},
	}, {
		name: "duplicate userPrincipalName, nobody holds a seat: the oldest is the user, then the lowest name",
		tenant: tenant{
			skus: []*licv1.LicenseSku{sku("m365-e3", "SPE_E3", 5, plans("EXCHANGE")...)},
			users: []*licv1.UserLicense{
				func() *licv1.UserLicense {
					u := withName(user("bob@contoso.com", lic("m365-e3")), "bob-new")
					u.CreationTimestamp = t1
					return u
				}(),
				func() *licv1.UserLicense {
					u := withName(user("bob@contoso.com", lic("m365-e3")), "bob-old")
					u.CreationTimestamp = t0
					return u
				}(),
				withName(user("cid@contoso.com", lic("m365-e3")), "cid-b"),
				withName(user("cid@contoso.com", lic("m365-e3")), "cid-a"),
			},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("bob-old", "m365-e3"), active, "", nil, nil)
			expectLicense(t, o.license("bob-new", "m365-e3"), failed, licv1.ReasonDuplicateUserPrincipalName, nil, nil, "UserLicense bob-old")
			expectLicense(t, o.license("cid-a", "m365-e3"), active, "", nil, nil)
			expectLicense(t, o.license("cid-b", "m365-e3"), failed, licv1.ReasonDuplicateUserPrincipalName, nil, nil, "UserLicense cid-a")
			expectSeats(t, o.sku("m365-e3"), 5, 2, 2, 0, 3)
		},
	}, {
		name: "observedGeneration follows metadata.generation",
		tenant: tenant{
			skus:   []*licv1.LicenseSku{func() *licv1.LicenseSku { s := e3(); s.Generation = 4; return s }()},
			groups: []*licv1.LicenseGroup{func() *licv1.LicenseGroup { g := group("g", 0, nil); g.Generation = 5; return g }()},
			users:  []*licv1.UserLicense{func() *licv1.UserLicense { u := user("ann@contoso.com", lic("m365-e3")); u.Generation = 7; return u }()},
		},
		check: func(t *testing.T, o outcome) {
			for _, c := range []struct {
				name     string
				observed int64
				conds    []metav1.Condition
				want     int64
			}{
				{"sku", o.sku("m365-e3").ObservedGeneration, o.sku("m365-e3").Conditions, 4},
				{"group", o.group("g").ObservedGeneration, o.group("g").Conditions, 5},
				{"user", o.user("ann").ObservedGeneration, o.user("ann").Conditions, 7},
			} {
				if c.observed != c.want {
					t.Errorf("%s observedGeneration = %d, want %d", c.name, c.observed, c.want)
				}
				if len(c.conds) == 0 {
					t.Errorf("%s has no conditions", c.name)
				}
				for _, cd := range c.conds {
					if cd.ObservedGeneration != c.want || !cd.LastTransitionTime.Equal(&t1) {
						t.Errorf("%s condition %s: observedGeneration %d, time %v", c.name, cd.Type, cd.ObservedGeneration, cd.LastTransitionTime)
					}
				}
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, run(t, tc.tenant.input(t1)))
		})
	}
}

func TestPlanSeats(t *testing.T) {
	tests := []struct {
		name   string
		tenant tenant
		check  func(t *testing.T, o outcome)
	}{{
		name: "direct assignments get scarce seats before group assignments",
		tenant: tenant{
			skus:   []*licv1.LicenseSku{sku("visio", "VISIO", 1)},
			groups: []*licv1.LicenseGroup{group("designers", 100, members("ann@contoso.com"), lic("visio"))},
			users:  []*licv1.UserLicense{user("ann@contoso.com"), user("zed@contoso.com", lic("visio"))},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("zed", "visio"), active, "", nil, nil)
			expectLicense(t, o.license("ann", "visio"), failed, licv1.ReasonInsufficientSeats, []string{"Group/designers"}, nil,
				"all 1 seats of VISIO are assigned", "purchase more seats of VISIO")
			if w := o.license("ann", "visio").WaitingSince; w == nil || !w.Equal(&t1) {
				t.Errorf("waitingSince = %v, want %v", w, t1)
			}
			expectSeats(t, o.sku("visio"), 1, 1, 2, 1, 0)
			expectCondition(t, o.sku("visio").Conditions, licv1.ConditionReady, metav1.ConditionFalse, licv1.ReasonInsufficientSeats,
				"1 user waits for a seat of VISIO", "purchase 1 more seat")
			expectCondition(t, o.sku("visio").Conditions, licv1.ConditionInsufficientSeats, metav1.ConditionTrue, licv1.ReasonInsufficientSeats)
			expectCondition(t, o.sku("visio").Conditions, licv1.ConditionOverallocated, metav1.ConditionFalse, licv1.ReasonWithinCapacity)
			expectCondition(t, o.user("ann").Conditions, licv1.ConditionReady, metav1.ConditionFalse, licv1.ReasonLicenseErrors,
				"1 of 1 licenses not in effect: visio: InsufficientSeats")
		},
	}, {
		name: "higher group priority wins, then userPrincipalName",
		tenant: tenant{
			skus: []*licv1.LicenseSku{sku("copilot", "COPILOT", 2)},
			groups: []*licv1.LicenseGroup{
				group("pilot", 10, members("yan@contoso.com"), lic("copilot")),
				group("interested", 1, members("ann@contoso.com", "bob@contoso.com", "yan@contoso.com"), lic("copilot")),
			},
			users: []*licv1.UserLicense{user("bob@contoso.com"), user("yan@contoso.com"), user("ann@contoso.com")},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("yan", "copilot"), active, "", []string{"Group/interested", "Group/pilot"}, nil)
			expectLicense(t, o.license("ann", "copilot"), active, "", nil, nil)
			expectLicense(t, o.license("bob", "copilot"), failed, licv1.ReasonInsufficientSeats, nil, nil)
			g := o.group("interested")
			if g.Members != 3 || g.Licensed != 2 || g.Errors != 1 {
				t.Errorf("members/licensed/errors = %d/%d/%d, want 3/2/1", g.Members, g.Licensed, g.Errors)
			}
			if !slices.Equal(g.Failures, []licv1.LicenseFailure{{User: "bob@contoso.com", SKU: "copilot", Reason: licv1.ReasonInsufficientSeats}}) {
				t.Errorf("failures = %v", g.Failures)
			}
			expectCondition(t, g.Conditions, licv1.ConditionInsufficientSeats, metav1.ConditionTrue, licv1.ReasonInsufficientSeats,
				"1 member waits for seats of COPILOT: purchase 1 more seat of COPILOT or remove 1 member of interested")
			expectCondition(t, g.Conditions, licv1.ConditionReady, metav1.ConditionFalse, licv1.ReasonLicenseErrors, "1 of 3 members", "InsufficientSeats")
		},
	}, {
		name: "one SKU short of seats never blocks the user's other SKUs",
		tenant: tenant{
			skus:   []*licv1.LicenseSku{sku("m365-e3", "SPE_E3", 5), sku("copilot", "COPILOT", 0)},
			groups: []*licv1.LicenseGroup{group("pilot", 0, members("ann@contoso.com"), lic("m365-e3"), lic("copilot"))},
			users:  []*licv1.UserLicense{user("ann@contoso.com")},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("ann", "m365-e3"), active, "", nil, nil)
			expectLicense(t, o.license("ann", "copilot"), failed, licv1.ReasonInsufficientSeats, nil, nil, "COPILOT has no seat")
			if r := o.userResult("ann"); !slices.Equal(r.Grants, []string{"m365-e3"}) || r.Releases != nil {
				t.Errorf("grants/releases = %v/%v", r.Grants, r.Releases)
			}
		},
	}, {
		name: "capacity below the holders: nobody loses a seat, nobody gets one, the SKU is Overallocated",
		tenant: tenant{
			skus:   []*licv1.LicenseSku{sku("visio", "VISIO", 2)},
			groups: []*licv1.LicenseGroup{group("designers", 0, members("ann@contoso.com", "bob@contoso.com", "cid@contoso.com", "dan@contoso.com"), lic("visio"))},
			users: []*licv1.UserLicense{
				holding(user("ann@contoso.com"), "visio"), holding(user("bob@contoso.com"), "visio"),
				holding(user("cid@contoso.com"), "visio"), user("dan@contoso.com", lic("visio")),
			},
		},
		check: func(t *testing.T, o outcome) {
			for _, n := range []string{"ann", "bob", "cid"} {
				expectLicense(t, o.license(n, "visio"), active, "", nil, nil)
			}
			expectLicense(t, o.license("dan", "visio"), failed, licv1.ReasonInsufficientSeats, nil, nil)
			expectSeats(t, o.sku("visio"), 2, 3, 4, 1, 0)
			expectCondition(t, o.sku("visio").Conditions, licv1.ConditionOverallocated, metav1.ConditionTrue, licv1.ReasonOverallocated,
				"3 users hold seats of VISIO but only 2 are usable", "purchase 1 seat or remove 1 assignment")
			expectCondition(t, o.sku("visio").Conditions, licv1.ConditionReady, metav1.ConditionFalse, licv1.ReasonOverallocated)
			expectCondition(t, o.sku("visio").Conditions, licv1.ConditionInsufficientSeats, metav1.ConditionTrue, licv1.ReasonInsufficientSeats,
				"purchase 2 more seats")
		},
	}, {
		name: "Suspended and LockedOut subscriptions do not count, Warning does",
		tenant: tenant{
			skus: []*licv1.LicenseSku{withSubs(sku("e5", "SPE_E5", 0),
				sub("a", 2, licv1.SubscriptionEnabled), sub("b", 3, licv1.SubscriptionWarning),
				sub("c", 10, licv1.SubscriptionSuspended), sub("d", 10, licv1.SubscriptionLockedOut), sub("e", 1, ""))},
			users: []*licv1.UserLicense{user("ann@contoso.com", lic("e5"))},
		},
		check: func(t *testing.T, o outcome) {
			expectSeats(t, o.sku("e5"), 6, 1, 1, 0, 5)
			expectCondition(t, o.sku("e5").Conditions, licv1.ConditionReady, metav1.ConditionTrue, licv1.ReasonSeatsAvailable,
				"subscription b is in its grace period")
		},
	}, {
		name: "every subscription inactive: the SKU says so and requesters wait",
		tenant: tenant{
			skus:  []*licv1.LicenseSku{withSubs(sku("e5", "SPE_E5", 0), sub("a", 20, licv1.SubscriptionSuspended), sub("b", 5, licv1.SubscriptionLockedOut))},
			users: []*licv1.UserLicense{user("ann@contoso.com", lic("e5"))},
		},
		check: func(t *testing.T, o outcome) {
			expectSeats(t, o.sku("e5"), 0, 0, 1, 1, 0)
			expectCondition(t, o.sku("e5").Conditions, licv1.ConditionReady, metav1.ConditionFalse, licv1.ReasonSubscriptionsInactive, "reactivate a subscription")
			expectLicense(t, o.license("ann", "e5"), failed, licv1.ReasonInsufficientSeats, nil, nil, "Suspended or LockedOut")
		},
	}, {
		name: "a user who no longer requests a SKU releases the seat for the next in line",
		tenant: tenant{
			skus:   []*licv1.LicenseSku{sku("visio", "VISIO", 1)},
			groups: []*licv1.LicenseGroup{group("designers", 0, members("bob@contoso.com"), lic("visio"))},
			users:  []*licv1.UserLicense{holding(user("ann@contoso.com"), "visio"), user("bob@contoso.com")},
		},
		check: func(t *testing.T, o outcome) {
			if l := o.user("ann").Licenses; l != nil {
				t.Errorf("ann still lists %v", l)
			}
			if r := o.userResult("ann"); !slices.Equal(r.Releases, []string{"visio"}) || !r.Changed {
				t.Errorf("ann releases = %v changed = %v", r.Releases, r.Changed)
			}
			// Releases come first, so the seat ann frees is bob's in the same plan.
			expectLicense(t, o.license("bob", "visio"), active, "", nil, nil)
			if r := o.userResult("bob"); !slices.Equal(r.Grants, []string{"visio"}) {
				t.Errorf("bob grants = %v", r.Grants)
			}
			expectSeats(t, o.sku("visio"), 1, 1, 1, 0, 0)
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, run(t, tc.tenant.input(t1)))
		})
	}
}

// TestPlanHoldersKeepSeats plans twice: the seat granted first stays with
// its holder when a user who would rank higher arrives.
func TestPlanHoldersKeepSeats(t *testing.T) {
	tn := tenant{
		skus:   []*licv1.LicenseSku{sku("visio", "VISIO", 1)},
		groups: []*licv1.LicenseGroup{group("designers", 0, members("zed@contoso.com"), lic("visio"))},
		users:  []*licv1.UserLicense{user("zed@contoso.com")},
	}
	first := run(t, tn.input(t0))
	expectLicense(t, first.license("zed", "visio"), active, "", nil, nil)

	in := applied(first.in, first.res, t1)
	in.Groups[0].Spec.Priority = -5
	in.Users = append(in.Users, user("ann@contoso.com", lic("visio")))
	second := run(t, in)
	expectLicense(t, second.license("zed", "visio"), active, "", nil, nil)
	if got := second.license("zed", "visio").LastTransitionTime; !got.Equal(&t0) {
		t.Errorf("holder's lastTransitionTime = %v, want %v", got, t0)
	}
	expectLicense(t, second.license("ann", "visio"), failed, licv1.ReasonInsufficientSeats, []string{"Direct"}, nil)
	if second.userResult("zed").Changed {
		t.Errorf("holder's status changed: %+v", second.user("zed"))
	}
}

// TestPlanWaitingSincePreserved checks that a waiting user keeps its place
// in time across plans and that an unchanged status is not rewritten.
func TestPlanWaitingSincePreserved(t *testing.T) {
	tn := tenant{
		skus:  []*licv1.LicenseSku{sku("visio", "VISIO", 0)},
		users: []*licv1.UserLicense{user("ann@contoso.com", lic("visio"))},
	}
	first := run(t, tn.input(t0))
	if w := first.license("ann", "visio").WaitingSince; w == nil || !w.Equal(&t0) {
		t.Fatalf("waitingSince = %v, want %v", w, t0)
	}
	in := applied(first.in, first.res, t1)
	second := run(t, in)
	if r := second.userResult("ann"); r.Changed || r.Status != &in.Users[0].Status {
		t.Errorf("unchanged status rewritten (changed=%v)", r.Changed)
	}
	// The reason changes (the SKU disappears): waitingSince goes, times move.
	in.SKUs = nil
	third := run(t, in)
	l := third.license("ann", "visio")
	expectLicense(t, l, failed, licv1.ReasonSkuNotFound, nil, nil, "LicenseSku visio does not exist")
	if l.WaitingSince != nil || !l.LastTransitionTime.Equal(&t1) || l.SkuPartNumber != "" || l.DisabledPlans != nil {
		t.Errorf("after SKU removal: %+v", l)
	}
	// Back to waiting: the wait starts again.
	in = applied(in, third.res, t2)
	in.SKUs = tn.skus
	fourth := run(t, in)
	if w := fourth.license("ann", "visio").WaitingSince; w == nil || !w.Equal(&t2) {
		t.Errorf("waitingSince = %v, want %v", w, t2)
	}
}

func TestPlanChecks(t *testing.T) {
	e3Plans := []licv1.ServicePlan{
		conflicts(plan("EXCHANGE_S_ENTERPRISE"), "EXCHANGE_S_STANDARD"),
		plan("TEAMS1"),
		unavailable(plan("SWAY"), "CN", "RU"),
	}
	e3 := func() *licv1.LicenseSku { return sku("m365-e3", "SPE_E3", 10, e3Plans...) }
	exo := func() *licv1.LicenseSku { return sku("exo-p1", "EXCHANGESTANDARD", 10, plan("EXCHANGE_S_STANDARD")) }
	tests := []struct {
		name   string
		tenant tenant
		check  func(t *testing.T, o outcome)
	}{{
		name: "a missing SKU is reported and takes no seat",
		tenant: tenant{
			users: []*licv1.UserLicense{user("ann@contoso.com", lic("m365-e5"))},
		},
		check: func(t *testing.T, o outcome) {
			l := o.license("ann", "m365-e5")
			expectLicense(t, l, failed, licv1.ReasonSkuNotFound, []string{"Direct"}, nil, "LicenseSku m365-e5 does not exist", "create it")
			if l.SkuPartNumber != "" || l.DisabledPlans != nil {
				t.Errorf("missing SKU has part number %q and plans %v", l.SkuPartNumber, l.DisabledPlans)
			}
		},
	}, {
		name: "a disabled plan the SKU lacks: with no valid source left, the license fails with that source named",
		tenant: tenant{
			skus:   []*licv1.LicenseSku{e3()},
			groups: []*licv1.LicenseGroup{group("sales", 0, members("ann@contoso.com"), licOff("m365-e3", "YAMMER", "SWAY"))},
			users:  []*licv1.UserLicense{user("ann@contoso.com")},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("ann", "m365-e3"), failed, licv1.ReasonUnknownServicePlan, []string{"Group/sales"},
				nil, `"YAMMER"`, "Group/sales", "disabledPlans")
			expectSeats(t, o.sku("m365-e3"), 10, 0, 1, 0, 10)
			expectCondition(t, o.group("sales").Conditions, licv1.ConditionReady, metav1.ConditionFalse, licv1.ReasonUnknownServicePlan,
				"spec.licenses[m365-e3].disabledPlans", `"YAMMER"`)
			expectCondition(t, o.group("sales").Conditions, licv1.ConditionStalled, metav1.ConditionTrue, licv1.ReasonUnknownServicePlan)
			expectCondition(t, o.user("ann").Conditions, licv1.ConditionStalled, metav1.ConditionTrue, licv1.ReasonUnknownServicePlan, "m365-e3 cannot take effect")
		},
	}, {
		name: "no usage location fails every license",
		tenant: tenant{
			skus:  []*licv1.LicenseSku{e3(), exo()},
			users: []*licv1.UserLicense{withLocation(user("ann@contoso.com", lic("m365-e3"), lic("exo-p1")), "")},
		},
		check: func(t *testing.T, o outcome) {
			for _, s := range []string{"m365-e3", "exo-p1"} {
				expectLicense(t, o.license("ann", s), failed, licv1.ReasonUsageLocationRequired, nil, nil, "set it to the two-letter country code")
			}
			expectCondition(t, o.user("ann").Conditions, licv1.ConditionReady, metav1.ConditionFalse, licv1.ReasonLicenseErrors, "2 of 2 licenses not in effect")
		},
	}, {
		name: "a plan unavailable in the usage location fails the SKU unless it is disabled",
		tenant: tenant{
			skus: []*licv1.LicenseSku{e3()},
			users: []*licv1.UserLicense{
				withLocation(user("ann@contoso.com", lic("m365-e3")), "CN"),
				withLocation(user("bob@contoso.com", licOff("m365-e3", "SWAY")), "CN"),
			},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("ann", "m365-e3"), failed, licv1.ReasonProhibitedInUsageLocation, nil, nil,
				"SWAY", "CN", "disable the plan or change the usage location")
			expectLicense(t, o.license("bob", "m365-e3"), active, "", nil, []string{"SWAY"})
		},
	}, {
		name: "conflicting plans: the lower-ranked SKU fails (conflict declared on the higher SKU)",
		tenant: tenant{
			skus:   []*licv1.LicenseSku{e3(), exo()},
			groups: []*licv1.LicenseGroup{group("mail", 50, members("ann@contoso.com"), lic("exo-p1"))},
			users:  []*licv1.UserLicense{user("ann@contoso.com", lic("m365-e3"))},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("ann", "m365-e3"), active, "", nil, nil)
			expectLicense(t, o.license("ann", "exo-p1"), failed, licv1.ReasonMutuallyExclusivePlans, nil, nil,
				"EXCHANGE_S_STANDARD", "EXCHANGE_S_ENTERPRISE", "m365-e3")
			expectSeats(t, o.sku("exo-p1"), 10, 0, 1, 0, 10)
		},
	}, {
		name: "conflicting plans: declared on the lower side, ranked by group priority",
		tenant: tenant{
			skus: []*licv1.LicenseSku{
				sku("m365-e3", "SPE_E3", 10, plan("EXCHANGE_S_ENTERPRISE")),
				sku("exo-p1", "EXCHANGESTANDARD", 10, conflicts(plan("EXCHANGE_S_STANDARD"), "EXCHANGE_S_ENTERPRISE")),
			},
			groups: []*licv1.LicenseGroup{
				group("mail", 50, members("ann@contoso.com"), lic("exo-p1")),
				group("office", 10, members("ann@contoso.com"), lic("m365-e3")),
			},
			users: []*licv1.UserLicense{user("ann@contoso.com")},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("ann", "exo-p1"), active, "", nil, nil)
			expectLicense(t, o.license("ann", "m365-e3"), failed, licv1.ReasonMutuallyExclusivePlans, nil, nil, "exo-p1")
		},
	}, {
		name: "conflicting plans at equal rank: the SKU name decides",
		tenant: tenant{
			skus: []*licv1.LicenseSku{
				sku("b-sku", "B", 10, plan("P")),
				sku("a-sku", "A", 10, conflicts(plan("Q"), "P")),
			},
			groups: []*licv1.LicenseGroup{group("g", 0, members("ann@contoso.com"), lic("b-sku"), lic("a-sku"))},
			users:  []*licv1.UserLicense{user("ann@contoso.com")},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("ann", "a-sku"), active, "", nil, nil)
			expectLicense(t, o.license("ann", "b-sku"), failed, licv1.ReasonMutuallyExclusivePlans, nil, nil)
		},
	}, {
		name: "a disabled conflicting plan does not conflict",
		tenant: tenant{
			skus:  []*licv1.LicenseSku{e3(), exo()},
			users: []*licv1.UserLicense{user("ann@contoso.com", licOff("m365-e3", "EXCHANGE_S_ENTERPRISE"), lic("exo-p1"))},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("ann", "m365-e3"), active, "", nil, nil)
			expectLicense(t, o.license("ann", "exo-p1"), active, "", nil, nil)
		},
	}, {
		name: "missing dependencies propagate to a fixed point",
		tenant: tenant{
			skus: []*licv1.LicenseSku{
				sku("base", "BASE", 10, plan("X")),
				sku("addon1", "ADDON1", 10, requires(plan("Y"), "X")),
				sku("addon2", "ADDON2", 10, requires(plan("Z"), "Y")),
			},
			users: []*licv1.UserLicense{
				user("ann@contoso.com", lic("addon1"), lic("addon2")),
				user("bob@contoso.com", lic("base"), lic("addon1"), lic("addon2")),
				user("cid@contoso.com", licOff("base", "X"), lic("addon1"), lic("addon2")),
			},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("ann", "addon1"), failed, licv1.ReasonMissingDependency, nil, nil, "requires X", "assign a license that includes X or disable Y")
			expectLicense(t, o.license("ann", "addon2"), failed, licv1.ReasonMissingDependency, nil, nil, "requires Y")
			for _, s := range []string{"base", "addon1", "addon2"} {
				expectLicense(t, o.license("bob", s), active, "", nil, nil)
			}
			expectLicense(t, o.license("cid", "base"), active, "", nil, []string{"X"})
			expectLicense(t, o.license("cid", "addon1"), failed, licv1.ReasonMissingDependency, nil, nil)
			expectLicense(t, o.license("cid", "addon2"), failed, licv1.ReasonMissingDependency, nil, nil)
			expectSeats(t, o.sku("addon2"), 10, 1, 3, 0, 9)
		},
	}, {
		name: "checks run in order: usage location before conflicts before seats",
		tenant: tenant{
			skus:   []*licv1.LicenseSku{e3(), sku("exo-p1", "EXCHANGESTANDARD", 0, plan("EXCHANGE_S_STANDARD"))},
			groups: []*licv1.LicenseGroup{group("mail", 0, members("ann@contoso.com"), lic("exo-p1"))},
			users:  []*licv1.UserLicense{user("ann@contoso.com", lic("m365-e3")), withLocation(user("bob@contoso.com", lic("exo-p1")), "")},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("ann", "exo-p1"), failed, licv1.ReasonMutuallyExclusivePlans, nil, nil)
			expectLicense(t, o.license("bob", "exo-p1"), failed, licv1.ReasonUsageLocationRequired, nil, nil)
			expectSeats(t, o.sku("exo-p1"), 0, 0, 2, 0, 0)
		},
	}, {
		name: "a plan enabled through two Active SKUs: warning naming the redundant SKU, Ready unaffected",
		tenant: tenant{
			skus: []*licv1.LicenseSku{
				sku("m365-e3", "SPE_E3", 10, plans("EXCHANGE_S_ENTERPRISE", "TEAMS1")...),
				sku("exo-p2", "EXCHANGEENTERPRISE", 10, plan("EXCHANGE_S_ENTERPRISE")),
			},
			users: []*licv1.UserLicense{user("ann@contoso.com", lic("m365-e3"), lic("exo-p2")), user("bob@contoso.com", lic("m365-e3"))},
		},
		check: func(t *testing.T, o outcome) {
			expectLicense(t, o.license("ann", "exo-p2"), active, "", nil, nil)
			expectCondition(t, o.user("ann").Conditions, licv1.ConditionDuplicatePlans, metav1.ConditionTrue, licv1.ReasonDuplicatePlans,
				"EXCHANGE_S_ENTERPRISE (exo-p2, m365-e3)", "exo-p2 is redundant")
			expectCondition(t, o.user("ann").Conditions, licv1.ConditionReady, metav1.ConditionTrue, licv1.ReasonAllLicensesActive)
			expectCondition(t, o.user("bob").Conditions, licv1.ConditionDuplicatePlans, metav1.ConditionFalse, licv1.ReasonNoDuplicatePlans)
		},
	}, {
		name: "overlapping SKUs where neither is redundant: the overlap is named",
		tenant: tenant{
			skus: []*licv1.LicenseSku{
				sku("a", "A", 10, plans("P", "Q")...),
				sku("b", "B", 10, plans("Q", "R")...),
			},
			users: []*licv1.UserLicense{user("ann@contoso.com", lic("a"), lic("b"))},
		},
		check: func(t *testing.T, o outcome) {
			expectCondition(t, o.user("ann").Conditions, licv1.ConditionDuplicatePlans, metav1.ConditionTrue, licv1.ReasonDuplicatePlans,
				"Q (a, b)", "no license is fully redundant")
		},
	}, {
		name: "two identical SKUs: only the lower-ranked one is redundant",
		tenant: tenant{
			skus: []*licv1.LicenseSku{
				sku("a", "A", 10, plans("P")...),
				sku("b", "B", 10, plans("P")...),
			},
			users: []*licv1.UserLicense{user("ann@contoso.com", lic("b"))},
			groups: []*licv1.LicenseGroup{
				group("g", 0, members("ann@contoso.com"), lic("a")),
			},
		},
		check: func(t *testing.T, o outcome) {
			expectCondition(t, o.user("ann").Conditions, licv1.ConditionDuplicatePlans, metav1.ConditionTrue, licv1.ReasonDuplicatePlans,
				"; a is redundant")
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, run(t, tc.tenant.input(t1)))
		})
	}
}

// TestPlanGroupFailuresCapped: counts cover every member, the failure list
// the first MaxGroupFailures in (user, sku, reason) order.
func TestPlanGroupFailuresCapped(t *testing.T) {
	var users []*licv1.UserLicense
	var names []string
	for i := 59; i >= 0; i-- { // reverse order: the list must still come out sorted
		upn := fmt.Sprintf("u%02d@contoso.com", i)
		names = append(names, upn)
		users = append(users, user(upn))
	}
	tn := tenant{
		skus:   []*licv1.LicenseSku{sku("visio", "VISIO", 5), sku("e3", "SPE_E3", 100)},
		groups: []*licv1.LicenseGroup{group("designers", 0, names, lic("visio"), lic("e3"), lic("gone"))},
		users:  users,
	}
	o := run(t, tn.input(t1))
	g := o.group("designers")
	if g.Members != 60 || g.Errors != 60 || g.Licensed != 0 {
		t.Errorf("members/errors/licensed = %d/%d/%d, want 60/60/0", g.Members, g.Errors, g.Licensed)
	}
	if len(g.Failures) != licv1.MaxGroupFailures {
		t.Fatalf("%d failures listed, want %d", len(g.Failures), licv1.MaxGroupFailures)
	}
	// u00..u04 hold visio, so they fail only on "gone"; then everyone else on both.
	want := licv1.LicenseFailure{User: "u00@contoso.com", SKU: "gone", Reason: licv1.ReasonSkuNotFound}
	if g.Failures[0] != want {
		t.Errorf("first failure = %+v, want %+v", g.Failures[0], want)
	}
	if !slices.IsSortedFunc(g.Failures, compareFailures) {
		t.Errorf("failures not sorted: %v", g.Failures)
	}
	want = licv1.LicenseFailure{User: "u05@contoso.com", SKU: "visio", Reason: licv1.ReasonInsufficientSeats}
	if g.Failures[6] != want {
		t.Errorf("failure 6 = %+v, want %+v", g.Failures[6], want)
	}
	expectCondition(t, g.Conditions, licv1.ConditionInsufficientSeats, metav1.ConditionTrue, licv1.ReasonInsufficientSeats,
		"55 members wait for seats of VISIO: purchase 55 more seats of VISIO or remove 55 members of designers")
	expectCondition(t, g.Conditions, licv1.ConditionReady, metav1.ConditionFalse, licv1.ReasonLicenseErrors,
		"60 of 60 members", "most common reason: SkuNotFound (60 licenses)")
}

func TestPlanEmptyAndNilInput(t *testing.T) {
	res := Plan(Input{})
	if len(res.SKUs)+len(res.Groups)+len(res.Users) != 0 {
		t.Errorf("empty input gave %+v", res)
	}
	res = Plan(Input{SKUs: []*licv1.LicenseSku{nil}, Groups: []*licv1.LicenseGroup{nil}, Users: []*licv1.UserLicense{nil}})
	if len(res.SKUs) != 1 || res.SKUs[0].Status != nil || res.Groups[0].Status != nil || res.Users[0].Status != nil {
		t.Errorf("nil objects gave %+v", res)
	}
	// A user with nothing: Ready, no licenses, and a zero Now never reads the clock.
	u := user("ann@contoso.com")
	res = Plan(Input{Users: []*licv1.UserLicense{u}})
	st := res.Users[0].Status
	expectCondition(t, st.Conditions, licv1.ConditionReady, metav1.ConditionTrue, licv1.ReasonAllLicensesActive, "no license")
	if c := condition(st.Conditions, licv1.ConditionReady); !c.LastTransitionTime.Equal(&metav1.Time{Time: metav1.Unix(0, 0).Time}) {
		t.Errorf("zero Now stamped %v", c.LastTransitionTime)
	}
	if st.Licenses != nil || st.Groups != nil {
		t.Errorf("empty lists must be nil: %+v", st)
	}
}

// TestPlanUnchangedStatusIsShared: planning converged objects again returns
// their own statuses and no change, even with a later Now.
func TestPlanUnchangedStatusIsShared(t *testing.T) {
	tn := tenant{
		skus:   []*licv1.LicenseSku{sku("visio", "VISIO", 1, plans("A", "B")...)},
		groups: []*licv1.LicenseGroup{group("g", 3, members("ann@contoso.com", "bob@contoso.com", "ghost@contoso.com"), lic("visio"))},
		users:  []*licv1.UserLicense{user("ann@contoso.com"), user("bob@contoso.com", lic("visio"))},
	}
	first := run(t, tn.input(t0))
	in := applied(first.in, first.res, t2)
	second := Plan(in)
	for i, r := range second.Users {
		if r.Changed || r.Status != &in.Users[i].Status || r.Releases != nil || r.Grants != nil {
			t.Errorf("user %d: changed=%v shared=%v releases=%v grants=%v", i, r.Changed, r.Status == &in.Users[i].Status, r.Releases, r.Grants)
		}
	}
	for i, r := range second.Groups {
		if r.Changed || r.Status != &in.Groups[i].Status {
			t.Errorf("group %d changed", i)
		}
	}
	for i, r := range second.SKUs {
		if r.Changed || r.Status != &in.SKUs[i].Status {
			t.Errorf("sku %d changed", i)
		}
	}
	// A spec change is seen.
	in.Users[1].Generation = 2
	third := Plan(in)
	if !third.Users[1].Changed || third.Users[1].Status.ObservedGeneration != 2 {
		t.Errorf("generation change not planned: %+v", third.Users[1])
	}
	if c := condition(third.Users[1].Status.Conditions, licv1.ConditionReady); !c.LastTransitionTime.Equal(&t0) {
		t.Errorf("Ready lastTransitionTime moved to %v without a status change", c.LastTransitionTime)
	}
}

// TestRequestSize guards the size of the per-(user, SKU) record, which
// the cold-start memory figure depends on.
func TestRequestSize(t *testing.T) {
	if n := unsafe.Sizeof(request{}); n != 24 {
		t.Errorf("request is %d bytes, want 24", n)
	}
	if n := unsafe.Sizeof(userInfo{}); n != 32 {
		t.Errorf("userInfo is %d bytes, want 32", n)
	}
}
