package licensecli

import (
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

func TestBuildHoldersQueueOrder(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	at := func(m int) *metav1.Time { x := metav1.NewTime(t0.Add(time.Duration(m) * time.Minute)); return &x }
	e3 := sku("e3", "SPE_E3", "A")
	groups := []*licv1.LicenseGroup{
		{ObjectMeta: metav1.ObjectMeta{Name: "staff"}, Spec: licv1.LicenseGroupSpec{Priority: 0}},
		{ObjectMeta: metav1.ObjectMeta{Name: "execs"}, Spec: licv1.LicenseGroupSpec{Priority: 100}},
	}
	holding := func(name string, since int, state string, by ...string) *licv1.UserLicense {
		u := user(name, name+"@contoso.com")
		u.Status.Licenses = []licv1.LicenseStatus{{SKU: "e3", State: state, AssignedBy: by, LastTransitionTime: *at(since)}}
		return u
	}
	waiting := func(name string, since *metav1.Time, by ...string) *licv1.UserLicense {
		u := user(name, name+"@contoso.com")
		u.Status.Licenses = []licv1.LicenseStatus{{SKU: "e3", State: "Error", Reason: licv1.ReasonInsufficientSeats, WaitingSince: since, AssignedBy: by}}
		return u
	}
	users := []*licv1.UserLicense{
		holding("hal", 5, "Active", "Group/staff"),
		holding("hana", 1, "Disabled", "Direct"),             // a Disabled license holds its seat
		waiting("zed", at(30), "Direct"),                     // direct first, though it waits least
		waiting("amy", at(10), "Group/staff"),                // group-only, priority 0
		waiting("bob", at(20), "Group/execs", "Group/staff"), // priority 100: before amy
		waiting("cal", at(5), "Group/staff"),                 // waits longer than amy
		waiting("abe", nil, "Group/staff"),                   // not waiting yet: counts as now
		waiting("dan", at(5), "Group/staff"),                 // same time as cal: by UPN
		{ObjectMeta: metav1.ObjectMeta{Name: "other"}, Status: licv1.UserLicenseStatus{Licenses: []licv1.LicenseStatus{{SKU: "p1", State: "Active"}}}},
	}
	failing := user("fay", "fay@contoso.com")
	failing.Status.Licenses = []licv1.LicenseStatus{{SKU: "e3", State: "Error", Reason: licv1.ReasonUsageLocationRequired, AssignedBy: []string{"Group/staff"}}}
	users = append(users, failing)

	r := BuildHolders(e3, groups, users)
	var got []string
	for _, row := range r.Rows() {
		got = append(got, row.Name+":"+row.State)
	}
	want := []string{"hana:Disabled", "hal:Active", "zed:Waiting", "bob:Waiting", "cal:Waiting", "dan:Waiting", "amy:Waiting", "abe:Waiting", "fay:Error"}
	if !slices.Equal(got, want) {
		t.Errorf("order\n got %v\nwant %v", got, want)
	}
	if r.Queue[0].Position != 1 || r.Queue[5].Position != 6 || r.Holders[0].Position != 0 || r.Assigned != 2 || r.Waiting != 6 {
		t.Errorf("positions and counts: %+v", r)
	}
	if p := r.Queue[1].Priority; p == nil || *p != 100 || r.Queue[0].Priority != nil || !r.Queue[0].Direct {
		t.Errorf("priorities: bob %v, zed %v", p, r.Queue[0].Priority)
	}

	var b strings.Builder
	if err := WriteHoldersTable(&b, &r, HolderTableOptions{}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 10 || !strings.HasPrefix(lines[0], "#   USER") ||
		strings.Join(strings.Fields(lines[3]), " ") != "1 zed@contoso.com zed Waiting InsufficientSeats Direct - 30m" ||
		strings.Join(strings.Fields(lines[4]), " ") != "2 bob@contoso.com bob Waiting InsufficientSeats Group/execs,Group/staff 100 40m" {
		t.Errorf("table:\n%s", b.String())
	}
}

func TestResolveSKU(t *testing.T) {
	skus := []*licv1.LicenseSku{sku("m365-e3", "SPE_E3"), sku("spe_e5", "SPE_E5"), sku("a", "DUP"), sku("b", "DUP")}
	for arg, want := range map[string]string{"m365-e3": "m365-e3", "SPE_E3": "m365-e3", "spe_e3": "m365-e3", "contoso:SPE_E3": "m365-e3", "spe_e5": "spe_e5"} {
		if s, err := ResolveSKU(skus, arg); err != nil || s.Name != want {
			t.Errorf("%s: %v %v", arg, s, err)
		}
	}
	if _, err := ResolveSKU(skus, "DUP"); err == nil || !strings.Contains(err.Error(), "part number DUP is ambiguous: LicenseSkus a, b have it") {
		t.Errorf("ambiguous: %v", err)
	}
	if _, err := ResolveSKU(skus, "VISIO"); err == nil || !strings.Contains(err.Error(), "no LicenseSku in namespace t is named VISIO") {
		t.Errorf("unknown: %v", err)
	}
}

func TestInEffect(t *testing.T) {
	older := user("b", "ann@contoso.com")
	older.CreationTimestamp = metav1.NewTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	newer := user("a", "Ann@Contoso.com")
	newer.CreationTimestamp = metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if got := InEffect([]*licv1.UserLicense{newer, older}); got != older {
		t.Errorf("the oldest: %s", got.Name)
	}
	newer.Status.Licenses = []licv1.LicenseStatus{{SKU: "e3", State: "Active"}}
	if got := InEffect([]*licv1.UserLicense{older, newer}); got != newer {
		t.Errorf("the one holding seats: %s", got.Name)
	}
	newer.Status.Conditions = []metav1.Condition{{Type: licv1.ConditionReady, Status: "False", Reason: licv1.ReasonDuplicateUserPrincipalName}}
	if got := InEffect([]*licv1.UserLicense{older, newer}); got != older {
		t.Errorf("not the one the controller marked duplicate: %s", got.Name)
	}
	if m := UsersByUPN([]*licv1.UserLicense{older, newer}); len(m) != 1 || m["ann@contoso.com"] != older {
		t.Errorf("UsersByUPN folds case: %v", m)
	}
}

func TestPlanTextDisabledAndRefused(t *testing.T) {
	r := &PlanReport{
		Refused: []Refusal{{Source: "skus.yaml", Kind: "LicenseSku", Name: "e5", Fields: []string{"spec.subscriptions[0].seats"},
			Message: `LicenseSku.licensing.licenseops.dev "e5" is invalid: spec.subscriptions[0].seats: Invalid value: -1: ...`}},
		Namespaces: []NamespacePlan{{Namespace: "contoso", Users: []UserPlan{{Name: "ann", UserPrincipalName: "ann@contoso.com", Licenses: []PlannedLicense{
			{SKU: "e3", State: licv1.LicenseStateDisabled, Reason: licv1.ReasonSubscriptionInactive, Message: "every subscription of SPE_E3 is suspended: renew one"},
			{SKU: "p1", State: licv1.LicenseStateActive},
		}}}}},
	}
	r.Summarize()
	if r.Summary.Disabled != 1 || r.Summary.Active != 1 || r.Summary.Errors != 0 || r.Summary.Refused != 1 {
		t.Errorf("summary %+v", r.Summary)
	}
	var b strings.Builder
	if err := WritePlanText(&b, r); err != nil {
		t.Fatal(err)
	}
	norm := strings.Join(strings.Fields(b.String()), " ")
	for _, want := range []string{
		"Refused: 1 object the API server would refuse (kubectl apply fails on them; left out of the plan): skus.yaml: LicenseSku.licensing.licenseops.dev \"e5\" is invalid",
		"Disabled (seat kept, every subscription inactive): 1 license of 1 user USER SKU REASON MESSAGE ann@contoso.com e3 SubscriptionInactive every subscription of SPE_E3 is suspended: renew one",
		"Result: 1 of 2 licenses active, 1 disabled (subscription inactive), 0 errors, 1 object refused.",
	} {
		if !strings.Contains(norm, want) {
			t.Errorf("plan text lacks %q:\n%s", want, b.String())
		}
	}
}

func TestWriteAssignPlan(t *testing.T) {
	p := &AssignPlan{Namespace: "contoso", UserPrincipalName: "hank@contoso.com", Name: "hank", SKU: "exchange-p1", SkuPartNumber: "EXCHANGESTANDARD",
		After: &PlannedLicense{SKU: "exchange-p1", State: "Error", Reason: "InsufficientSeats", Message: "all 2 seats of EXCHANGESTANDARD are assigned",
			AssignedBy: []string{"Direct"}, EnabledPlans: []string{"EXCHANGE_S_STANDARD"}},
		Changes: []Change{{SKU: "exchange-p1", User: "hank@contoso.com", Kind: StartsWaiting, Before: "-", After: "InsufficientSeats"}}}
	var b strings.Builder
	if err := WriteAssignPlan(&b, p); err != nil {
		t.Fatal(err)
	}
	want := `Planned outcome in namespace contoso (the controller's planner on the live objects with this change):
  hank@contoso.com, exchange-p1 (EXCHANGESTANDARD): not requested -> Error (InsufficientSeats)
    Why:              all 2 seats of EXCHANGESTANDARD are assigned
    Assigned by:      Direct
    Enabled plans:    EXCHANGE_S_STANDARD
    Disabled plans:   -
  Changes: 1 starts waiting
    SKU           USER               CHANGE           BEFORE   AFTER
    exchange-p1   hank@contoso.com   starts waiting   -        InsufficientSeats
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
