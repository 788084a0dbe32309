package drift

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/graph"
)

// IDs: SKU "E3" has ID "E3-id", its plans "E3-id/SWAY" etc.
func mkTenantSku(part string, plans ...string) graph.SubscribedSku {
	s := graph.SubscribedSku{SkuID: part + "-ID", SkuPartNumber: part}
	for _, p := range plans {
		s.ServicePlans = append(s.ServicePlans, graph.ServicePlanInfo{ServicePlanID: part + "-ID/" + p, ServicePlanName: p})
	}
	return s
}

func lsku(name, part string) *licv1.LicenseSku {
	return &licv1.LicenseSku{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: licv1.LicenseSkuSpec{SkuPartNumber: part}}
}

// user is a planned UserLicense holding the given licenses: "sku" or
// "sku:PLAN,PLAN" (plans off), prefixed by "!" for a license in Error.
func user(name, location string, licenses ...string) *licv1.UserLicense {
	u := &licv1.UserLicense{
		ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1},
		Spec:       licv1.UserLicenseSpec{UserPrincipalName: name + "@contoso.com", UsageLocation: location},
	}
	u.Status.ObservedGeneration = 1
	u.Status.Conditions = []metav1.Condition{{Type: licv1.ConditionReady, Status: metav1.ConditionTrue, ObservedGeneration: 1}}
	for _, l := range licenses {
		state := licv1.LicenseStateActive
		if strings.HasPrefix(l, "!") {
			state, l = licv1.LicenseStateError, l[1:]
		}
		sku, plans, _ := strings.Cut(l, ":")
		st := licv1.LicenseStatus{SKU: sku, State: state}
		if plans != "" {
			st.DisabledPlans = strings.Split(plans, ",")
		}
		u.Status.Licenses = append(u.Status.Licenses, st)
	}
	return u
}

// entra is an Entra user; licenses as in user, "@group" suffix for inherited.
func entra(name, location string, licenses ...string) graph.User {
	u := graph.User{ID: name + "-oid", UserPrincipalName: strings.ToUpper(name[:1]) + name[1:] + "@contoso.com", UsageLocation: location}
	for _, l := range licenses {
		l, group, _ := strings.Cut(l, "@")
		part, plans, _ := strings.Cut(l, ":")
		st := graph.LicenseAssignmentState{SkuID: part + "-ID", AssignedByGroup: group, State: "Active"}
		if plans != "" {
			for _, p := range strings.Split(plans, ",") {
				st.DisabledPlans = append(st.DisabledPlans, part+"-ID/"+p)
			}
		}
		u.LicenseAssignmentStates = append(u.LicenseAssignmentStates, st)
	}
	return u
}

func baseInput() Input {
	return Input{
		SKUs:       []*licv1.LicenseSku{lsku("e3", "E3"), lsku("pbi", "PBI")},
		TenantSkus: []graph.SubscribedSku{mkTenantSku("E3", "SWAY", "EXO", "TEAMS"), mkTenantSku("PBI", "BI"), mkTenantSku("VISIO", "VIS")},
	}
}

