package licensecli

import (
	"strings"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

func st(state, reason string, disabled ...string) *licv1.LicenseStatus {
	return &licv1.LicenseStatus{SKU: "s", State: state, Reason: reason, DisabledPlans: disabled}
}

func TestClassify(t *testing.T) {
	active := st("Active", "", "A")
	wait := st("Error", "InsufficientSeats")
	for _, tc := range []struct {
		name   string
		o, n   *licv1.LicenseStatus
		want   ChangeKind
		change bool
	}{
		{"new and served", nil, active, GainsSeat, true},
		{"served after waiting", wait, active, GainsSeat, true},
		{"error fixed", st("Error", "UsageLocationRequired"), active, GainsSeat, true},
		{"unassigned", active, nil, LosesSeat, true},
		{"now failing", active, st("Error", "MissingDependency"), LosesSeat, true},
		{"new and waiting", nil, wait, StartsWaiting, true},
		{"error turns into waiting", st("Error", "SkuNotFound"), wait, StartsWaiting, true},
		{"no longer requested while waiting", wait, nil, StopsWaiting, true},
		{"waiting turns into another error", wait, st("Error", "SkuNotFound"), ReasonChanged, true},
		{"new error", nil, st("Error", "SkuNotFound"), ReasonChanged, true},
		{"other error", st("Error", "SkuNotFound"), st("Error", "UnknownServicePlan"), ReasonChanged, true},
		{"error gone with the request", st("Error", "SkuNotFound"), nil, ReasonChanged, true},
		{"other plans", active, st("Active", "", "A", "B"), PlansChanged, true},
		{"same", active, st("Active", "", "A"), "", false},
		{"still waiting", wait, st("Error", "InsufficientSeats"), "", false},
		{"nothing", nil, nil, "", false},
		// Disabled holds the seat: subscription suspended and back.
		{"subscription suspended", active, st("Disabled", "SubscriptionInactive", "A"), ServicesOff, true},
		{"subscription back", st("Disabled", "SubscriptionInactive", "A"), active, ServicesOn, true},
		{"disabled holder unassigned", st("Disabled", "SubscriptionInactive"), nil, LosesSeat, true},
		{"disabled holder keeps it", st("Disabled", "SubscriptionInactive"), st("Disabled", "SubscriptionInactive"), "", false},
		{"granted while disabled", wait, st("Disabled", "SubscriptionInactive"), GainsSeat, true},
	} {
		got, ok := classify(tc.o, tc.n)
		if got != tc.want || ok != tc.change {
			t.Errorf("%s: got %q %v, want %q %v", tc.name, got, ok, tc.want, tc.change)
		}
	}
}

func TestOverlayAndDiff(t *testing.T) {
	// Live: one seat of e3, held by ann; ben waits.
	live := &Tenant{Namespace: "t",
		SKUs: []*licv1.LicenseSku{sku("e3", "SPE_E3", "EXCHANGE")},
		Users: []*licv1.UserLicense{
			user("ann", "ann@contoso.com", lic("e3")),
			user("ben", "ben@contoso.com", lic("e3")),
		},
	}
	live.SKUs[0].Spec.Subscriptions[0].Seats = 1
	live.SKUs[0].Labels = map[string]string{"live": "yes"}
	res := PlanTenant(live, time.Unix(1000, 0))
	for i, u := range live.Users {
		u.Status = *res.Users[i].Status.DeepCopy()
	}
	live.SKUs[0].Status = *res.SKUs[0].Status.DeepCopy()
	if live.Users[1].Status.Licenses[0].Reason != "InsufficientSeats" {
		t.Fatalf("fixture: ben should wait: %+v", live.Users[1].Status)
	}

	// The change: a second seat, ann drops e3, carla (new) asks for it.
	files := &Tenant{Namespace: "t",
		SKUs:  []*licv1.LicenseSku{sku("e3", "SPE_E3", "EXCHANGE")},
		Users: []*licv1.UserLicense{user("ann", "ann@contoso.com"), user("carla", "carla@contoso.com", lic("e3"))},
	}
	files.SKUs[0].Spec.Subscriptions[0].Seats = 2
	merged, warnings := Overlay(live, files)
	if len(warnings) != 0 {
		t.Errorf("warnings %v", warnings)
	}
	if len(merged.Users) != 3 || merged.Users[0].Name != "ann" || merged.Users[1].Name != "ben" || merged.Users[2].Name != "carla" {
		t.Fatalf("merged users %v", merged.Users)
	}
	ann := merged.Users[0]
	if len(ann.Spec.Licenses) != 0 || len(ann.Status.Licenses) != 1 || ann.Status.Licenses[0].State != "Active" {
		t.Errorf("ann: the file's spec, the live status (she holds a seat now): %+v", ann)
	}
	if len(merged.Users[2].Status.Licenses) != 0 {
		t.Errorf("carla is new: empty status")
	}
	if merged.SKUs[0].Labels != nil || merged.SKUs[0].Spec.Subscriptions[0].Seats != 2 || merged.SKUs[0].Status.Assigned != 1 {
		t.Errorf("SKU: the file's labels and spec, the live status: %+v", merged.SKUs[0])
	}
	if live.Users[0].Spec.Licenses == nil {
		t.Errorf("Overlay must not modify the live objects")
	}

	res = PlanTenant(merged, time.Unix(2000, 0))
	changes, seats := Diff(merged, res)
	var got []string
	for _, c := range changes {
		got = append(got, c.User+" "+c.Text()+" "+c.Before+"->"+c.After)
	}
	// ben, first in line, takes one of the two free seats; carla the other.
	want := "ann@contoso.com loses seat Active->-|ben@contoso.com gains seat InsufficientSeats->Active|carla@contoso.com gains seat -->Active"
	if strings.Join(got, "|") != want {
		t.Errorf("changes\n got %s\nwant %s", strings.Join(got, "|"), want)
	}
	if len(seats) != 1 || seats[0].Usable != [2]int64{1, 2} || seats[0].Assigned != [2]int64{1, 2} ||
		seats[0].Waiting != [2]int64{1, 0} || seats[0].StateBefore != "InsufficientSeats" || seats[0].StateAfter != StateOK {
		t.Errorf("seat changes %+v", seats)
	}

	// A changed userPrincipalName is refused by the API server: warn, plan the live one.
	renamed := &Tenant{Namespace: "t", Users: []*licv1.UserLicense{user("ben", "benjamin@contoso.com", lic("e3"))}}
	merged, warnings = Overlay(live, renamed)
	if len(warnings) != 1 || !strings.Contains(warnings[0], "changes spec.userPrincipalName from ben@contoso.com to benjamin@contoso.com") ||
		merged.Users[1].Spec.UserPrincipalName != "ben@contoso.com" {
		t.Errorf("warnings %v", warnings)
	}
}

func TestBuildNamespacePlan(t *testing.T) {
	tn := &Tenant{Namespace: "t",
		SKUs: []*licv1.LicenseSku{sku("e3", "SPE_E3", "EXCHANGE"), sku("p2", "EXCHANGEENTERPRISE", "EXCHANGE")},
		Groups: []*licv1.LicenseGroup{{ObjectMeta: metav1.ObjectMeta{Name: "staff", Namespace: "t"},
			Spec: licv1.LicenseGroupSpec{Members: []string{"zed@contoso.com", "ann@contoso.com"}, Licenses: []licv1.LicenseAssignment{lic("e3")}}}},
		Users: []*licv1.UserLicense{
			user("ann", "ann@contoso.com", lic("p2")),
			user("ben", "ben@contoso.com", lic("nope")),
		},
	}
	np := BuildNamespacePlan(tn, PlanTenant(tn, time.Unix(0, 0)))
	if len(np.Errors) != 1 || np.Errors[0].User != "ben@contoso.com" || np.Errors[0].Reason != "SkuNotFound" {
		t.Errorf("errors %+v", np.Errors)
	}
	if len(np.DuplicatePlans) != 1 || np.DuplicatePlans[0].Name != "ann" || !strings.Contains(np.DuplicatePlans[0].Message, "EXCHANGE") {
		t.Errorf("duplicate plans %+v", np.DuplicatePlans)
	}
	if len(np.Groups) != 1 || strings.Join(np.Groups[0].UnresolvedMembers, ",") != "zed@contoso.com" {
		t.Errorf("groups %+v", np.Groups)
	}
	rep := PlanReport{Namespaces: []NamespacePlan{np}}
	rep.Summarize()
	if rep.Summary != (PlanSummary{Namespaces: 1, SKUs: 2, Groups: 1, Users: 2, Licenses: 3, Active: 2, Errors: 1}) {
		t.Errorf("summary %+v", rep.Summary)
	}
	var b strings.Builder
	if err := WritePlanText(&b, &rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Planned 2 LicenseSkus, 1 LicenseGroup and 2 UserLicenses in 1 namespace.",
		"    ben@contoso.com   nope   SkuNotFound   Direct        LicenseSku nope does not exist",
		"Unresolved group members (no UserLicense with that userPrincipalName):\n    staff   zed@contoso.com",
		"Result: 2 of 3 licenses active, 1 error.",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
}

func TestSeatRows(t *testing.T) {
	s := sku("e3", "SPE_E3")
	s.Spec.Subscriptions = []licv1.Subscription{{Name: "a", Seats: 5}, {Name: "b", Seats: 3, State: licv1.SubscriptionWarning},
		{Name: "c", Seats: 7, State: licv1.SubscriptionSuspended}, {Name: "d", Seats: 1, State: licv1.SubscriptionLockedOut}}
	if total, usable := Seats(&s.Spec); total != 16 || usable != 8 {
		t.Errorf("seats %d %d, want 16 8", total, usable)
	}
	s.Generation = 2
	s.Status = licv1.LicenseSkuStatus{ObservedGeneration: 2, Conditions: []metav1.Condition{{Type: "Ready", Status: "False", Reason: "Overallocated", ObservedGeneration: 2, Message: "m"}}}
	if r := SeatRowOf(s, &s.Status); r.State != "Overallocated" || r.Message != "m" {
		t.Errorf("row %+v", r)
	}
	s.Generation = 3 // spec changed, not yet planned
	if r := SeatRowOf(s, &s.Status); r.State != StatePending {
		t.Errorf("row %+v", r)
	}
	if got := FormatSubscriptions(s.Spec.Subscriptions); got != "a=5,b=3(Warning),c=7(Suspended),d=1(LockedOut)" {
		t.Errorf("subscriptions %q", got)
	}
}

func TestUserReport(t *testing.T) {
	u := user("ann", "ann@contoso.com")
	u.Generation = 1
	u.Status = licv1.UserLicenseStatus{ObservedGeneration: 1,
		Licenses: []licv1.LicenseStatus{{SKU: "e3", State: "Active", DisabledPlans: []string{"SWAY", "TEAMS"}}, {SKU: "gone", State: "Error", Reason: "SkuNotFound"}},
		Conditions: []metav1.Condition{{Type: "Ready", Status: "False", Reason: "LicenseErrors"},
			{Type: "DuplicatePlans", Status: "False", Reason: "NoDuplicatePlans", Message: "none"}}}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := func(reason string, at time.Time, series int32) eventsv1.Event {
		e := eventsv1.Event{Reason: reason, EventTime: metav1.NewMicroTime(at)}
		if series > 0 {
			e.Series = &eventsv1.EventSeries{Count: series, LastObservedTime: metav1.NewMicroTime(at.Add(time.Hour))}
		}
		return e
	}
	r := BuildUserReport(u, importSKUs, []eventsv1.Event{ev("B", t0.Add(time.Minute), 0), ev("A", t0, 3), ev("C", t0, 0)})
	if got := r.Licenses[0].EnabledPlans; strings.Join(got, ",") != "EXCHANGE" {
		t.Errorf("enabled plans of e3: %v", got)
	}
	if r.Licenses[1].EnabledPlans != nil || r.DuplicatePlans != "" || r.Pending || r.Ready.Reason != "LicenseErrors" {
		t.Errorf("report %+v", r)
	}
	var order []string
	for _, e := range r.Events {
		order = append(order, e.Reason)
	}
	// A series counts as of its last observation.
	if strings.Join(order, "") != "CBA" || r.Events[2].Count != 3 {
		t.Errorf("events %+v", r.Events)
	}
}

func TestManifestsAdd(t *testing.T) {
	m := NewManifests("def")
	obj := func(apiVersion, kind, name, ns string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind,
			"metadata": map[string]any{"name": name}, "spec": map[string]any{}}}
		if ns != "" {
			u.SetNamespace(ns)
		}
		return u
	}
	for _, o := range []*unstructured.Unstructured{
		obj("v1", "ConfigMap", "a", ""),
		obj("apps/v1", "Deployment", "b", ""),
		obj("apps/v1", "Deployment", "c", ""),
		obj("licensing.licenseops.dev/v1alpha1", "LicenseGroup", "g", ""),
		obj("licensing.licenseops.dev/v1alpha1", "LicenseGroup", "g", "other"),
	} {
		if err := m.Add(o, "f.yaml"); err != nil {
			t.Fatal(err)
		}
	}
	if got := FormatKindCounts(m.Ignored()); got != "1 ConfigMap, 2 Deployment.apps" {
		t.Errorf("ignored %q", got)
	}
	ts := m.Tenants()
	if len(ts) != 2 || ts[0].Namespace != "def" || ts[1].Namespace != "other" || ts[0].Groups[0].Namespace != "def" {
		t.Errorf("tenants %+v", ts)
	}
	if err := m.Add(obj("licensing.licenseops.dev/v1alpha1", "LicenseGroup", "g", "def"), "g.yaml"); err == nil ||
		!strings.Contains(err.Error(), "g.yaml: LicenseGroup def/g is also defined in f.yaml") {
		t.Errorf("duplicate: %v", err)
	}
	bad := obj("licensing.licenseops.dev/v1alpha1", "LicenseGroup", "h", "")
	bad.Object["spec"] = map[string]any{"priority": "high"}
	if err := m.Add(bad, "h.yaml"); err == nil || !strings.Contains(err.Error(), `h.yaml: LicenseGroup "h"`) {
		t.Errorf("wrong type: %v", err)
	}
}