func TestCompare(t *testing.T) {
	cases := map[string]struct {
		user    *licv1.UserLicense
		entra   []graph.User
		state   State
		reason  string
		changes string
		removal int
		msg     string
	}{
		"in sync, plans compared as sets of IDs": {
			user: user("ann", "DE", "e3:SWAY,EXO"), entra: []graph.User{entra("ann", "DE", "E3:EXO,SWAY")},
			state: InSync, reason: licv1.ReasonInSync, msg: "Microsoft Entra holds E3 as decided",
		},
		"missing license is added with its plans off": {
			user: user("ann", "DE", "e3:SWAY", "pbi"), entra: []graph.User{entra("ann", "DE", "PBI")},
			state: Drifted, reason: licv1.ReasonDrifted, changes: "add E3 (off: SWAY)", msg: "missing E3",
		},
		"extra license of a declared SKU is removed; errors do not count as held": {
			user: user("ann", "DE", "!e3"), entra: []graph.User{entra("ann", "DE", "E3")},
			state: Drifted, reason: licv1.ReasonDrifted, changes: "remove E3", removal: 1, msg: "extra E3",
		},
		"a plan switched off is a removal, one switched on is not": {
			user: user("ann", "DE", "e3:EXO"), entra: []graph.User{entra("ann", "DE", "E3:SWAY")},
			state: Drifted, reason: licv1.ReasonDrifted, changes: "E3: plans off [EXO] (were [SWAY])", removal: 1,
		},
		"undeclared SKUs are left alone and reported": {
			user: user("ann", "DE", "e3"), entra: []graph.User{entra("ann", "DE", "E3", "VISIO")},
			state: InSync, reason: licv1.ReasonInSync, msg: "also holds VISIO directly, not declared in the namespace: left alone",
		},
		"a license only inherited from an Entra group gets a direct one": {
			user: user("ann", "DE", "e3"), entra: []graph.User{entra("ann", "DE", "E3@grp1")},
			state: Drifted, changes: "add E3", msg: "Entra gives it only through group grp1",
		},
		"an inherited license not decided cannot be fixed by a write": {
			user: user("ann", "DE"), entra: []graph.User{entra("ann", "DE", "PBI@grp1")},
			state: Drifted, reason: licv1.ReasonInheritedFromGroup, msg: "PBI is inherited from Entra group grp1",
		},
		"user not in Entra": {
			user: user("ann", "DE", "e3"), entra: []graph.User{entra("bob", "DE")},
			state: NotFound, reason: licv1.ReasonUserNotFound,
		},
		"unknown plan name: that SKU is left as it is, the others are synced": {
			user: user("ann", "DE", "e3:NOPE", "pbi"), entra: []graph.User{entra("ann", "DE", "E3")},
			state: Failed, reason: licv1.ReasonServicePlanNotInTenant, changes: "add PBI", msg: "service plan NOPE of LicenseSku e3 is not a plan of the tenant's E3",
		},
		"usage location differs": {
			user: user("ann", "DE", "e3"), entra: []graph.User{entra("ann", "", "E3")},
			state: Drifted, reason: licv1.ReasonUsageLocationDiffers, msg: "usageLocation is none in Entra, DE in spec",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			in := baseInput()
			in.Users = []*licv1.UserLicense{tc.user}
			in.EntraUsers = tc.entra
			p := Compute(in)
			up := p.Users[0]
			if up.State != tc.state || (tc.reason != "" && up.Reason != tc.reason) {
				t.Errorf("state %s reason %s (%s), want %s %s", up.State, up.Reason, up.Message, tc.state, tc.reason)
			}
			if got := strings.Join(up.Changes, "; "); got != tc.changes {
				t.Errorf("changes %q, want %q", got, tc.changes)
			}
			if (up.Write != nil) != (tc.changes != "") {
				t.Errorf("write %+v with changes %q", up.Write, tc.changes)
			}
			if up.Removals != tc.removal || p.Removals != tc.removal {
				t.Errorf("removals %d (plan %d), want %d", up.Removals, p.Removals, tc.removal)
			}
			if !strings.Contains(up.Message, tc.msg) {
				t.Errorf("message %q lacks %q", up.Message, tc.msg)
			}
		})
	}
}

func TestWriteCarriesBothListsAndTenantIDs(t *testing.T) {
	in := baseInput()
	in.Users = []*licv1.UserLicense{user("ann", "DE", "e3:SWAY")}
	in.EntraUsers = []graph.User{entra("ann", "DE")}
	p := Compute(in)
	w := p.Users[0].Write
	if w == nil || len(w.AddLicenses) != 1 || w.AddLicenses[0].SkuID != "E3-ID" || w.AddLicenses[0].DisabledPlans[0] != "E3-ID/SWAY" || w.RemoveLicenses == nil {
		t.Fatalf("write %+v", w)
	}
	if p.Users[0].AfterWrite != "Microsoft Entra holds E3 as decided" {
		t.Errorf("after write: %q", p.Users[0].AfterWrite)
	}
}

func TestUnplannedUsersAreNotWritten(t *testing.T) {
	in := baseInput()
	u := user("ann", "DE")
	u.Generation = 2
	in.Users = []*licv1.UserLicense{u}
	in.EntraUsers = []graph.User{entra("ann", "DE", "E3")}
	p := Compute(in)
	if p.Users[0].Write != nil || p.Users[0].Reason != ReasonNotPlanned || p.Removals != 0 || p.HeldLicenses != 1 {
		t.Fatalf("%+v, removals %d held %d", p.Users[0], p.Removals, p.HeldLicenses)
	}
}

func TestThresholdHashAndCounts(t *testing.T) {
	in := baseInput()
	in.SKUs = append(in.SKUs, lsku("gone", "NOT_BOUGHT"))
	in.Users = []*licv1.UserLicense{user("ann", "DE"), user("ben", "DE", "e3"), user("cid", "DE", "e3", "pbi")}
	in.EntraUsers = []graph.User{entra("ann", "DE", "E3"), entra("ben", "DE", "E3"), entra("cid", "DE", "E3", "PBI"), entra("dan", "DE", "PBI"), entra("eve", "DE", "VISIO")}
	p := Compute(in)
	if p.HeldLicenses != 4 || p.Removals != 1 || p.Percent() != 25 || p.Unmanaged != 1 {
		t.Fatalf("held %d removals %d percent %d unmanaged %d", p.HeldLicenses, p.Removals, p.Percent(), p.Unmanaged)
	}
	if !p.Exceeds(10) || p.Exceeds(25) || p.Exceeds(100) {
		t.Error("threshold: 25% must exceed 10 and not 25 or 100")
	}
	if strings.Join(p.MissingSkus, ",") != "NOT_BOUGHT" {
		t.Errorf("missing %v", p.MissingSkus)
	}
	if got := p.RemovalExamples(5); len(got) != 1 || got[0] != "ann@contoso.com: remove E3" {
		t.Errorf("examples %v", got)
	}
	// The hash depends on the removals only, not on input order.
	in.Users[0], in.Users[2] = in.Users[2], in.Users[0]
	if q := Compute(in); q.Hash != p.Hash {
		t.Error("hash depends on order")
	}
	in.Users = []*licv1.UserLicense{user("ann", "DE", "e3"), user("ben", "DE"), user("cid", "DE", "e3", "pbi")}
	if q := Compute(in); q.Hash == p.Hash {
		t.Error("another removal set has the same hash")
	}
}

func TestDuplicateUPNsNeverRemoveTheOneInEffect(t *testing.T) {
	in := baseInput()
	winner := user("ann", "DE", "e3")
	loser := user("ann", "DE")
	loser.Name = "ann-2"
	loser.Status.Conditions[0].Status = metav1.ConditionFalse
	loser.Status.Conditions[0].Reason = licv1.ReasonDuplicateUserPrincipalName
	in.Users = []*licv1.UserLicense{loser, winner}
	in.EntraUsers = []graph.User{entra("ann", "DE", "E3")}
	p := Compute(in)
	if p.Users[0].State != Failed || p.Users[0].Reason != licv1.ReasonDuplicateUserPrincipalName || p.Users[0].Write != nil {
		t.Errorf("loser: %+v", p.Users[0])
	}
	if p.Users[1].State != InSync || p.Removals != 0 {
		t.Errorf("winner: %+v, removals %d", p.Users[1], p.Removals)
	}
	// Two UserLicenses of one UPN not (yet) told apart: only the first is synced.
	loser.Status.Conditions[0].Reason = licv1.ReasonAllLicensesActive
	in.Users = []*licv1.UserLicense{winner, loser}
	p = Compute(in)
	if p.Users[1].Write != nil || p.Users[1].Reason != licv1.ReasonDuplicateUserPrincipalName || p.Removals != 0 {
		t.Errorf("second of a UPN: %+v", p.Users[1])
	}
}
